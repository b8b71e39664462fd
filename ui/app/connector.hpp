#pragma once
/// Connector: the inspector's network side.
///
/// One thread of its own runs an Actio event loop with one client per target:
/// Watch (started first, so nothing falls between the two), then Snapshot,
/// then every event of the watch, reconnecting with a short backoff when the
/// process goes away or restarts. A watch that was not sent some events (a
/// gap in their seq, or its batches count events the process dropped because
/// this watcher fell behind) is replaced at once by a fresh watch and
/// snapshot of that target, as after an overflowing queue. What arrives goes into a mutex-guarded queue;
/// the UI thread moves it into the Model once per frame (drain), so the model
/// has a single owner and the frame loop never waits on the network.
///
/// Reflection: after each snapshot, and whenever an event names a service
/// not asked about yet (a server's services, the service of a call's method),
/// the connector asks the process's own inspection port for the descriptors
/// (grpc.reflection.v1alpha, file_containing_symbol) and queues them for the
/// model. Invocations: the UI hands it an OutgoingCall (the request already
/// encoded by the model); it calls the method with the raw bytes and queues
/// the status and the replies.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "actio/options.hpp"
#include "inspect.pb.h"
#include "model.hpp"
#include "update.hpp"

namespace actio::inspector {

struct ConnectorOptions {
  std::uint32_t message_head_bytes = 256;  ///< WatchRequest.message_head_bytes
  /// WatchRequest.max_calls_per_second: calls sent one by one per second and
  /// loop of a process; the rest only counted (per method). 0: every call.
  std::uint32_t max_calls_per_second = 1000;
  /// Sent as "authorization: Bearer <token>" when set (a process started
  /// with ACTIO_INSPECT_TOKEN asks for it).
  std::string token;
  /// Updates held for the UI (it stops draining while paused). Past this, the
  /// queue is dropped and every target takes a fresh snapshot once the UI
  /// drains again: memory stays bounded and the model stays right.
  std::size_t max_waiting = 200000;
  Duration snapshot_timeout = std::chrono::seconds(1);  ///< waiting for a connection included
  /// A target whose watch lost events resyncs at once, but not again
  /// within this interval (the next waits for it).
  Duration min_resync_interval = std::chrono::seconds(1);
  Duration backoff_min = std::chrono::milliseconds(100);
  Duration backoff_max = std::chrono::milliseconds(250);
  /// While attached, loops, actors and counters are asked for this often
  /// (SnapshotRequest.skip_calls); zero: never.
  Duration refresh_interval = std::chrono::seconds(1);
  /// Fetch descriptors by server reflection (services, JSON messages).
  bool reflection = true;
  Duration reflection_timeout = std::chrono::seconds(5);
};

class Connector {
 public:
  // -- constructors ---------------------------------------------------------

  /// Starts the network thread; target i of `targets` is TargetId i.
  explicit Connector(std::vector<std::string> targets, ConnectorOptions options = {});
  /// stop()s.
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // -- UI thread ------------------------------------------------------------

  /// Moves everything that arrived into `model`; returns how many updates.
  std::size_t drain(Model& model);
  /// Takes everything that arrived (drain without a model).
  std::vector<Update> take();
  /// Updates waiting to be drained.
  std::size_t waiting() const;
  /// Every target drops its watch and takes a fresh snapshot.
  void resync();
  /// Asks target `id` for the descriptors of `symbol` (a service), unless
  /// that was asked already in this process's life; the answer comes as a
  /// Descriptors update (found or failed).
  void describe(TargetId id, std::string symbol);
  /// Calls `call.method` on `call.address` with the encoded request (the
  /// requests in order, then a half-close, for client-streaming and bidi
  /// methods), over TLS when `call.security.tls`; each reply of a response
  /// stream comes as an InvocationReply update as it arrives, the outcome as
  /// an InvocationResult update (up to 4 invocations at once).
  void invoke(OutgoingCall call);
  /// Cancels the clients and joins the thread. Idempotent.
  void stop();

  struct Shared;  // what the network thread and the UI thread share

 private:
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace actio::inspector
