// Per-method stats: calls, calls/s, errors, latency quantiles; for the
// selected method, its rate over the last minute, latency histogram and
// errors by code.
#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {

constexpr int kRateWindow = 10;  // seconds, for the calls/s column

void method_detail(const MethodSummary& m, double now) {
  ImGui::Separator();
  ImGui::TextWrapped("%s", m.method.c_str());
  if (m.side != Side::unspecified) ImGui::TextDisabled("%s side", to_string(m.side).data());
  const MethodStats& s = m.stats;

  auto rate = s.rate_series(now, MethodStats::kRateSeconds);
  float peak = std::max(1.0f, *std::max_element(rate.begin(), rate.end()));
  char overlay[64];
  std::snprintf(overlay, sizeof overlay, "%.1f calls/s (%d s)", s.calls_per_second(now, kRateWindow), kRateWindow);
  ImGui::TextDisabled("calls started per second, last %d s", MethodStats::kRateSeconds);
  const float width = ImGui::GetContentRegionAvail().x;  // (1.86 plots take no negative width)
  {
    GeometryLines lines;  // the plot's diagonal strokes
    ImGui::PlotLines("##rate", rate.data(), static_cast<int>(rate.size()), 0, overlay, 0.0f, peak * 1.15f,
                     ImVec2(width, 70));
  }

  // The histogram spans the buckets that hold something, plus one either side.
  const auto& lat = s.latency();
  std::size_t lo = kLatencyBuckets, hi = 0;
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
    if (lat[b]) {
      lo = std::min(lo, b);
      hi = b;
    }
  }
  if (s.summarized()) {
    ImGui::TextDisabled("latency (finished calls: %llu, %llu of them only counted by the process)",
                        static_cast<unsigned long long>(s.finished()), static_cast<unsigned long long>(s.summarized()));
  } else {
    ImGui::TextDisabled("latency (finished calls: %llu)", static_cast<unsigned long long>(s.finished()));
  }
  if (lo <= hi) {
    lo = lo > 0 ? lo - 1 : 0;
    hi = std::min(hi + 1, kLatencyBuckets - 1);
    std::vector<float> bars;
    for (std::size_t b = lo; b <= hi; ++b) bars.push_back(static_cast<float>(lat[b]));
    // A quantile is known to its histogram bucket: the bucket's upper bound.
    std::snprintf(overlay, sizeof overlay, "p50 <= %s  p99 <= %s", format_seconds(s.latency_quantile(0.5)).c_str(),
                  format_seconds(s.latency_quantile(0.99)).c_str());
    ImGui::PlotHistogram("##latency", bars.data(), static_cast<int>(bars.size()), 0, overlay, 0.0f, FLT_MAX,
                         ImVec2(width, 80));
    ImGui::TextDisabled("%s", latency_bucket_label(lo).c_str());
    ImGui::SameLine(ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize(latency_bucket_label(hi).c_str()).x);
    ImGui::TextDisabled("%s", latency_bucket_label(hi).c_str());
  } else {
    ImGui::TextDisabled("  none finished yet");
  }

  ImGui::TextDisabled("errors by code");
  if (s.errors().empty()) ImGui::TextDisabled("  none");
  for (const auto& [code, n] : s.errors())
    ImGui::TextColored(code_color(code), "  %s  %llu", code_name(code).c_str(), static_cast<unsigned long long>(n));
}

}  // namespace

void draw_stats(Model& model) {
  ImGui::TextUnformatted("Methods");
  auto stats = model.method_stats();
  if (stats.empty()) {
    ImGui::TextDisabled("no call seen yet");
    return;
  }
  const double now = model.now();
  const auto& selected = model.selection().method;
  // The model selects a method; which of its sides was clicked is this
  // panel's own state (a method seen from both ends has two rows).
  static Side picked_side = Side::unspecified;
  auto both_sides = [&stats](const std::string& method) {
    return std::count_if(stats.begin(), stats.end(), [&](const MethodSummary& x) { return x.method == method; }) > 1;
  };
  const MethodSummary* shown = nullptr;
  float table_h = std::min(ImGui::GetContentRegionAvail().y * 0.45f,
                           ImGui::GetTextLineHeightWithSpacing() * (static_cast<float>(stats.size()) + 1.5f));
  if (ImGui::BeginTable("methods", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_ScrollY,
                        ImVec2(0, table_h))) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("method", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("calls", ImGuiTableColumnFlags_WidthFixed, 44);
    ImGui::TableSetupColumn("/s", ImGuiTableColumnFlags_WidthFixed, 40);
    ImGui::TableSetupColumn("err", ImGuiTableColumnFlags_WidthFixed, 34);
    ImGui::TableHeadersRow();
    for (const auto& m : stats) {
      const bool two_rows = both_sides(m.method);
      bool is_selected = selected && *selected == m.method && (!two_rows || picked_side == m.side ||
                                                               picked_side == Side::unspecified);
      if (is_selected && !shown) shown = &m;
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      // The short name (after the service), the full one in the tooltip;
      // the side when the method is seen from both ends.
      auto slash = m.method.rfind('/');
      std::string name = slash == std::string::npos ? m.method : m.method.substr(slash + 1);
      if (two_rows) name += m.side == Side::client ? " (client)" : m.side == Side::server ? " (server)" : "";
      ImGui::PushID(m.method.c_str());
      ImGui::PushID(static_cast<int>(m.side));
      if (ImGui::Selectable(name.c_str(), is_selected, ImGuiSelectableFlags_SpanAllColumns)) {
        model.select_method(m.method);
        picked_side = m.side;
      }
      ImGui::PopID();
      ImGui::PopID();
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s (%s)", m.method.c_str(), to_string(m.side).data());
      ImGui::TableNextColumn();
      ImGui::Text("%llu", static_cast<unsigned long long>(m.stats.started()));
      ImGui::TableNextColumn();
      ImGui::Text("%.1f", m.stats.calls_per_second(now, kRateWindow));
      ImGui::TableNextColumn();
      if (m.stats.failed())
        ImGui::TextColored(code_color(2), "%llu", static_cast<unsigned long long>(m.stats.failed()));
      else
        ImGui::TextDisabled("0");
    }
    ImGui::EndTable();
  }
  // With nothing picked, the busiest method.
  if (!shown) {
    shown = &*std::max_element(stats.begin(), stats.end(), [](const MethodSummary& a, const MethodSummary& b) {
      return a.stats.started() < b.stats.started();
    });
  }
  method_detail(*shown, now);
}

}  // namespace actio::inspector::views
