// The live calls table: every call the filter lets through, sortable by any
// column, drawn with ImGuiListClipper so only the visible rows cost anything.
#include <imgui.h>

#include <algorithm>
#include <utility>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {

struct ColumnSpec {
  const char* label;
  Column column;
  ImGuiTableColumnFlags flags;
  float width;
};

constexpr ImGuiTableColumnFlags kFixed = ImGuiTableColumnFlags_WidthFixed;
constexpr ColumnSpec kColumns[] = {
    {"id", Column::id, kFixed | ImGuiTableColumnFlags_DefaultHide, 50},
    {"proc", Column::target, kFixed, 34},
    {"method", Column::method, ImGuiTableColumnFlags_WidthStretch | ImGuiTableColumnFlags_NoHide, 0},
    {"side", Column::side, kFixed, 46},
    {"peer", Column::peer, kFixed, 104},
    {"state", Column::state, kFixed, 76},
    {"age", Column::age, kFixed | ImGuiTableColumnFlags_DefaultSort, 62},
    {"deadline", Column::deadline, kFixed, 62},
    {"in", Column::messages_in, kFixed | ImGuiTableColumnFlags_PreferSortDescending, 34},
    {"out", Column::messages_out, kFixed | ImGuiTableColumnFlags_PreferSortDescending, 34},
    {"code", Column::code, kFixed, 120},
};

/// How the method column names methods: "Service/Method", or only "Method"
/// for every row while some row's "Service/Method" does not fit (decided
/// from the last frame's rows, so the column reads the same all the way
/// down and does not flicker).
struct MethodNames {
  bool short_only = false;  // this frame
  bool too_wide = false;    // seen this frame: next frame's short_only
};

/// `lost`: the call's process is not attached (connection lost) and the
/// call was live then: its state is unknown and its clock stopped at `now`.
void cell(const CallRecord& c, Column column, double now, bool lost, MethodNames& names) {
  if (lost && column == Column::state) {
    ImGui::TextDisabled("unknown");
    return;
  }
  switch (column) {
    case Column::id: ImGui::Text("%llu", static_cast<unsigned long long>(c.key.id)); break;
    case Column::target: ImGui::Text("%u", c.key.target); break;
    case Column::method: {  // the full name in the row's tooltip
      // Only "Method" when the column is too narrow for "Service/Method"
      // (two processes, a narrow window): the end tells calls apart.
      std::string_view m = short_method(c.method);
      if (ImGui::CalcTextSize(m.data(), m.data() + m.size()).x > ImGui::GetContentRegionAvail().x)
        names.too_wide = true;
      if (names.short_only) {
        if (auto slash = m.rfind('/'); slash != std::string_view::npos) m.remove_prefix(slash + 1);
      }
      text(m);
      break;
    }
    case Column::side: text(to_string(c.side)); break;
    case Column::peer: text(short_peer(c.peer)); break;
    case Column::state: text(c.state()); break;
    case Column::age: text(format_seconds(c.age(now))); break;
    case Column::deadline:
      if (auto left = c.time_left(now))
        text(format_seconds(*left));
      else
        ImGui::TextDisabled("-");
      break;
    case Column::messages_in: ImGui::Text("%llu", static_cast<unsigned long long>(c.messages_in)); break;
    case Column::messages_out: ImGui::Text("%llu", static_cast<unsigned long long>(c.messages_out)); break;
    case Column::code:
      if (c.done)
        ImGui::TextColored(code_color(c.code), "%s", code_name(c.code).c_str());
      else
        ImGui::TextDisabled("-");
      break;
  }
}

}  // namespace

void draw_calls_table(Model& model) {
  // Inner row lines instead of alternating row backgrounds: a full row of
  // blended pixels per line costs a software rasteriser (Xvfb) ~2 ms a frame.
  constexpr ImGuiTableFlags flags = ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable | ImGuiTableFlags_Sortable |
                                    ImGuiTableFlags_BordersV | ImGuiTableFlags_BordersInnerH |
                                    ImGuiTableFlags_Hideable | ImGuiTableFlags_Reorderable;
  if (!ImGui::BeginTable("calls", static_cast<int>(std::size(kColumns)), flags)) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  const bool one_process = model.target_count() == 1;
  for (const auto& col : kColumns) {
    ImGuiTableColumnFlags flags = col.flags;
    if (col.column == Column::target && one_process) flags |= ImGuiTableColumnFlags_Disabled;
    ImGui::TableSetupColumn(col.label, flags, col.width, static_cast<ImGuiID>(col.column));
  }
  ImGui::TableHeadersRow();

  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsDirty) {
    if (specs->SpecsCount > 0) {
      const ImGuiTableColumnSortSpecs& s = specs->Specs[0];
      model.set_sort({static_cast<Column>(s.ColumnUserID), s.SortDirection == ImGuiSortDirection_Ascending});
    }
    specs->SpecsDirty = false;
  }

  const double now = model.now();
  const auto& selected = model.selection();
  static MethodNames names;  // (one calls table)
  names.short_only = std::exchange(names.too_wide, false);
  ImGuiListClipper clipper;
  clipper.Begin(static_cast<int>(model.row_count()));
  while (clipper.Step()) {
    for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
      const CallRecord& c = model.row(static_cast<std::size_t>(i));  // O(log n), rows on screen only
      // A live call of a process that was lost: greyed, its age frozen then.
      const TargetInfo& process = model.target(c.key.target);
      const bool lost = !c.done && process.connection == Connection::lost;
      const double row_now = lost ? std::min(now, process.lost_at) : now;
      ImGui::TableNextRow();
      ImGui::PushID(i);
      ImGui::PushStyleColor(ImGuiCol_Text, lost ? ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled) : row_color(c, now));
      bool is_selected = selected.call && *selected.call == c.key;
      // Calls related to the selection: the selected method's, or (with no
      // method picked) the selected endpoint's.
      bool related = selected.method ? *selected.method == c.method
                                     : selected.endpoint && selected.endpoint->first == c.key.target &&
                                           selected.endpoint->second == c.endpoint_id;
      if (related && !is_selected) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, IM_COL32(60, 70, 110, 90));
      for (std::size_t col = 0; col < std::size(kColumns); ++col) {
        if (!ImGui::TableSetColumnIndex(static_cast<int>(col))) continue;
        if (kColumns[col].column == Column::method) {
          // The method column cannot be hidden: it holds the row-wide selectable.
          if (ImGui::Selectable("##row", is_selected,
                                ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowItemOverlap))
            model.select_call(c.key);
          if (ImGui::IsItemHovered() && ImGui::GetIO().MouseDelta.x == 0 && ImGui::GetIO().MouseDelta.y == 0)
            ImGui::SetTooltip("%s\n%s  %s%s", c.method.c_str(), to_string(c.side).data(), c.peer.c_str(),
                              lost ? "\nits process is not attached: live when it was lost, unknown since" : "");
          ImGui::SameLine(0, 0);
        }
        cell(c, kColumns[col].column, row_now, lost, names);
      }
      ImGui::PopStyleColor();
      ImGui::PopID();
    }
  }
  ImGui::EndTable();
}

}  // namespace actio::inspector::views
