// actio-inspector: attaches to Actio processes that serve actio.inspect.v1
// and shows their calls, channels, servers, loops and per-method stats.
//
//   actio-inspector --target 127.0.0.1:PORT [--target ...]
//                   [--screenshot out.png --frames N] [--dump-json out.json]
//                   [--width W --height H] [--head-bytes N]
//                   [--tab Services --method /pkg.Service/Method [--request '{...}']]
//   actio-inspector --target 127.0.0.1:PORT --invoke /pkg.Service/Method --request '{...}' [--request ...]
//                   [--tls-ca CA.pem [--tls-cert C.pem --tls-key K.pem] [--authority NAME]]
//                   (headless: prints each reply as JSON, then the status; exit 0 / 1)
//   actio-inspector --target ... --record FILE [--record-max-mb N]    (and the top bar's "record")
//   actio-inspector --replay FILE [--replay-speed X] [--screenshot ...] [--dump-json ...] [--export ...]
//   --export FILE: the calls the filter (--filter) shows, as JSON, at exit (and the top bar's "export")
//
// Threads: the Connector's network thread runs the Actio clients and queues
// what arrives; this (UI) thread drains the queue into the Model at the start
// of every frame, then draws it. Only this thread touches the model.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "actio/status.hpp"
#include "connector.hpp"
#include "model.hpp"
#include "recorder.hpp"
#include "recording.hpp"
#include "views.hpp"
#include "window.hpp"

using namespace actio::inspector;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_quit{false};
extern "C" void on_signal(int) { g_quit = true; }


bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

struct Args {
  std::vector<std::string> targets;
  std::string screenshot;
  int frames = 5;
  std::string dump_json;
  int width = 1280;
  int height = 800;
  std::string token;
  bool verbose = false;
  std::uint64_t select = 0;  // a call id of the first target; 0: the newest
  std::string tab;
  std::string method;         // --screenshot: pick this method in the Services panel
  bool press_invoke = false;  // --screenshot with --method and --request: invoke it
  std::uint32_t head_bytes = 256;
  std::uint32_t max_calls_per_second = ConnectorOptions{}.max_calls_per_second;
  // --invoke (headless)
  std::string invoke;
  std::vector<std::string> metadata;  // KEY=VALUE
  std::string request = "{}";          // the first --request
  std::vector<std::string> requests;  // every --request, in order
  std::string address;
  double timeout = 10;
  // recording, replay, export
  std::string record;  // --record FILE: record from the start
  double record_max_mb = 100;
  std::string replay;  // --replay FILE: no live target
  double replay_speed = 1;
  std::string export_path;  // --export FILE: written at exit (and by the top bar's button)
  std::string filter;       // --filter: the method filter the window starts with
  // TLS for invocations (--invoke, and prefilled in the Services panel)
  std::string tls_ca, tls_cert, tls_key, authority;
};

/// The model's filter as the app starts (the top bar keeps it afterwards).
void apply_start_filter(Model& model, views::ViewState& view, const Args& args) {
  std::snprintf(view.method_filter, sizeof view.method_filter, "%s", args.filter.c_str());
  Filter filter;
  filter.method = args.filter;
  model.set_filter(filter);
}

/// Writes the calls the filter shows; says how it went (short, and in full).
bool export_calls(const Model& model, const std::string& path, views::ViewState& view) {
  bool ok = write_file(path, model.export_json());
  view.export_message = ok ? "exported " + std::to_string(model.rows().size()) + " calls" : "export failed";
  view.export_detail = ok ? "to " + path : "cannot write " + path;
  return ok;
}

/// The top bar's record toggle and what it shows, kept in step with the recorder.
void follow_toggle(Recorder& recorder, views::ViewState& view, Connector& connector, bool received_before) {
  if (view.record.on && !recorder.writing() && !recorder.start(received_before ? &connector : nullptr))
    view.record.on = false;
  if (!view.record.on && recorder.writing()) recorder.stop("stopped");
}

void show_recorder(const Recorder& recorder, views::ViewState& view) {
  // A recording that stopped by itself (the cap, a failed write) turns the
  // toggle off, even one that did so in the frame it started: the next
  // frame must not start another under a timestamped name.
  if (!recorder.writing() && recorder.stopped_by_itself()) view.record.on = false;
  view.record.writing = recorder.writing();
  view.record.path = recorder.path();
  view.record.bytes = recorder.bytes();
  view.record.message = recorder.message();
  view.record.detail = recorder.detail();
}

/// The TLS files and name of the command line; `tls` says whether to use them.
InvokeSecurity security_of(const Args& args, bool tls) {
  return InvokeSecurity{tls, args.tls_ca, args.tls_cert, args.tls_key, args.authority};
}

Limits limits_of(const Args& args) {
  Limits limits;
  limits.head_bytes = args.head_bytes;
  return limits;
}

ConnectorOptions options_of(const Args& args) {
  ConnectorOptions options;
  options.token = args.token;
  options.message_head_bytes = args.head_bytes;
  options.max_calls_per_second = args.max_calls_per_second;
  return options;
}

/// --screenshot waits for this: every target has its snapshot and nothing
/// arrived for a moment (the first events), or 3 s passed.
/// (reflection answered about every service the processes name).
bool ready_to_capture(const Model& model, Clock::duration quiet_for, Clock::duration waited) {
  if (waited >= std::chrono::seconds(3)) return true;
  for (std::size_t i = 0; i < model.target_count(); ++i) {
    auto id = static_cast<TargetId>(i);
    if (!model.target(id).has_snapshot || !model.undescribed_services(id).empty()) return false;
  }
  return quiet_for >= std::chrono::milliseconds(150);
}

/// --invoke: attach to the first target, have its descriptors for the
/// method's service, call the method, print the reply (or the status).
int run_invoke(const Args& args) {
  const std::string& target = args.targets.front();
  std::string service = service_of(args.invoke);
  if (service.empty()) {
    std::cerr << "actio-inspector: --invoke wants a method path /package.Service/Method, not '" << args.invoke << "'"
              << std::endl;
    return 1;
  }
  Model model(limits_of(args));
  model.add_target(target);
  Connector connector({target}, options_of(args));
  auto wait_until = [&](auto done, Clock::duration limit) {
    auto end = Clock::now() + limit;
    for (;;) {
      connector.drain(model);
      if (done()) return true;
      if (Clock::now() >= end || g_quit) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  // Attached, then reflection's answer about the service (found or not).
  bool asked = false;
  bool described = wait_until(
      [&] {
        if (!asked && model.target(0).connection == Connection::attached) {
          connector.describe(0, service);
          asked = true;
        }
        return asked && model.schema(0).knows(service);
      },
      std::chrono::seconds(5));
  if (!described) {
    const TargetInfo& t = model.target(0);
    if (!t.has_snapshot)
      std::cerr << "actio-inspector: cannot attach to " << target
                << (t.last_error.empty() ? std::string() : ": " + t.last_error) << std::endl;
    else
      std::cerr << "actio-inspector: " << target << " did not describe " << service << " within 5 s" << std::endl;
    return 1;
  }
  // The port to call: --address, else a port of the process's server that
  // serves the method — a TLS one when TLS files are given, else a
  // plaintext one, else the first. TLS when the process says the port is
  // secure, or when TLS files are given.
  bool tls_files = !args.tls_ca.empty() || !args.tls_cert.empty() || !args.tls_key.empty();
  std::vector<DialAddress> ports = model.serving_addresses(0, service);
  std::string address = args.address;
  bool tls = false;
  if (address.empty() && !ports.empty()) {
    auto it = std::find_if(ports.begin(), ports.end(), [&](const DialAddress& p) { return p.tls == tls_files; });
    const DialAddress& port = it != ports.end() ? *it : ports.front();
    address = port.address;
    tls = port.tls;
  } else {
    for (const auto& p : ports)
      if (p.address == address) tls = p.tls;
  }
  tls = tls || tls_files;
  if (address.empty() && model.schema(0).service(service)) {
    std::cerr << "actio-inspector: no server of the process at " << target << " serves " << service
              << "; give --address HOST:PORT" << std::endl;
    return 1;
  }
  std::uint64_t id = 0;
  InvokeRequest request{0, address, args.invoke, args.request, args.timeout, {}};
  if (args.requests.size() > 1 || (args.requests.size() == 1 && model.schema(0).method(args.invoke) &&
                                   model.schema(0).method(args.invoke)->client_streaming))
    request.requests = args.requests;
  request.security = security_of(args, tls);
  for (const auto& kv : args.metadata) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "actio-inspector: --metadata wants KEY=VALUE, not '" << kv << "'" << std::endl;
      connector.stop();
      return 1;
    }
    request.metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto outgoing = model.begin_invocation(request, &id);
  if (!outgoing) {
    std::cerr << "actio-inspector: " << model.invocation(id)->details << std::endl;
    return 1;
  }
  connector.invoke(std::move(*outgoing));
  // Each reply is printed as it comes (a stream's too), then the status.
  std::size_t printed = 0;
  auto print_replies = [&] {
    const Invocation* inv = model.invocation(id);
    for (; inv && printed < inv->replies.size(); ++printed) {
      const Reply& r = inv->replies[printed];
      if (r.json) {
        std::cout << *r.json << std::endl;
      } else {
        std::cout << "(" << r.bytes.size() << " bytes that do not decode: " << r.note << ")" << std::endl;
      }
    }
  };
  auto limit = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(args.timeout + 5));
  bool done = wait_until(
      [&] {
        print_replies();
        return model.invocation(id)->done;
      },
      limit);
  connector.stop();
  print_replies();
  const Invocation* inv = model.invocation(id);
  if (!args.dump_json.empty()) {
    model.set_now(unix_now());
    write_file(args.dump_json, model.to_json());
  }
  if (!done) {
    std::cerr << "actio-inspector: no answer from " << address << std::endl;
    return 1;
  }
  // The status after the replies (stderr: stdout holds only the replies' JSON).
  std::string sent = inv->client_streaming ? " (" + std::to_string(inv->sent) + " of " +
                                                 std::to_string(inv->requests) + " requests sent)"
                                           : "";
  if (inv->code != 0) {
    std::cerr << "actio-inspector: " << code_name(inv->code) << (inv->details.empty() ? "" : ": ") << inv->details
              << sent << std::endl;
    return 1;
  }
  std::cerr << "actio-inspector: OK" << sent << std::endl;
  return 0;
}

/// Prints what changed in the targets' connections since the last call.
class ConnectionLog {
 public:
  void update(const Model& model) {
    seen_.resize(model.target_count());
    for (std::size_t i = 0; i < model.target_count(); ++i) {
      const TargetInfo& t = model.target(static_cast<TargetId>(i));
      auto now = std::make_pair(t.connection, t.sessions);
      if (seen_[i] == now) continue;
      seen_[i] = now;
      std::cerr << "actio-inspector: " << t.address << ": " << to_string(t.connection);
      if (t.connection == Connection::attached)
        std::cerr << " (" << t.process << " pid " << t.pid << ", session " << t.sessions << ")";
      if (t.connection == Connection::lost) std::cerr << " (" << t.last_error << ")";
      std::cerr << std::endl;
    }
  }

 private:
  std::vector<std::pair<Connection, std::uint64_t>> seen_;
};

/// The replay's part of the view state.
void show_replay(views::ViewState& view, const Replayer& replayer) {
  view.replay.position = replayer.position();
  view.replay.applied = replayer.applied();
  view.replay.total = replayer.total();
}

/// At exit: --dump-json and --export; 1 if either cannot be written.
int write_outputs(const Args& args, const Model& model, views::ViewState& view) {
  int rc = 0;
  if (!args.dump_json.empty() && !write_file(args.dump_json, model.to_json())) {
    std::cerr << "actio-inspector: cannot write " << args.dump_json << std::endl;
    rc = 1;
  }
  if (!args.export_path.empty() && !export_calls(model, args.export_path, view)) {
    std::cerr << "actio-inspector: " << view.export_detail << std::endl;
    rc = 1;
  }
  return rc;
}

/// --replay without a window (no display, no --screenshot; --dump-json or
/// --export given): feeds the recording at its pace, writes, exits.
int run_replay_headless(const Args& args, Recording recording) {
  Model model(limits_of(args));
  views::ViewState view;
  apply_start_filter(model, view, args);
  Replayer replayer(std::move(recording));
  replayer.add_targets(model);
  auto started = Clock::now();
  while (!g_quit) {
    replayer.feed(model, std::chrono::duration<double>(Clock::now() - started).count(), args.replay_speed);
    if (replayer.done()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::cout << "actio-inspector: replayed " << replayer.applied() << " of " << replayer.total() << " updates of "
            << args.replay << " (" << model.call_count() << " calls, " << replayer.length() << " s recorded)"
            << std::endl;
  return write_outputs(args, model, view);
}

int run_inspector(const Args& args, std::optional<Recording> recording) {
  const bool headless = !args.screenshot.empty();
  Model model(limits_of(args));
  views::ViewState view;
  apply_start_filter(model, view, args);
  view.services.tls_ca = args.tls_ca;  // the panel's TLS fields start from the command line's
  view.services.tls_cert = args.tls_cert;
  view.services.tls_key = args.tls_key;
  view.services.authority = args.authority;
  // The updates come from the live targets, or from a recording.
  std::unique_ptr<Connector> connector;
  std::unique_ptr<Replayer> replayer;
  std::optional<Recorder> recorder;
  if (recording) {
    replayer = std::make_unique<Replayer>(std::move(*recording));
    replayer->add_targets(model);
    view.record.available = false;
    view.replay = {.active = true,
                   .file = args.replay,
                   .length = replayer->length(),
                   .speed = args.replay_speed,
                   .total = replayer->total()};
  } else {
    for (const auto& t : args.targets) model.add_target(t);
    connector = std::make_unique<Connector>(args.targets, options_of(args));
    recorder.emplace(args.targets, args.record, args.record_max_mb);
    view.record.on = !args.record.empty();
  }
  bool received = false;  // anything came from the targets yet
  double replay_clock = 0;  // seconds of replay (stands still while paused)
  auto last_frame = Clock::now();

  Window window({.width = args.width, .height = args.height, .visible = !headless, .vsync = !headless});
  ConnectionLog log;
  auto started = Clock::now(), last_update = started;
  bool capturing = !headless;
  bool prepared = false;  // --screenshot: the selection and the tab set up
  int rendered = 0;
  bool was_paused = false;

  // Moves what arrived into the model (recording it first when recording).
  auto drain = [&] {
    if (connector) {
      follow_toggle(*recorder, view, *connector, received);
      std::vector<Update> updates = connector->take();
      if (!updates.empty()) recorder->record(updates);
      show_recorder(*recorder, view);
      if (updates.empty()) return false;
      received = true;
      for (auto& u : updates) apply(model, u);
      model.set_now(unix_now());
      return true;
    }
    bool fed = replayer->feed(model, replay_clock, args.replay_speed) > 0;
    show_replay(view, *replayer);
    return fed;
  };

  // A window at rest (no input, the model unchanged for a while) waits for
  // input up to 100 ms between frames instead of drawing ~120 frames/s: an
  // idle inspector then costs little CPU, and any input wakes it at once.
  constexpr int kLivelyFrames = 30;
  int lively = kLivelyFrames;
  std::uint64_t seen_generation = model.generation();
  while (!window.should_close() && !g_quit) {
    window.poll(!headless && lively <= 0 ? 0.1 : 0);
    auto frame_start = Clock::now();
    if (!view.paused) {
      replay_clock += std::chrono::duration<double>(frame_start - last_frame).count();
      if (drain()) last_update = Clock::now();
      if (connector) model.set_now(unix_now());
    } else if (recorder && connector) {
      follow_toggle(*recorder, view, *connector, received);  // the toggle works while paused too
      show_recorder(*recorder, view);
    }
    last_frame = frame_start;
    view.waiting = connector ? connector->waiting() : 0;
    if (args.verbose) log.update(model);
    if (was_paused && !view.paused) last_update = Clock::now();
    was_paused = view.paused;

    // The Services panel asked for an invocation: the model encodes it, the
    // network thread sends it (a replay has nobody to call).
    auto hand_over_invocation = [&] {
      if (!view.invoke) return;
      std::uint64_t id = 0;
      auto outgoing = model.begin_invocation(*view.invoke, &id);
      view.invoke.reset();
      if (!outgoing) return;
      if (connector)
        connector->invoke(std::move(*outgoing));
      else
        model.end_invocation({id, static_cast<int>(actio::StatusCode::UNAVAILABLE), "a replay has no live process to call", {}});
    };
    // The top bar's export button.
    if (view.export_now) {
      view.export_now = false;
      std::string path = args.export_path.empty() ? timestamped("actio-inspector-export", ".json") : args.export_path;
      export_calls(model, path, view);
    }

    if (!capturing) {
      auto t = Clock::now();
      bool ready = replayer ? replayer->done() : ready_to_capture(model, t - last_update, t - started);
      if (!ready) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      if (!prepared) {
        prepared = true;
        // A picture shows more with a call open: --select's, or the newest.
        if (args.select)
          model.select_call({0, args.select});
        else if (!model.selection().call && !model.rows().empty())
          model.select_call(model.rows().front()->key);
        view.open_tab = args.tab;
        if (!args.method.empty()) {
          views::pick_method(model, view, 0, args.method,
                             model.serving_address(0, service_of(args.method)).value_or(""));
          if (args.press_invoke) {  // as if Invoke were pressed with --request in the editor
            view.services.request = args.request;
            view.invoke = InvokeRequest{0, view.services.address, args.method, args.request, args.timeout};
            const MethodInfo* m = model.schema(0).method(args.method);
            if (args.requests.size() > 1 || (m && m->client_streaming)) {
              view.services.requests = args.requests;
              view.invoke->requests = args.requests;
            }
            for (const auto& kv : args.metadata) {  // --metadata KEY=VALUE, as the panel's "key: value" lines
              auto eq = kv.find('=');
              if (eq == std::string::npos) continue;
              view.services.metadata += kv.substr(0, eq) + ": " + kv.substr(eq + 1) + "\n";
              view.invoke->metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
            }
            view.services.tls = view.services.tls || !args.tls_ca.empty() || !args.tls_cert.empty();
            view.invoke->security = security_of(args, view.services.tls);
            hand_over_invocation();
          }
        }
      }
      // With an invocation: its outcome in the picture (or the timeout's).
      if (args.press_invoke && !model.invocations().empty() && !model.invocations().back().done &&
          t - started < std::chrono::duration<double>(args.timeout + 3)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      capturing = true;
    }

    window.begin_frame();
    views::draw_inspector(model, view);
    window.render();
    hand_over_invocation();
    if (window.user_active() || model.generation() != seen_generation) {
      lively = kLivelyFrames;
      seen_generation = model.generation();
    } else if (lively > 0) {
      --lively;
    }
    if (headless && ++rendered >= args.frames) {
      if (!window.write_png(args.screenshot)) {
        std::cerr << "actio-inspector: cannot write " << args.screenshot << std::endl;
        return 1;
      }
      std::cout << "actio-inspector: wrote " << args.screenshot << " (" << window.framebuffer_width() << "x"
                << window.framebuffer_height() << ", " << model.call_count() << " calls)" << std::endl;
      break;
    }
    window.present();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - frame_start).count();
    view.frame_ms = view.frame_ms == 0 ? ms : 0.9 * view.frame_ms + 0.1 * ms;
    // Without vsync (Xvfb, some drivers) keep to ~120 frames/s instead of a busy loop.
    if (!headless) std::this_thread::sleep_until(frame_start + std::chrono::milliseconds(8));
  }

  if (connector) {
    connector->stop();
    if (!view.paused) drain();
    model.set_now(unix_now());
  }
  if (recorder) recorder->stop("stopped");
  return write_outputs(args, model, view);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"actio-inspector: live calls, channels, servers and loops of Actio processes"};
  auto* target = app.add_option("--target", args.targets,
                                "host:port of a process serving actio.inspect.v1 (repeatable; not with --replay)");
  app.add_option("--screenshot", args.screenshot, "render offscreen, write the window to this PNG and exit");
  app.add_option("--frames", args.frames, "frames to render before the screenshot")->check(CLI::PositiveNumber);
  app.add_option("--dump-json", args.dump_json, "write the model's view as JSON at exit");
  app.add_option("--width", args.width, "window width")->check(CLI::PositiveNumber);
  app.add_option("--height", args.height, "window height")->check(CLI::PositiveNumber);
  app.add_flag("--verbose", args.verbose, "print connection changes to stderr");
  app.add_option("--token", args.token, "bearer token the processes ask for (default: $ACTIO_INSPECT_TOKEN)")
      ->envname("ACTIO_INSPECT_TOKEN");
  app.add_option("--select", args.select, "--screenshot: show this call (id, first target) instead of the newest");
  app.add_option("--tab", args.tab, "--screenshot: the call's tab to show, or the Services panel")
      ->check(CLI::IsMember({"Context", "Messages", "Timeline", "Interceptors", "Services"}));
  app.add_option("--method", args.method, "--screenshot: pick this method (/pkg.Service/Method) in the Services panel");
  app.add_option("--head-bytes", args.head_bytes,
                 "bytes of each message to watch (a message is decoded to JSON when it fits)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--max-calls-per-second", args.max_calls_per_second,
                 "calls each loop of a process sends one by one per second; past it, calls are only counted per "
                 "method (failed and long calls still come one by one); 0: every call")
      ->capture_default_str();
  app.add_option("--invoke", args.invoke,
                 "headless: call this method (/pkg.Service/Method) of the first target's process, print the reply "
                 "as JSON and exit 0 (or the status, exit 1)");
  auto* request = app.add_option("--request", args.requests,
                                 "--invoke: the request as JSON (default {}); repeat it for the requests of a "
                                 "client-streaming or bidi method, in order; with --screenshot and --method: invoke "
                                 "the method with it in the Services panel and show the outcome");
  app.add_option("--address", args.address,
                 "--invoke: the server to call (default: the process's server that serves the method)");
  app.add_option("--timeout", args.timeout, "--invoke: seconds the call may take")->check(CLI::PositiveNumber);
  app.add_option("--metadata", args.metadata, "--invoke: KEY=VALUE sent with the call (repeatable)");
  auto* record = app.add_option("--record", args.record,
                                "write everything the targets send (snapshots, watch events, reflection) to this "
                                "file, from the start (the top bar's \"record\" toggles it)");
  app.add_option("--record-max-mb", args.record_max_mb, "recording stops (with a message) at this size in MB")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* replay = app.add_option("--replay", args.replay, "show a recording (--record) instead of live targets");
  app.add_option("--replay-speed", args.replay_speed,
                 "--replay: times the recorded pace (0: everything at once)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--export", args.export_path,
                 "write the calls the filter shows (context, metadata, messages, timeline) as JSON at exit; the top "
                 "bar's \"export\" button writes here too");
  app.add_option("--filter", args.filter, "start with this method filter (a case-insensitive substring)");
  replay->excludes(target);
  replay->excludes(record);
  app.add_option("--tls-ca", args.tls_ca,
                 "--invoke and the Services panel: PEM root certificates for a TLS port (default: the system's); "
                 "TLS is used when the process says the port is secure, or when a --tls-* file is given");
  app.add_option("--tls-cert", args.tls_cert, "mutual TLS: the client's certificate chain (PEM), with --tls-key");
  app.add_option("--tls-key", args.tls_key, "mutual TLS: the client's private key (PEM), with --tls-cert");
  app.add_option("--authority", args.authority,
                 "the name the server's TLS certificate must show (e.g. localhost when calling 127.0.0.1), and "
                 "the call's :authority");
  CLI11_PARSE(app, argc, argv);
  if (args.targets.empty() && args.replay.empty()) return app.exit(CLI::RequiredError("--target (or --replay FILE)"));
  if (!args.invoke.empty() && !args.replay.empty()) {
    std::cerr << "actio-inspector: --invoke calls a live process; it does not go with --replay" << std::endl;
    return 1;
  }
  args.press_invoke = !args.screenshot.empty() && !args.method.empty() && request->count() > 0;
  if (!args.requests.empty()) args.request = args.requests.front();

  // The inspector is an Actio process too: it must not start inspection of
  // itself (on the port meant for the process it watches) from the shell's
  // ACTIO_INSPECT.
  unsetenv("ACTIO_INSPECT");
  if (!args.invoke.empty()) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    try {
      return run_invoke(args);
    } catch (const std::exception& e) {
      std::cerr << "actio-inspector: " << e.what() << std::endl;
      return 1;
    }
  }

  // A recording is read whole before anything else: a missing, foreign,
  // newer or damaged file is a clear error (exit 1), before any window.
  std::optional<Recording> recording;
  if (!args.replay.empty()) {
    try {
      recording = read_recording(args.replay);
    } catch (const std::exception& e) {
      std::cerr << "actio-inspector: cannot replay: " << e.what() << std::endl;
      return 1;
    }
  }

  auto has_env = [](const char* name) {
    const char* v = std::getenv(name);
    return v && *v;
  };
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (args.screenshot.empty() && !has_env("DISPLAY") && !has_env("WAYLAND_DISPLAY")) {
    if (recording && (!args.dump_json.empty() || !args.export_path.empty())) {
      try {
        return run_replay_headless(args, std::move(*recording));
      } catch (const std::exception& e) {
        std::cerr << "actio-inspector: " << e.what() << std::endl;
        return 1;
      }
    }
    std::cerr << "actio-inspector: no display; use --screenshot under xvfb-run or set DISPLAY" << std::endl;
    return 2;
  }
  try {
    return run_inspector(args, std::move(recording));
  } catch (const std::exception& e) {
    std::cerr << "actio-inspector: " << e.what() << std::endl;
    return 2;
  }
}
