// Channels & servers: state, counters, state history, services.
#include <imgui.h>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {

ImVec4 state_color(const std::string& state) {
  if (state == "READY" || state == "running") return {0.35f, 0.85f, 0.40f, 1.0f};
  if (state == "TRANSIENT_FAILURE" || state == "SHUTDOWN" || state == "stopped") return {0.95f, 0.35f, 0.30f, 1.0f};
  if (state == "CONNECTING" || state == "stopping") return {0.95f, 0.80f, 0.25f, 1.0f};
  return ImGui::GetStyleColorVec4(ImGuiCol_Text);
}

}  // namespace

void draw_endpoints(Model& model) {
  if (!ImGui::CollapsingHeader("Channels & servers", ImGuiTreeNodeFlags_DefaultOpen)) return;
  auto endpoints = model.endpoints();
  if (endpoints.empty()) {
    ImGui::TextDisabled("none reported");
    return;
  }
  const auto& selected = model.selection().endpoint;
  for (const EndpointRecord* e : endpoints) {
    ImGui::PushID(static_cast<int>(e->target_id));
    ImGui::PushID(static_cast<int>(e->id));
    bool is_selected = selected && selected->first == e->target_id && selected->second == e->id;
    ImGuiTreeNodeFlags flags = ImGuiTreeNodeFlags_OpenOnArrow | ImGuiTreeNodeFlags_SpanAvailWidth;
    if (is_selected) flags |= ImGuiTreeNodeFlags_Selected;
    bool open = ImGui::TreeNodeEx("endpoint", flags, "%s %s", to_string(e->kind).data(), e->target.c_str());
    if (ImGui::IsItemClicked() && !ImGui::IsItemToggledOpen()) model.select_endpoint(e->target_id, e->id);
    ImGui::SameLine();
    ImGui::TextColored(state_color(e->state), "%s", e->state.c_str());
    ImGui::TextDisabled("  started %llu  ok %llu  failed %llu  active %llu  (loop %u)",
                        static_cast<unsigned long long>(e->calls_started), static_cast<unsigned long long>(e->calls_ok),
                        static_cast<unsigned long long>(e->calls_failed),
                        static_cast<unsigned long long>(e->calls_active), e->loop);
    if (open) {
      for (const auto& s : e->services) ImGui::BulletText("%s", s.c_str());
      for (const auto& a : e->tls_addresses) ImGui::BulletText("TLS on %s", a.c_str());
      double first = e->history.empty() ? 0 : e->history.front().time;
      for (const auto& h : e->history) {
        ImGui::TextDisabled("+%s", format_seconds(h.time - first).c_str());
        ImGui::SameLine();
        ImGui::TextColored(state_color(h.state), "%s", h.state.c_str());
      }
      ImGui::TreePop();
    }
    ImGui::PopID();
    ImGui::PopID();
  }
}

}  // namespace actio::inspector::views
