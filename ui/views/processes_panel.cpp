// Processes attached: address, program, pid, seq, sessions, last error.
#include <imgui.h>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

void draw_processes(Model& model) {
  if (!ImGui::CollapsingHeader("Processes", ImGuiTreeNodeFlags_DefaultOpen)) return;
  for (std::size_t i = 0; i < model.target_count(); ++i) {
    const TargetInfo& t = model.target(static_cast<TargetId>(i));
    ImGui::TextColored(connection_color(t.connection), "%zu", i);
    ImGui::SameLine();
    ImGui::Text("%s", t.address.c_str());
    if (t.has_snapshot) {
      ImGui::TextDisabled("   %s pid %d, seq %llu, session %llu", t.process.c_str(), t.pid,
                          static_cast<unsigned long long>(t.last_seq), static_cast<unsigned long long>(t.sessions));
    } else {
      ImGui::TextDisabled("   %s", to_string(t.connection).data());
    }
    if (!t.last_error.empty() && t.connection != Connection::attached)
      ImGui::TextColored(connection_color(Connection::lost), "   %s", t.last_error.c_str());
  }
}

}  // namespace actio::inspector::views
