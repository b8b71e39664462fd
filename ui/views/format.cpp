#include "format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace actio::inspector::views {

std::string format_seconds(double s) {
  char buf[32];
  double a = std::fabs(s);
  if (a < 1e-3)
    std::snprintf(buf, sizeof buf, "%.0f us", s * 1e6);
  else if (a < 1.0)
    std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
  else if (a < 60.0)
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  else {
    auto whole = static_cast<long>(std::lround(s));
    std::snprintf(buf, sizeof buf, "%ld m %02ld s", whole / 60, std::labs(whole % 60));
  }
  return buf;
}

std::string format_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1024)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024 * 1024));
  return buf;
}

std::string hex_dump(std::string_view bytes) {
  std::string out;
  char buf[24];
  for (std::size_t line = 0; line < bytes.size(); line += 16) {
    std::snprintf(buf, sizeof buf, "%04zx  ", line);
    out += buf;
    std::size_t n = std::min<std::size_t>(16, bytes.size() - line);
    for (std::size_t i = 0; i < 16; ++i) {
      if (i < n) {
        std::snprintf(buf, sizeof buf, "%02x ", static_cast<unsigned char>(bytes[line + i]));
        out += buf;
      } else {
        out += "   ";
      }
    }
    out += ' ';
    for (std::size_t i = 0; i < n; ++i) {
      auto c = static_cast<unsigned char>(bytes[line + i]);
      out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
    }
    if (line + 16 < bytes.size()) out += '\n';
  }
  return out;
}

ImVec4 connection_color(Connection connection) {
  switch (connection) {
    case Connection::attached: return {0.35f, 0.85f, 0.40f, 1.0f};
    case Connection::connecting: return {0.95f, 0.80f, 0.25f, 1.0f};
    case Connection::lost: return {0.95f, 0.35f, 0.30f, 1.0f};
  }
  return {1, 1, 1, 1};
}

ImVec4 code_color(int code) {
  if (code == 0) return {0.35f, 0.85f, 0.40f, 1.0f};
  if (code == 1 || code == 4) return {0.95f, 0.75f, 0.25f, 1.0f};
  return {0.95f, 0.35f, 0.30f, 1.0f};
}

ImVec4 row_color(const CallRecord& call, double now) {
  ImVec4 c = ImGui::GetStyleColorVec4(ImGuiCol_Text);
  if (call.done) {
    // Fade from full to 45% over the ten seconds after the end.
    double since = std::clamp(now - call.end_time, 0.0, 10.0);
    c.w = static_cast<float>(1.0 - 0.055 * since);
  }
  return c;
}

void metadata_table(const char* id, const std::vector<Metadatum>& metadata) {
  if (metadata.empty()) {
    ImGui::TextDisabled("(none)");
    return;
  }
  if (!ImGui::BeginTable(id, 2, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_RowBg | ImGuiTableFlags_Resizable))
    return;
  ImGui::TableSetupColumn("key", ImGuiTableColumnFlags_WidthFixed, 160);
  ImGui::TableSetupColumn("value", ImGuiTableColumnFlags_WidthStretch);
  for (const auto& m : metadata) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    text(m.key);
    ImGui::TableNextColumn();
    if (m.redacted) {
      ImGui::TextColored(kRedacted, "[redacted]");
      ImGui::SameLine();
    }
    text(m.display_value());
  }
  ImGui::EndTable();
}

}  // namespace actio::inspector::views
