#pragma once
/// Window: GLFW + OpenGL 3 + Dear ImGui set-up and the frame cycle, shared by
/// actio-inspector and the frame bench. Also writes the framebuffer to PNG.

#include <string>

struct GLFWwindow;

namespace actio::inspector {

class Window {
 public:
  struct Options {
    int width = 1280;
    int height = 800;
    bool visible = true;  ///< false: offscreen rendering (screenshots, the bench)
    bool vsync = true;
    const char* title = "actio-inspector";
  };

  /// Opens the window; throws std::runtime_error when there is no display
  /// or no OpenGL 3 context.
  explicit Window(const Options& options);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  bool should_close() const;
  /// Handles input; with `timeout_s` > 0 waits up to that long for some.
  void poll(double timeout_s = 0);
  /// Starts an ImGui frame.
  void begin_frame();
  /// Renders the ImGui frame into the back buffer (not shown yet).
  void render();
  /// Shows the back buffer.
  void present();
  /// Writes the back buffer just rendered to a PNG; false on failure.
  bool write_png(const std::string& path) const;
  int framebuffer_width() const;
  int framebuffer_height() const;

 private:
  GLFWwindow* window_ = nullptr;
};

}  // namespace actio::inspector
