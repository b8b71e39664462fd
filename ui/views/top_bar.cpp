// Top bar: the processes attached and their connection (or the replay and
// its position), the filter, pause, record, export.
#include <imgui.h>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {

/// The model's filter from the bar's widgets.
Filter filter_of(const ViewState& s) {
  Filter f;
  f.method = s.method_filter;
  if (s.side == 1) f.side = Side::client;
  if (s.side == 2) f.side = Side::server;
  f.state = s.state == 1 ? StateFilter::live : s.state == 2 ? StateFilter::done : StateFilter::all;
  if (s.code >= 0) f.code = s.code;
  if (s.target >= 0) f.target = static_cast<TargetId>(s.target);
  return f;
}

}  // namespace

void draw_top_bar(Model& model, ViewState& state) {
  // A replay says so first: the file and how far it got.
  if (state.replay.active) {
    const auto& r = state.replay;
    ImGui::TextColored({0.55f, 0.75f, 1.0f, 1.0f}, "REPLAY");
    ImGui::SameLine();
    ImGui::Text("%s  %.1f / %.1f s", r.file.c_str(), r.position, r.length);
    ImGui::SameLine();
    if (r.speed > 0)
      ImGui::TextDisabled("(x%g, %zu / %zu updates%s)", r.speed, r.applied, r.total,
                          r.applied == r.total ? ", done" : "");
    else
      ImGui::TextDisabled("(all at once, %zu / %zu updates)", r.applied, r.total);
    ImGui::SameLine(0, 18);
  }
  // Processes and their connection state, on one line.
  for (std::size_t i = 0; i < model.target_count(); ++i) {
    const TargetInfo& t = model.target(static_cast<TargetId>(i));
    if (i) ImGui::SameLine(0, 18);
    ImGui::TextColored(connection_color(t.connection), "*");
    ImGui::SameLine();
    if (t.has_snapshot) {
      ImGui::Text("%s  %s[%d]  %s", t.address.c_str(), t.process.c_str(), t.pid, to_string(t.connection).data());
    } else {
      ImGui::Text("%s  %s", t.address.c_str(), to_string(t.connection).data());
    }
    if (ImGui::IsItemHovered()) {
      ImGui::BeginTooltip();
      ImGui::Text("sessions %llu, seq %llu (snapshot %llu)", static_cast<unsigned long long>(t.sessions),
                  static_cast<unsigned long long>(t.last_seq), static_cast<unsigned long long>(t.snapshot_seq));
      ImGui::Text("missed %llu, stale %llu, orphan %llu, dropped by the process %llu",
                  static_cast<unsigned long long>(t.missed_events), static_cast<unsigned long long>(t.stale_events),
                  static_cast<unsigned long long>(t.orphan_events), static_cast<unsigned long long>(t.dropped_events));
      if (t.summarized_calls) {
        ImGui::Text("%llu calls only counted (past the watch's rate: --max-calls-per-second)",
                    static_cast<unsigned long long>(t.summarized_calls));
      }
      if (!t.last_error.empty()) ImGui::Text("last error: %s", t.last_error.c_str());
      ImGui::EndTooltip();
    }
  }

  // Recording and export, on the same line (the second one is full).
  if (state.record.writing) {
    ImGui::SameLine(0, 18);
    ImGui::TextColored({0.95f, 0.35f, 0.30f, 1.0f}, "REC %.1f MB",
                       static_cast<double>(state.record.bytes) / (1024.0 * 1024.0));
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("recording to %s", state.record.path.c_str());
  } else if (!state.record.message.empty()) {
    ImGui::SameLine(0, 18);
    ImGui::TextColored({0.95f, 0.80f, 0.25f, 1.0f}, "%s", state.record.message.c_str());
    if (ImGui::IsItemHovered() && !state.record.detail.empty())
      ImGui::SetTooltip("%s", state.record.detail.c_str());
  }
  if (!state.export_message.empty()) {
    ImGui::SameLine(0, 18);
    ImGui::TextDisabled("%s", state.export_message.c_str());
    if (ImGui::IsItemHovered() && !state.export_detail.empty()) ImGui::SetTooltip("%s", state.export_detail.c_str());
  }

  // Filter and pause.
  ImGui::SetNextItemWidth(220);
  ImGui::InputTextWithHint("##method", "filter: method contains...", state.method_filter, sizeof state.method_filter);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(90);
  ImGui::Combo("##side", &state.side, "any side\0client\0server\0\0");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(90);
  ImGui::Combo("##state", &state.state, "any state\0live\0done\0\0");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(170);
  std::string code_label = state.code < 0 ? "any code" : code_name(state.code);
  if (ImGui::BeginCombo("##code", code_label.c_str())) {
    if (ImGui::Selectable("any code", state.code < 0)) state.code = -1;
    for (int c = 0; c <= 16; ++c)
      if (ImGui::Selectable(code_name(c).c_str(), state.code == c)) state.code = c;
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(170);
  std::string target_label =
      state.target < 0 ? "all processes" : model.target(static_cast<TargetId>(state.target)).address;
  if (ImGui::BeginCombo("##target", target_label.c_str())) {
    if (ImGui::Selectable("all processes", state.target < 0)) state.target = -1;
    for (std::size_t i = 0; i < model.target_count(); ++i) {
      ImGui::PushID(static_cast<int>(i));
      if (ImGui::Selectable(model.target(static_cast<TargetId>(i)).address.c_str(), state.target == int(i)))
        state.target = static_cast<int>(i);
      ImGui::PopID();
    }
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  checkbox("pause", &state.paused);
  if (state.record.available) {
    ImGui::SameLine();
    checkbox("record", &state.record.on);
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("write everything the processes send to a file (--record FILE; replay it with --replay FILE)");
  }
  ImGui::SameLine();
  if (ImGui::Button("export")) state.export_now = true;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("write the calls the filter shows as JSON (--export FILE)");
  model.set_filter(filter_of(state));

  ImGui::SameLine(0, 24);
  ImGui::Text("%zu calls, %zu live, %zu shown", model.call_count(), model.live_count(), model.row_count());
  if (state.paused) {
    ImGui::SameLine();
    ImGui::TextColored({0.95f, 0.80f, 0.25f, 1.0f}, "paused (%zu updates waiting)", state.waiting);
  }
  ImGui::SameLine();
  ImGui::TextDisabled("%.1f ms/frame", state.frame_ms);
}

}  // namespace actio::inspector::views
