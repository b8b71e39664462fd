// The selected call in tabs: Context, Messages, Timeline, Interceptors.
#include <imgui.h>

#include <algorithm>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {

void row(const char* key, std::string_view value) {
  ImGui::TableNextRow();
  ImGui::TableNextColumn();
  ImGui::TextDisabled("%s", key);
  ImGui::TableNextColumn();
  text(value);
}

void context_tab(const CallRecord& c, double now) {
  if (ImGui::BeginTable("context", 2, ImGuiTableFlags_BordersInnerV)) {
    ImGui::TableSetupColumn("k", ImGuiTableColumnFlags_WidthFixed, 120);
    ImGui::TableSetupColumn("v", ImGuiTableColumnFlags_WidthStretch);
    row("method", c.method);
    row("side / shape", std::string(to_string(c.side)) + " / " + std::string(to_string(c.shape)));
    row("peer", c.peer);
    row("call", "#" + std::to_string(c.key.id) + " on loop " + std::to_string(c.loop) + ", endpoint " +
                    std::to_string(c.endpoint_id) + ", process " + std::to_string(c.key.target));
    row("state", c.state());
    row(c.done ? "duration" : "age", format_seconds(c.duration(now)));
    if (c.deadline > 0) {
      auto left = c.time_left(now);
      row("deadline", left ? format_seconds(*left) + " remaining"
                           : "was " + format_seconds(c.deadline - c.start_time) + " after the start");
    } else {
      row("deadline", "none");
    }
    row("messages", std::to_string(c.messages_in) + " in (" + format_bytes(c.bytes_in) + "), " +
                        std::to_string(c.messages_out) + " out (" + format_bytes(c.bytes_out) + ")" +
                        (c.half_closed ? ", half-closed" : ""));
    if (c.done) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextDisabled("code");
      ImGui::TableNextColumn();
      ImGui::TextColored(code_color(c.code), "%s", code_name(c.code).c_str());
      if (!c.details.empty()) row("details", c.details);
      row("cancelled by", c.cancelled_by.empty() ? "-" : c.cancelled_by);
    }
    ImGui::EndTable();
  }
  ImGui::Spacing();
  ImGui::TextDisabled("invocation metadata");
  metadata_table("invocation", c.invocation_metadata);
  ImGui::TextDisabled("initial metadata");
  metadata_table("initial", c.initial_metadata);
  ImGui::TextDisabled("trailing metadata");
  metadata_table("trailing", c.trailing_metadata);
}

void messages_tab(const Model& model, const CallRecord& c) {
  // Only the head of each message travels (the connector's --head-bytes):
  // a whole one decodes through the process's reflection descriptors, a
  // longer one as far as its head goes (the fields that fit).
  ImGui::TextDisabled(
      "JSON through the process's reflection descriptors (of a message longer than its head, the fields "
      "that fit); hex when they are missing or nothing of the head decodes");
  std::size_t n = 0;
  if (!ImGui::BeginTable(
          "messages", 5,
          ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable))
    return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("dir", ImGuiTableColumnFlags_WidthFixed, 34);
  ImGui::TableSetupColumn("at", ImGuiTableColumnFlags_WidthFixed, 74);
  ImGui::TableSetupColumn("size", ImGuiTableColumnFlags_WidthFixed, 64);
  ImGui::TableSetupColumn("type", ImGuiTableColumnFlags_WidthFixed, 150);
  ImGui::TableSetupColumn("message", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();
  for (const auto& e : c.timeline) {
    bool in = e.kind == TimelineKind::message_in;
    if (!in && e.kind != TimelineKind::message_out) continue;
    ++n;
    const MessageView& v = model.message_view(c, e);
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    text(in ? "in" : "out");
    ImGui::TableNextColumn();
    text("+" + format_seconds(e.time - c.start_time));
    ImGui::TableNextColumn();
    text(format_bytes(e.size));
    ImGui::TableNextColumn();
    ImGui::TextDisabled("%s", v.request ? "request" : "response");
    if (!v.type.empty()) text(v.type);
    ImGui::TableNextColumn();
    if (v.json) {
      text(*v.json);
      if (v.partial) ImGui::TextDisabled("%s; the fields that fit", v.note.c_str());
      continue;
    }
    if (!v.note.empty()) ImGui::TextDisabled("hex: %s", v.note.c_str());
    if (e.head.empty())
      ImGui::TextDisabled(e.size ? "(no head bytes sent)" : "(empty)");
    else
      text(hex_dump(e.head));
  }
  ImGui::EndTable();
  if (n == 0) ImGui::TextDisabled("no message seen while watching");
}

void timeline_tab(const CallRecord& c, double now) {
  if (c.from_snapshot) ImGui::TextDisabled("the inspector did not see this call start: earlier steps are not known");
  if (c.timeline_dropped)
    ImGui::TextDisabled("%llu older entries dropped", static_cast<unsigned long long>(c.timeline_dropped));

  // A strip: one tick per entry over the call's life so far.
  double span = std::max(c.duration(now), 1e-6);
  ImVec2 origin = ImGui::GetCursorScreenPos();
  float width = ImGui::GetContentRegionAvail().x - 8;
  const float height = 18;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(origin, ImVec2(origin.x + width, origin.y + height), IM_COL32(45, 50, 60, 255));
  {
    GeometryLines lines;  // ticks fall between pixels: anti-aliased
    for (const auto& e : c.timeline) {
      float x = origin.x + width * static_cast<float>(std::clamp((e.time - c.start_time) / span, 0.0, 1.0));
      ImU32 color = e.kind == TimelineKind::status        ? ImGui::GetColorU32(code_color(e.code))
                    : e.kind == TimelineKind::message_in  ? IM_COL32(90, 160, 250, 255)
                    : e.kind == TimelineKind::message_out ? IM_COL32(250, 190, 90, 255)
                                                          : IM_COL32(200, 200, 200, 255);
      draw->AddLine(ImVec2(x, origin.y), ImVec2(x, origin.y + height), color, 2.0f);
    }
  }
  ImGui::Dummy(ImVec2(width, height + 4));

  if (!ImGui::BeginTable("timeline", 4,
                         ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY))
    return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("at", ImGuiTableColumnFlags_WidthFixed, 80);
  ImGui::TableSetupColumn("step", ImGuiTableColumnFlags_WidthFixed, 100);
  ImGui::TableSetupColumn("size", ImGuiTableColumnFlags_WidthFixed, 70);
  ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();
  for (const auto& e : c.timeline) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    text("+" + format_seconds(e.time - c.start_time));
    ImGui::TableNextColumn();
    text(to_string(e.kind));
    ImGui::TableNextColumn();
    if (e.kind == TimelineKind::message_in || e.kind == TimelineKind::message_out) text(format_bytes(e.size));
    ImGui::TableNextColumn();
    if (e.kind == TimelineKind::status) {
      ImGui::TextColored(code_color(e.code), "%s", code_name(e.code).c_str());
      if (!c.cancelled_by.empty()) {
        ImGui::SameLine();
        ImGui::TextDisabled("cancelled by %s", c.cancelled_by.c_str());
      }
    }
  }
  ImGui::EndTable();
}

void interceptors_tab(const CallRecord& c) {
  if (c.interceptors.empty()) {
    ImGui::TextDisabled("no interceptor (or the chain has not answered yet)");
    return;
  }
  if (!ImGui::BeginTable("interceptors", 6,
                         ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable))
    return;
  ImGui::TableSetupColumn("interceptor (outermost first)", ImGuiTableColumnFlags_WidthFixed, 170);
  ImGui::TableSetupColumn("runs", ImGuiTableColumnFlags_WidthFixed, 36);
  ImGui::TableSetupColumn("own", ImGuiTableColumnFlags_WidthFixed, 70);
  ImGui::TableSetupColumn("in continuation", ImGuiTableColumnFlags_WidthFixed, 100);
  ImGui::TableSetupColumn("cont. calls", ImGuiTableColumnFlags_WidthFixed, 70);
  ImGui::TableSetupColumn("changes", ImGuiTableColumnFlags_WidthStretch);
  ImGui::TableHeadersRow();
  for (const auto& s : c.interceptors) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    text(s.name);
    ImGui::TableNextColumn();
    ImGui::Text("%d", s.runs);
    ImGui::TableNextColumn();
    text(format_seconds(s.own_seconds()));
    ImGui::TableNextColumn();
    text(format_seconds(s.in_continuation_seconds));
    ImGui::TableNextColumn();
    ImGui::Text("%d", s.continuation_calls);
    ImGui::TableNextColumn();
    if (s.changes.empty()) ImGui::TextDisabled("-");
    for (const auto& change : s.changes) text(change);
  }
  ImGui::EndTable();
}

}  // namespace

void draw_call_detail(Model& model, ViewState& state) {
  const CallRecord* c = model.selected_call();
  if (!c) {
    ImGui::TextDisabled(model.selection().call ? "the selected call is no longer held (finished calls are a ring)"
                                               : "select a call in the table");
    return;
  }
  ImGui::Text("%s", c->method.c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("#%llu  %s", static_cast<unsigned long long>(c->key.id), c->state().data());
  if (!ImGui::BeginTabBar("detail")) return;
  const double now = model.now();
  auto tab = [&](const char* name) {
    ImGuiTabItemFlags flags = state.open_tab == name ? ImGuiTabItemFlags_SetSelected : 0;
    return ImGui::BeginTabItem(name, nullptr, flags);
  };
  if (tab("Context")) {
    context_tab(*c, now);
    ImGui::EndTabItem();
  }
  if (tab("Messages")) {
    messages_tab(model, *c);
    ImGui::EndTabItem();
  }
  if (tab("Timeline")) {
    timeline_tab(*c, now);
    ImGui::EndTabItem();
  }
  if (tab("Interceptors")) {
    interceptors_tab(*c);
    ImGui::EndTabItem();
  }
  state.open_tab.clear();
  ImGui::EndTabBar();
}

}  // namespace actio::inspector::views
