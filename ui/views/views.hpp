#pragma once
/// The inspector's panels (Dear ImGui 1.86), one file each. They draw the
/// model and change only its view state (filter, sort, selection) and the
/// UI-only ViewState below; they never talk to the network.

#include <cstddef>
#include <string>

#include "model.hpp"

namespace actio::inspector::views {

/// What belongs to the screen only (not to the model).
struct ViewState {
  bool paused = false;      ///< the app stops feeding the model while set
  std::size_t waiting = 0;  ///< updates the app holds back while paused
  char method_filter[128] = {};
  int side = 0;         ///< 0 any, 1 client, 2 server
  int state = 0;        ///< 0 any, 1 live, 2 done
  int code = -1;        ///< -1 any, else a status code
  int target = -1;      ///< -1 any, else a TargetId
  double frame_ms = 0;  ///< shown in the top bar
  /// A detail tab to bring to the front once ("Context", "Messages",
  /// "Timeline", "Interceptors"); cleared when done.
  std::string open_tab;
};

/// The whole window: top bar, left column (processes, loops, channels &
/// servers), centre (calls table over the selected call), right column (stats).
void draw_inspector(Model& model, ViewState& state);

// -- panels (each in its own file) --------------------------------------------

void draw_top_bar(Model& model, ViewState& state);
void draw_processes(Model& model);
void draw_calls_table(Model& model);
void draw_call_detail(Model& model, ViewState& state);
void draw_endpoints(Model& model);
void draw_loops(Model& model);
void draw_stats(Model& model);

}  // namespace actio::inspector::views
