// The inspector's one window (Dear ImGui 1.86 has tables but no docking):
// top bar; left column (processes, loops, channels & servers); centre (the
// calls table over tabs: the selected call, the processes' services);
// right column (per-method stats).
#include <imgui.h>

#include "views.hpp"

namespace actio::inspector::views {

void draw_inspector(Model& model, ViewState& state) {
  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(viewport->WorkPos);
  ImGui::SetNextWindowSize(viewport->WorkSize);
  // No background: the window covers the screen, and the GL clear colour is
  // its background. A full-screen blended quad costs Mesa's software
  // rasteriser (Xvfb) about 6 ms a frame at 1280x800.
  ImGui::Begin("actio-inspector", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                   ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoBackground);

  draw_top_bar(model, state);
  ImGui::Separator();

  ImVec2 avail = ImGui::GetContentRegionAvail();
  float spacing = ImGui::GetStyle().ItemSpacing.x;
  float left_w = avail.x * 0.19f;
  float right_w = avail.x * 0.18f;
  float centre_w = avail.x - left_w - right_w - 2 * spacing;

  ImGui::BeginChild("left", ImVec2(left_w, 0), true);
  draw_processes(model);
  draw_loops(model);
  draw_endpoints(model);
  ImGui::EndChild();

  ImGui::SameLine();
  ImGui::BeginChild("centre", ImVec2(centre_w, 0), false);
  float table_h = ImGui::GetContentRegionAvail().y * 0.55f;
  ImGui::BeginChild("calls", ImVec2(0, table_h), true);
  draw_calls_table(model);
  ImGui::EndChild();
  ImGui::BeginChild("detail", ImVec2(0, 0), true);
  if (ImGui::BeginTabBar("centre_tabs")) {
    bool services_first = state.open_tab == "Services";
    if (ImGui::BeginTabItem("Call")) {
      draw_call_detail(model, state);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Services", nullptr, services_first ? ImGuiTabItemFlags_SetSelected : 0)) {
      draw_services(model, state);
      ImGui::EndTabItem();
    }
    if (services_first) state.open_tab.clear();
    ImGui::EndTabBar();
  }
  ImGui::EndChild();
  ImGui::EndChild();

  ImGui::SameLine();
  ImGui::BeginChild("right", ImVec2(0, 0), true);
  draw_stats(model);
  ImGui::EndChild();

  ImGui::End();
}

}  // namespace actio::inspector::views
