#include "window.hpp"

// GLFW includes the system's GL header (glReadPixels for the screenshot).
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>
#include <stb_image_write.h>

#include <malloc.h>

#include <cstdint>

#include <stdexcept>
#include <vector>

namespace actio::inspector {

namespace {
std::string glfw_error() {
  const char* what = nullptr;
  glfwGetError(&what);
  return what ? what : "unknown error";
}
}  // namespace

Window::Window(const Options& options) : linear_font_sampling_(options.linear_font_sampling) {
  // The GL stack (Mesa's software rasteriser above all) allocates its vertex
  // and index buffers afresh every frame; above glibc's default threshold
  // each one is an mmap whose pages fault in again every frame. Kept in the
  // heap they are reused: about 1 ms of an 8-9 ms frame (ui/README, the
  // frame bench).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  if (!glfwInit()) throw std::runtime_error("cannot initialise GLFW (no display?): " + glfw_error());
  // OpenGL 3.0 with GLSL 1.30: what Mesa's llvmpipe under Xvfb and any desktop give.
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  glfwWindowHint(GLFW_VISIBLE, options.visible ? GLFW_TRUE : GLFW_FALSE);
  // ImGui draws with neither: no depth or stencil buffer to allocate.
  glfwWindowHint(GLFW_DEPTH_BITS, 0);
  glfwWindowHint(GLFW_STENCIL_BITS, 0);
  window_ = glfwCreateWindow(options.width, options.height, options.title, nullptr, nullptr);
  if (!window_) {
    std::string why = glfw_error();
    glfwTerminate();
    throw std::runtime_error("cannot open an OpenGL 3 window: " + why);
  }
  glfwMakeContextCurrent(window_);
  glfwSwapInterval(options.vsync ? 1 : 0);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // no imgui.ini in the working directory
  ImGui::StyleColorsDark();
  ImGui::GetStyle().WindowRounding = 0;
  ImGui_ImplGlfw_InitForOpenGL(window_, true);
  ImGui_ImplOpenGL3_Init("#version 130");
}

Window::~Window() {
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window_);
  glfwTerminate();
}

bool Window::should_close() const { return glfwWindowShouldClose(window_); }

void Window::poll(double timeout_s) {
  if (timeout_s > 0)
    glfwWaitEventsTimeout(timeout_s);
  else
    glfwPollEvents();
}

bool Window::user_active() const {
  const ImGuiIO& io = ImGui::GetIO();
  if (io.MouseDelta.x != 0 || io.MouseDelta.y != 0 || io.MouseWheel != 0 || io.MouseWheelH != 0) return true;
  for (bool down : io.MouseDown)
    if (down) return true;
  for (bool down : io.KeysDown)  // (ImGui 1.86's key array)
    if (down) return true;
  return io.InputQueueCharacters.Size > 0 || ImGui::IsAnyItemActive();
}

void Window::begin_frame() {
  ImGui_ImplOpenGL3_NewFrame();  // makes the font atlas texture on the first frame
  ImGui_ImplGlfw_NewFrame();     // sets the framebuffer scale
  choose_font_filter();
  ImGui::NewFrame();
}

void Window::choose_font_filter() {
  // At a framebuffer scale of 1 every glyph quad of the (pixel-snapped)
  // default font and every textured axis-aligned line lands on whole pixels,
  // so nearest and linear sampling give the same picture; but linear costs a
  // software rasteriser (Mesa's llvmpipe, the one under Xvfb) four texel
  // fetches a fragment: about 1.8 ms of a 9.6 ms frame (ui/README, the frame
  // bench). Diagonal strokes would lose their anti-aliasing with nearest
  // sampling; the views draw those with views::GeometryLines.
  ImGuiIO& io = ImGui::GetIO();
  bool one_to_one = io.DisplayFramebufferScale.x == 1.0f && io.DisplayFramebufferScale.y == 1.0f;
  GLint want = one_to_one && !linear_font_sampling_ ? GL_NEAREST : GL_LINEAR;
  auto texture = static_cast<GLuint>(reinterpret_cast<std::intptr_t>(io.Fonts->TexID));
  if ((want == font_filter_ && texture == font_texture_) || texture == 0) return;
  GLint bound = 0;
  glGetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
  glBindTexture(GL_TEXTURE_2D, texture);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, want);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, want);
  glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(bound));
  font_filter_ = want;
  font_texture_ = texture;
}

void Window::render() {
  ImGui::Render();
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  glViewport(0, 0, w, h);
  // The clear colour is the windows' background (the main window draws none).
  ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
  glClearColor(bg.x, bg.y, bg.z, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

void Window::present() { glfwSwapBuffers(window_); }

int Window::framebuffer_width() const {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  return w;
}

int Window::framebuffer_height() const {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  return h;
}

std::vector<unsigned char> Window::pixels() const {
  int w = framebuffer_width(), h = framebuffer_height();
  if (w <= 0 || h <= 0) return {};
  std::vector<unsigned char> pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
  glFinish();
  glReadBuffer(GL_BACK);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
  return pixels;
}

bool Window::write_png(const std::string& path) const {
  int w = framebuffer_width(), h = framebuffer_height();
  std::vector<unsigned char> pixels = this->pixels();
  if (pixels.empty()) return false;
  for (std::size_t i = 3; i < pixels.size(); i += 4) pixels[i] = 255;  // an opaque picture
  stbi_flip_vertically_on_write(1);                                    // GL's rows start at the bottom
  // Unfiltered rows: a little bigger, and a checker needs only zlib to read them.
  stbi_write_force_png_filter = 0;
  return stbi_write_png(path.c_str(), w, h, 4, pixels.data(), w * 4) != 0;
}

}  // namespace actio::inspector
