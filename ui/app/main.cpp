// actio-inspector: attaches to Actio processes that serve actio.inspect.v1
// and shows their calls, channels, servers, loops and per-method stats.
//
//   actio-inspector --target 127.0.0.1:PORT [--target ...]
//                   [--screenshot out.png --frames N] [--dump-json out.json]
//                   [--width W --height H]
//
// Threads: the Connector's network thread runs the Actio clients and queues
// what arrives; this (UI) thread drains the queue into the Model at the start
// of every frame, then draws it. Only this thread touches the model.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "connector.hpp"
#include "model.hpp"
#include "views.hpp"
#include "window.hpp"

using namespace actio::inspector;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_quit{false};
extern "C" void on_signal(int) { g_quit = true; }

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

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
};

/// --screenshot waits for this: every target has its snapshot and nothing
/// arrived for a moment (the first events), or 3 s passed.
bool ready_to_capture(const Model& model, Clock::duration quiet_for, Clock::duration waited) {
  if (waited >= std::chrono::seconds(3)) return true;
  for (std::size_t i = 0; i < model.target_count(); ++i)
    if (!model.target(static_cast<TargetId>(i)).has_snapshot) return false;
  return quiet_for >= std::chrono::milliseconds(150);
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

int run_inspector(const Args& args) {
  const bool headless = !args.screenshot.empty();
  Model model;
  for (const auto& t : args.targets) model.add_target(t);
  ConnectorOptions options;
  options.token = args.token;
  Connector connector(args.targets, options);

  Window window({.width = args.width, .height = args.height, .visible = !headless, .vsync = !headless});
  views::ViewState view;
  ConnectionLog log;
  auto started = Clock::now(), last_update = started;
  bool capturing = !headless;
  int rendered = 0;
  bool was_paused = false;

  while (!window.should_close() && !g_quit) {
    auto frame_start = Clock::now();
    window.poll();
    if (!view.paused) {
      if (connector.drain(model) > 0) last_update = Clock::now();
      model.set_now(unix_now());
    }
    view.waiting = connector.waiting();
    if (args.verbose) log.update(model);
    if (was_paused && !view.paused) last_update = Clock::now();
    was_paused = view.paused;

    if (!capturing) {
      auto t = Clock::now();
      if (!ready_to_capture(model, t - last_update, t - started)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      capturing = true;
      // A picture shows more with a call open: --select's, or the newest.
      if (args.select)
        model.select_call({0, args.select});
      else if (!model.selection().call && !model.rows().empty())
        model.select_call(model.rows().front()->key);
      view.open_tab = args.tab;
    }

    window.begin_frame();
    views::draw_inspector(model, view);
    window.render();
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

  connector.stop();
  if (!args.dump_json.empty()) {
    if (!view.paused) connector.drain(model);
    model.set_now(unix_now());
    if (!write_file(args.dump_json, model.to_json())) {
      std::cerr << "actio-inspector: cannot write " << args.dump_json << std::endl;
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  CLI::App app{"actio-inspector: live calls, channels, servers and loops of Actio processes"};
  app.add_option("--target", args.targets, "host:port of a process serving actio.inspect.v1 (repeatable)")->required();
  app.add_option("--screenshot", args.screenshot, "render offscreen, write the window to this PNG and exit");
  app.add_option("--frames", args.frames, "frames to render before the screenshot")->check(CLI::PositiveNumber);
  app.add_option("--dump-json", args.dump_json, "write the model's view as JSON at exit");
  app.add_option("--width", args.width, "window width")->check(CLI::PositiveNumber);
  app.add_option("--height", args.height, "window height")->check(CLI::PositiveNumber);
  app.add_flag("--verbose", args.verbose, "print connection changes to stderr");
  app.add_option("--token", args.token, "bearer token the processes ask for (default: $ACTIO_INSPECT_TOKEN)")
      ->envname("ACTIO_INSPECT_TOKEN");
  app.add_option("--select", args.select, "--screenshot: show this call (id, first target) instead of the newest");
  app.add_option("--tab", args.tab, "--screenshot: the call's tab to show")
      ->check(CLI::IsMember({"Context", "Messages", "Timeline", "Interceptors"}));
  CLI11_PARSE(app, argc, argv);

  auto has_env = [](const char* name) {
    const char* v = std::getenv(name);
    return v && *v;
  };
  if (args.screenshot.empty() && !has_env("DISPLAY") && !has_env("WAYLAND_DISPLAY")) {
    std::cerr << "actio-inspector: no display; use --screenshot under xvfb-run or set DISPLAY" << std::endl;
    return 2;
  }
  // The inspector is an Actio process too: it must not start inspection of
  // itself (on the port meant for the process it watches) from the shell's
  // ACTIO_INSPECT.
  unsetenv("ACTIO_INSPECT");
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    return run_inspector(args);
  } catch (const std::exception& e) {
    std::cerr << "actio-inspector: " << e.what() << std::endl;
    return 2;
  }
}
