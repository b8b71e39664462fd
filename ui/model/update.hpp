#pragma once
/// Update: one thing the inspector's network side received from a target (or
/// a recording replays), and how it applies to the model. Plain data, no
/// network: the Connector makes them, the recording writes and reads them.

#include <variant>

#include "inspect.pb.h"
#include "model.hpp"

namespace actio::inspector {

struct Update {
  struct Connecting {};
  struct Lost {
    std::string error;
  };
  /// A snapshot without calls, polled while attached (loops, actors, counters).
  struct Refresh {
    inspect::v1::Snapshot snapshot;
  };
  TargetId target = 0;
  std::variant<Connecting, Lost, inspect::v1::Snapshot, inspect::v1::Event, Descriptors, InvocationResult, Refresh,
               InvocationReply>
      what;
  /// When it arrived at the inspector (unix seconds; 0: not stamped).
  double time = 0;
};

/// Applies one update to the model.
void apply(Model& model, Update& update);

/// Now, in unix seconds (what Update::time and the recordings hold).
double unix_now();

}  // namespace actio::inspector
