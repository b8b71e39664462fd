#pragma once
/// Small text and colour helpers the panels share.

#include <imgui.h>

#include <string>
#include <string_view>

#include "call_record.hpp"

namespace actio::inspector::views {

/// "850 us", "12.3 ms", "4.20 s", "3 m 05 s".
std::string format_seconds(double seconds);
/// Bytes as "512 B", "1.5 KiB", "3.2 MiB".
std::string format_bytes(std::uint64_t bytes);
/// A hex dump: 16 bytes a line, offset, hex, then printable ASCII.
std::string hex_dump(std::string_view bytes);

ImVec4 connection_color(Connection connection);
/// Green for OK, amber for CANCELLED/DEADLINE_EXCEEDED, red for other errors.
ImVec4 code_color(int code);
/// Text colour of a table row: finished calls fade out over their first seconds.
ImVec4 row_color(const CallRecord& call, double now);
inline const ImVec4 kRedacted{0.95f, 0.55f, 0.25f, 1.0f};

/// ImGui::TextUnformatted on a std::string_view.
inline void text(std::string_view s) { ImGui::TextUnformatted(s.data(), s.data() + s.size()); }

/// Within its scope the current window draws its strokes with geometry
/// anti-aliasing instead of ImGui's textured lines. Those need a linearly
/// filtered font atlas, and the Window samples it with nearest filtering
/// (cheaper for a software rasteriser, the same picture for text and
/// axis-aligned lines). Put it around widgets with diagonal strokes: plots,
/// check marks.
class GeometryLines {
 public:
  GeometryLines() : list_(ImGui::GetWindowDrawList()), saved_(list_->Flags) {
    list_->Flags &= ~ImDrawListFlags_AntiAliasedLinesUseTex;
  }
  ~GeometryLines() { list_->Flags = saved_; }
  GeometryLines(const GeometryLines&) = delete;
  GeometryLines& operator=(const GeometryLines&) = delete;

 private:
  ImDrawList* list_;
  ImDrawListFlags saved_;
};

/// ImGui::Checkbox with an anti-aliased check mark (see GeometryLines).
inline bool checkbox(const char* label, bool* value) {
  GeometryLines lines;
  return ImGui::Checkbox(label, value);
}

/// A two-column key/metadata table; redacted values are tagged.
void metadata_table(const char* id, const std::vector<Metadatum>& metadata);

}  // namespace actio::inspector::views
