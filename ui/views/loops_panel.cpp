// Loops (threads) of every process: queues and actors as of the last refresh
// (about every second), live calls now.
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {

/// The CAF actors homed on the loops: a Channel, Server or Call once its
/// actor() was asked for, and every Mailbox (its "waiting" is what it holds).
void draw_actors(const std::vector<const LoopRecord*>& loops) {
  std::size_t count = 0;
  for (const LoopRecord* l : loops) count += l->actors.size();
  char label[64];
  std::snprintf(label, sizeof label, "Actors (%zu)###actors", count);
  if (!ImGui::TreeNodeEx(label, count ? ImGuiTreeNodeFlags_DefaultOpen : 0)) return;
  if (count == 0) {
    ImGui::TextDisabled("no loop actors (a Channel, Server or Call becomes one when its actor() is asked for)");
  } else if (ImGui::BeginTable("actors", 3,
                               ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollY,
                               ImVec2(0, ImGui::GetTextLineHeightWithSpacing() * static_cast<float>(std::min<std::size_t>(count, 8) + 1)))) {
    ImGui::TableSetupColumn("loop: actor", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("wait");
    ImGui::TableSetupColumn("handled");
    ImGui::TableHeadersRow();
    for (const LoopRecord* l : loops) {
      for (const ActorRecord& a : l->actors) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Text("%u:%u %s %s", l->target_id, l->index, a.kind.c_str(), a.name.c_str());
        if (ImGui::IsItemHovered())
          ImGui::SetTooltip("%s %s\nCAF actor #%llu on loop %u of process %u\nwaiting: delivered, not handled yet (a "
                            "mailbox: not received yet)",
                            a.kind.c_str(), a.name.c_str(), static_cast<unsigned long long>(a.id), l->index,
                            l->target_id);
        ImGui::TableNextColumn();
        ImGui::Text("%llu", static_cast<unsigned long long>(a.waiting));
        ImGui::TableNextColumn();
        ImGui::Text("%llu", static_cast<unsigned long long>(a.handled));
      }
    }
    ImGui::EndTable();
  }
  ImGui::TreePop();
}

}  // namespace

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
    // The name ("loop 2", "loop 3 (inspector)"); which process's, with its
    // index, when more than one is attached, and in full on hover.
    if (model.target_count() > 1)
      ImGui::Text("%u: %s", l->target_id, l->name.c_str());
    else
      text(l->name);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("process %u, loop %u: %s", l->target_id, l->index, l->name.c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%u", l->ready_queue);
    ImGui::TableNextColumn();
    ImGui::Text("%u", l->inbox);
    ImGui::TableNextColumn();
    ImGui::Text("%u", l->pending_ops);
    ImGui::TableNextColumn();
    // Running calls now; the snapshot's figure in the tooltip.
    ImGui::Text("%zu", model.live_calls_on_loop(l->target_id, l->index));
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%u at the last refresh; queues are as of the last refresh", l->live_calls);
  }
  ImGui::EndTable();
  draw_actors(loops);
}

}  // namespace actio::inspector::views
