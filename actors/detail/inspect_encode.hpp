#pragma once
// How the inspection's records become actio.inspect.v1 messages: the
// protobuf objects a Snapshot is made of, and the bytes of one watch event.
//
// A watch event is serialized on the thread that publishes it, so that path
// is written out by hand (protobuf's wire format, field by field, no objects
// built); fill_event() builds the same event with the generated classes, and
// inspect_encode_test checks the two agree for every kind.

#include <string>

#include "actio/inspect.hpp"
#include "detail/registry.hpp"
#include "inspect.pb.h"

namespace actio::inspect::encode {

namespace v1 = ::actio::inspect::v1;
namespace reg = ::actio::detail::inspect;

void fill(v1::Call* out, const reg::CallView& call, const Options& options);
void fill(v1::Call* out, const reg::CallRecord& call, const Options& options);
void fill(v1::Endpoint* out, const reg::EndpointView& endpoint);
void fill(v1::CallSummary* out, const reg::SummaryView& summary);
/// The event with the generated classes (no seq: Watcher::append adds it).
void fill_event(v1::Event* out, const reg::EventRef& event, std::size_t head_bytes, const Options& options);
/// Appends the serialized event (no seq) to `out`, as fill_event() would
/// serialize, without building it.
void append_event(std::string& out, const reg::EventRef& event, std::size_t head_bytes, const Options& options);

/// The watchers' EventEncoder for one inspection (its redaction options).
class Encoder final : public reg::EventEncoder {
 public:
  explicit Encoder(Options options) : options_(std::move(options)) {}
  void encode(const reg::EventRef& event, std::size_t head_bytes, std::string& out) const override {
    append_event(out, event, head_bytes, options_);
  }

 private:
  Options options_;
};

}  // namespace actio::inspect::encode
