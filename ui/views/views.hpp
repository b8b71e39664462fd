#pragma once
/// The inspector's panels (Dear ImGui 1.86), one file each. They draw the
/// model and change only its view state (filter, sort, selection) and the
/// UI-only ViewState below; they never talk to the network.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  /// A tab to bring to the front once: a call detail tab ("Context",
  /// "Messages", "Timeline", "Interceptors") or "Services"; cleared when done.
  std::string open_tab;

  /// The Services panel's own state (what it shows lives in the model).
  struct Services {
    TargetId target = 0;
    std::string method;   ///< the picked method ("/pkg.Service/Method"), "" for none
    std::string address;  ///< the server to call
    std::string request;  ///< the JSON editor's text
    double timeout = 10;  ///< seconds
    std::string metadata;  ///< sent with the call: "key: value" per line
    /// Client-streaming and bidi methods: the requests' JSON, sent in order.
    std::vector<std::string> requests;
    /// Call over TLS (set when a port the process says is secure is picked).
    bool tls = false;
    /// TLS files (PEM) and the name the certificate must show; the command
    /// line's --tls-ca/--tls-cert/--tls-key/--authority fill them at start.
    std::string tls_ca, tls_cert, tls_key, authority;
  } services;
  /// An invocation the Services panel asks for: the app encodes it with the
  /// model, hands it to the network side and clears this.
  std::optional<InvokeRequest> invoke;

  /// The top bar's "record": `on` is the toggle; the app opens and closes
  /// the file and fills in the rest.
  struct Recording {
    bool available = true;   ///< false while replaying
    bool on = false;         ///< the toggle (the app clears it when recording stops by itself)
    bool writing = false;    ///< a file is open
    std::string path;        ///< the file being written, or the last one
    std::uint64_t bytes = 0;  ///< its size so far
    std::string message;     ///< short: why it stopped, or why it could not start
    std::string detail;      ///< the whole story, with the path (a tooltip)
  } record;
  /// The top bar's "export": the button sets it, the app writes the file
  /// and says how it went in export_message.
  bool export_now = false;
  std::string export_message;  ///< short ("exported 6 calls")
  std::string export_detail;   ///< where to, or why it failed (a tooltip)
  /// While replaying a recording (--replay): where the replay is.
  struct Replay {
    bool active = false;
    std::string file;
    double position = 0;  ///< seconds into the recording
    double length = 0;    ///< seconds from its first update to its last
    double speed = 1;     ///< 0: everything at once
    std::size_t applied = 0, total = 0;  ///< updates
  } replay;
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
void draw_services(Model& model, ViewState& state);
/// Picks a method in the Services panel: its server's address (TLS when the
/// process says that port is secure), its request template in the editor
/// (exposed for --screenshot and the bench).
void pick_method(const Model& model, ViewState& state, TargetId target, const std::string& path,
                 const std::string& address);

}  // namespace actio::inspector::views
