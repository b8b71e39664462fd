// The Window samples the font atlas with nearest filtering (cheaper for
// Mesa's software rasteriser). These tests render the same widgets with
// nearest and with linear sampling under Xvfb and compare the pixels: text,
// tables, borders and headers must come out the same, and so must diagonal
// strokes drawn within views::GeometryLines; without it they differ (which is
// why the views use it, and shows the comparison can fail).
#include <gtest/gtest.h>
#include <imgui.h>

#include <cstddef>
#include <vector>

#include "format.hpp"
#include "window.hpp"

using actio::inspector::Window;
namespace views = actio::inspector::views;

namespace {

enum class Strokes { geometry, textured };

// Text, a table with borders and row backgrounds, a separator, a header and
// a tree node, a checked checkbox, a line plot and a tick between pixels.
void draw_widgets(Strokes strokes) {
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ImVec2(420, 380));
  ImGui::Begin("widgets", nullptr, ImGuiWindowFlags_NoDecoration);
  ImGui::TextUnformatted("/routeguide.RouteGuide/GetFeature");
  ImGui::TextDisabled("ipv4:127.0.0.1:50052  12.3 ms");
  ImGui::Separator();
  if (ImGui::BeginTable("t", 3, ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg)) {
    for (int row = 0; row < 4; ++row) {
      ImGui::TableNextRow();
      for (int col = 0; col < 3; ++col) {
        ImGui::TableSetColumnIndex(col);
        ImGui::Text("r%d c%d", row, col);
      }
    }
    ImGui::EndTable();
  }
  ImGui::SetNextItemOpen(true);
  if (ImGui::CollapsingHeader("header")) ImGui::BulletText("bullet");
  ImGui::SetNextItemOpen(false);
  ImGui::TreeNode("closed tree node");
  static const float values[] = {0, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
  bool checked = true;
  if (strokes == Strokes::geometry) {
    views::checkbox("checked", &checked);
    views::GeometryLines lines;
    ImGui::PlotLines("##plot", values, 12, 0, nullptr, 0.0f, 10.0f, ImVec2(300, 60));
    ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::GetWindowDrawList()->AddLine(ImVec2(p.x + 10.3f, p.y), ImVec2(p.x + 10.3f, p.y + 18), IM_COL32_WHITE,
                                        2.0f);
  } else {
    ImGui::Checkbox("checked", &checked);
    ImGui::PlotLines("##plot", values, 12, 0, nullptr, 0.0f, 10.0f, ImVec2(300, 60));
  }
  ImGui::End();
}

std::vector<unsigned char> render(bool linear, Strokes strokes) {
  Window window({.width = 420, .height = 380, .visible = false, .vsync = false, .title = "window test",
                 .linear_font_sampling = linear});
  for (int frame = 0; frame < 3; ++frame) {  // the first frame builds the font atlas and lays out
    window.poll();
    window.begin_frame();
    draw_widgets(strokes);
    window.render();
  }
  return window.pixels();
}

std::size_t differing_pixels(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 3 < a.size() && i + 3 < b.size(); i += 4)
    if (a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2]) ++n;
  return n;
}

std::size_t lit_pixels(const std::vector<unsigned char>& p) {
  std::size_t n = 0;
  for (std::size_t i = 0; i + 3 < p.size(); i += 4)
    if (p[i] > 128 || p[i + 1] > 128 || p[i + 2] > 128) ++n;
  return n;
}

}  // namespace

TEST(Window, NearestSamplingDrawsWhatLinearDraws) {
  auto linear = render(true, Strokes::geometry);
  auto nearest = render(false, Strokes::geometry);
  ASSERT_EQ(linear.size(), std::size_t{420} * 380 * 4);
  ASSERT_EQ(nearest.size(), linear.size());
  EXPECT_GT(lit_pixels(linear), 1000u) << "the widgets were drawn";
  EXPECT_EQ(differing_pixels(linear, nearest), 0u);
}

TEST(Window, TexturedDiagonalStrokesNeedLinearSampling) {
  auto linear = render(true, Strokes::textured);
  auto nearest = render(false, Strokes::textured);
  ASSERT_EQ(nearest.size(), linear.size());
  // The check mark and the plot's slopes lose their anti-aliasing.
  EXPECT_GT(differing_pixels(linear, nearest), 20u);
}
