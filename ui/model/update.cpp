#include "update.hpp"

#include <chrono>

namespace actio::inspector {

namespace v1 = actio::inspect::v1;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void apply(Model& model, Update& u) {
  struct Visitor {
    Model& model;
    TargetId target;
    void operator()(Update::Connecting&) const { model.connecting(target); }
    void operator()(Update::Lost& lost) const { model.lost(target, std::move(lost.error)); }
    void operator()(v1::Snapshot& snapshot) const { model.ingest(target, snapshot); }
    void operator()(v1::Event& event) const { model.ingest(target, event); }
    void operator()(Descriptors& batch) const { model.add_descriptors(target, batch); }
    void operator()(InvocationResult& result) const { model.end_invocation(std::move(result)); }
    void operator()(Update::Refresh& refresh) const { model.refresh(target, refresh.snapshot); }
    void operator()(InvocationReply& reply) const { model.add_invocation_reply(std::move(reply)); }
  };
  std::visit(Visitor{model, u.target}, u.what);
}

}  // namespace actio::inspector
