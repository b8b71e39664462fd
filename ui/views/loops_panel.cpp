// Loops (threads) of every process: queues as of the snapshot, live calls now.
#include <imgui.h>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

void draw_loops(Model& model) {
  if (!ImGui::CollapsingHeader("Loops", ImGuiTreeNodeFlags_DefaultOpen)) return;
  auto loops = model.loops();
  if (loops.empty()) {
    ImGui::TextDisabled("none reported");
    return;
  }
  if (!ImGui::BeginTable("loops", 5,
                         ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit))
    return;
  ImGui::TableSetupColumn("loop", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableSetupColumn("ready");
  ImGui::TableSetupColumn("inbox");
  ImGui::TableSetupColumn("ops");
  ImGui::TableSetupColumn("calls");
  ImGui::TableHeadersRow();
  const CallRecord* selected = model.selected_call();
  for (const LoopRecord* l : loops) {
    ImGui::TableNextRow();
    if (selected && selected->key.target == l->target_id && selected->loop == l->index)
      ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, IM_COL32(60, 70, 110, 160));  // the selected call's loop
    ImGui::TableNextColumn();
    ImGui::Text("%u:%u %s", l->target_id, l->index, l->name.c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%u", l->ready_queue);
    ImGui::TableNextColumn();
    ImGui::Text("%u", l->inbox);
    ImGui::TableNextColumn();
    ImGui::Text("%u", l->pending_ops);
    ImGui::TableNextColumn();
    // Running calls now; the snapshot's figure in the tooltip.
    ImGui::Text("%zu", model.live_calls_on_loop(l->target_id, l->index));
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%u at the snapshot; queues are as of the snapshot", l->live_calls);
  }
  ImGui::EndTable();
}

}  // namespace actio::inspector::views
