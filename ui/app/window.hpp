#pragma once
/// Window: GLFW + OpenGL 3 + Dear ImGui set-up and the frame cycle, shared by
/// actio-inspector and the frame bench. Also writes the framebuffer to PNG.

#include <string>
#include <vector>

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
    /// true: always sample the font atlas linearly (ImGui's default); false:
    /// nearest when one framebuffer pixel is one ImGui pixel (the same
    /// picture, cheaper for a software rasteriser; see choose_font_filter).
    bool linear_font_sampling = false;
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
  /// True when the frame just built saw the user do something (the mouse
  /// moved, clicked or scrolled, a key or text came, a widget is held).
  bool user_active() const;
  /// Renders the ImGui frame into the back buffer (not shown yet).
  void render();
  /// Shows the back buffer.
  void present();
  /// Switches the font atlas's sampling from the next frame on (the
  /// Options' linear_font_sampling).
  void set_linear_font_sampling(bool linear) { linear_font_sampling_ = linear; }
  /// Writes the back buffer just rendered to a PNG; false on failure.
  bool write_png(const std::string& path) const;
  /// The back buffer just rendered: RGBA rows, bottom row first.
  std::vector<unsigned char> pixels() const;
  int framebuffer_width() const;
  int framebuffer_height() const;

 private:
  /// Samples the font atlas with nearest filtering when one framebuffer
  /// pixel is one ImGui pixel (see begin_frame); linear otherwise.
  void choose_font_filter();

  GLFWwindow* window_ = nullptr;
  bool linear_font_sampling_ = false;
  int font_filter_ = 0;            ///< the GL filter the font atlas has now; 0 = not set yet
  unsigned font_texture_ = 0;      ///< the atlas texture it was set on (a rebuilt atlas is a new one)
};

}  // namespace actio::inspector
