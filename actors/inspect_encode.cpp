// Records -> actio.inspect.v1 messages and watch-event bytes (see
// detail/inspect_encode.hpp).
#include "detail/inspect_encode.hpp"

#include <algorithm>
#include <cstring>

namespace actio::inspect::encode {

namespace {

std::uint64_t endpoint_id(const reg::CallView& c) { return c.endpoint_id; }
std::uint64_t endpoint_id(const reg::CallRecord& c) { return c.endpoint ? c.endpoint->id : 0; }

std::string redacted_value(const std::string& value) { return "<redacted " + std::to_string(value.size()) + " bytes>"; }

void fill(google::protobuf::RepeatedPtrField<v1::MetadataEntry>* out, const Metadata& md, const Options& options) {
  for (const auto& [k, v] : md) {
    auto* e = out->Add();
    e->set_key(k);
    if (redacted(k, options)) {
      e->set_value(redacted_value(v));
      e->set_redacted(true);
    } else {
      e->set_value(v);
    }
  }
}

void fill(v1::InterceptorStep* out, const InterceptorRecord& r) {
  out->set_name(r.name);
  out->set_runs(r.runs);
  out->set_total_seconds(r.total.count());
  out->set_in_continuation_seconds(r.in_continuation.count());
  out->set_continuation_calls(r.continuation_calls);
  for (const auto& c : r.changes) out->add_changes(c);
}

/// A call as the proto carries it, from a snapshot's copy or a live record.
template <class C>
void fill_call(v1::Call* out, const C& c, const Options& options) {
  out->set_id(c.id);
  out->set_side(static_cast<v1::Side>(static_cast<int>(c.side)));
  out->set_shape(static_cast<v1::Shape>(static_cast<int>(c.shape)));
  out->set_method(c.method);
  out->set_peer(c.peer);
  out->set_endpoint_id(endpoint_id(c));
  out->set_loop(c.loop);
  out->set_start_time(c.start_time);
  out->set_deadline(c.deadline);
  fill(out->mutable_invocation_metadata(), c.invocation_metadata, options);
  fill(out->mutable_initial_metadata(), c.initial_metadata, options);
  fill(out->mutable_trailing_metadata(), c.trailing_metadata, options);
  out->set_messages_in(c.messages_in);
  out->set_messages_out(c.messages_out);
  out->set_bytes_in(c.bytes_in);
  out->set_bytes_out(c.bytes_out);
  out->set_half_closed(c.half_closed);
  out->set_done(c.done);
  out->set_code(static_cast<int>(c.code));
  out->set_details(c.details);
  out->set_cancelled_by(c.cancelled_by);
  out->set_end_time(c.end_time);
  for (const auto& r : c.interceptors) fill(out->add_interceptors(), r);
  if constexpr (requires { c.in_later_summary; }) out->set_in_later_summary(c.in_later_summary);
  out->set_last_event_seq(c.last_event_seq);
}

}  // namespace

void fill(v1::Call* out, const reg::CallView& call, const Options& options) { fill_call(out, call, options); }
void fill(v1::Call* out, const reg::CallRecord& call, const Options& options) { fill_call(out, call, options); }

void fill(v1::Endpoint* out, const reg::EndpointView& e) {
  out->set_id(e.id);
  out->set_kind(e.kind == reg::EndpointRecord::Kind::channel ? v1::CHANNEL : v1::SERVER_ENDPOINT);
  out->set_target(e.target);
  out->set_loop(e.loop);
  out->set_state(e.state);
  out->set_calls_started(e.calls_started);
  out->set_calls_ok(e.calls_ok);
  out->set_calls_failed(e.calls_failed);
  out->set_calls_active(e.calls_active);
  for (const auto& [t, s] : e.history) {
    auto* h = out->add_history();
    h->set_time(t);
    h->set_state(s);
  }
  for (const auto& s : e.services) out->add_services(s);
  for (const auto& a : e.tls_addresses) out->add_tls_addresses(a);
}

void fill(v1::CallSummary* out, const reg::SummaryView& s) {
  out->set_method(s.method);
  out->set_side(static_cast<v1::Side>(static_cast<int>(s.side)));
  out->set_endpoint_id(s.endpoint_id);
  out->set_loop(s.loop);
  out->set_calls(s.calls);
  out->set_messages_in(s.messages_in);
  out->set_messages_out(s.messages_out);
  out->set_bytes_in(s.bytes_in);
  out->set_bytes_out(s.bytes_out);
  for (const auto& [code, calls] : s.codes) {
    auto* c = out->add_codes();
    c->set_code(static_cast<int>(code));
    c->set_calls(calls);
  }
  for (double bound : reg::kLatencyBounds) out->add_latency_bounds(bound);
  for (auto n : s.latency) out->add_latency_counts(n);
}

void fill_event(v1::Event* out, const reg::EventRef& e, std::size_t head_bytes, const Options& options) {
  using Kind = reg::EventRef::Kind;
  // No seq: Watcher::append puts it in front, in order, under the registry's lock.
  out->set_time(e.time);
  if (e.kind == Kind::endpoint) {
    fill(out->mutable_endpoint(), *e.endpoint);
    return;
  }
  if (e.kind == Kind::summary) {
    fill(out->mutable_summary(), *e.summary);
    return;
  }
  const reg::CallRecord& c = *e.call;
  out->set_call_id(c.id);
  switch (e.kind) {
    case Kind::started:
      fill(out->mutable_started(), c, options);
      break;
    case Kind::headers:
      fill(out->mutable_headers()->mutable_metadata(), c.initial_metadata, options);
      break;
    case Kind::message_in:
    case Kind::message_out: {
      auto* m = e.kind == Kind::message_in ? out->mutable_message_in() : out->mutable_message_out();
      m->set_size(e.size);
      if (e.message) reg::append_head(*m->mutable_head(), *e.message, head_bytes);
      break;
    }
    case Kind::half_closed:
      out->set_half_closed(true);
      break;
    case Kind::status: {
      auto* s = out->mutable_status();
      s->set_code(static_cast<int>(c.code));
      s->set_details(c.details);
      fill(s->mutable_trailing_metadata(), c.trailing_metadata, options);
      s->set_cancelled_by(c.cancelled_by);
      s->set_messages_in(c.messages_in);
      s->set_messages_out(c.messages_out);
      s->set_bytes_in(c.bytes_in);
      s->set_bytes_out(c.bytes_out);
      break;
    }
    case Kind::interceptors:
      for (const auto& r : c.interceptors) fill(out->mutable_interceptors()->add_steps(), r);
      break;
    case Kind::endpoint:
    case Kind::summary:
      break;
  }
}


// -- the hand-written wire format of a watch event ---------------------------------

namespace {

/// Appends protobuf wire format to a string; proto3 rules: scalars at their
/// default are left out, a oneof's message is written even when empty.
class Wire {
 public:
  explicit Wire(std::string& out) : out_(out) {}

  void varint(std::uint64_t v) { reg::put_varint(out_, v); }
  void tag(int field, int type) { varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(type)); }
  void u64(int field, std::uint64_t v) {
    if (v == 0) return;
    tag(field, 0);
    varint(v);
  }
  void i32(int field, std::int32_t v) {  // negative: sign-extended to 64 bits, as protobuf does
    if (v == 0) return;
    tag(field, 0);
    varint(static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
  }
  void boolean(int field, bool v) {
    if (!v) return;
    tag(field, 0);
    out_.push_back('\x01');
  }
  void f64(int field, double v) {
    if (v == 0) return;
    tag(field, 1);
    char buf[8];
    std::memcpy(buf, &v, 8);  // little-endian (x86-64, as protobuf writes it)
    out_.append(buf, 8);
  }
  void bytes(int field, std::string_view v) {
    if (v.empty()) return;
    tag(field, 2);
    varint(v.size());
    out_.append(v);
  }
  /// The first `n` bytes of a message as a bytes field, copied straight
  /// from its slices (left out if they cannot be read).
  void head(int field, const grpc::ByteBuffer& message, std::size_t n) {
    std::size_t len = message.Valid() ? std::min(n, message.Length()) : 0;
    if (len == 0) return;
    std::size_t start = out_.size();
    tag(field, 2);
    varint(len);
    if (reg::append_head(out_, message, len) != len) out_.resize(start);
  }
  /// Raw bytes, no tag (after tag() + varint(size)).
  void bytes_raw(std::string_view v) { out_.append(v); }
  /// A nested message: `fill()` writes its fields; the length goes in front.
  template <class Fill>
  void message(int field, Fill fill) {
    tag(field, 2);
    std::size_t at = out_.size();
    out_.push_back('\0');
    fill();
    std::size_t len = out_.size() - at - 1;
    if (len < 0x80) {
      out_[at] = static_cast<char>(len);
    } else {
      std::string prefix;
      reg::put_varint(prefix, len);
      out_.replace(at, 1, prefix);
    }
  }

 private:
  std::string& out_;
};

void metadata(Wire& w, int field, const Metadata& md, const Options& options) {
  for (const auto& [k, v] : md) {
    w.message(field, [&] {
      w.bytes(1, k);
      if (redacted(k, options)) {
        w.bytes(2, redacted_value(v));
        w.boolean(3, true);
      } else {
        w.bytes(2, v);
      }
    });
  }
}

void interceptor_steps(Wire& w, int field, const std::vector<InterceptorRecord>& steps) {
  for (const auto& r : steps) {
    w.message(field, [&] {
      w.bytes(1, r.name);
      w.i32(2, r.runs);
      w.f64(3, r.total.count());
      w.f64(4, r.in_continuation.count());
      w.i32(5, r.continuation_calls);
      for (const auto& c : r.changes) {
        w.tag(6, 2);
        w.varint(c.size());
        w.bytes_raw(c);
      }
    });
  }
}

void call(Wire& w, const reg::CallRecord& c, const Options& options) {
  w.u64(1, c.id);
  w.u64(2, static_cast<std::uint64_t>(c.side));
  w.u64(3, static_cast<std::uint64_t>(c.shape));
  w.bytes(4, c.method);
  w.bytes(5, c.peer);
  w.u64(6, endpoint_id(c));
  w.u64(7, c.loop);
  w.f64(8, c.start_time);
  w.f64(9, c.deadline);
  metadata(w, 10, c.invocation_metadata, options);
  metadata(w, 11, c.initial_metadata, options);
  metadata(w, 12, c.trailing_metadata, options);
  w.u64(13, c.messages_in);
  w.u64(14, c.messages_out);
  w.u64(15, c.bytes_in);
  w.u64(16, c.bytes_out);
  w.boolean(17, c.half_closed);
  w.boolean(18, c.done);
  w.i32(19, static_cast<std::int32_t>(c.code));
  w.bytes(20, c.details);
  w.bytes(21, c.cancelled_by);
  w.f64(22, c.end_time);
  interceptor_steps(w, 23, c.interceptors);
}

}  // namespace

void append_event(std::string& out, const reg::EventRef& e, std::size_t head_bytes, const Options& options) {
  using Kind = reg::EventRef::Kind;
  if (e.kind == Kind::endpoint || e.kind == Kind::summary) {  // rare: the generated classes will do
    v1::Event event;
    fill_event(&event, e, head_bytes, options);
    event.AppendToString(&out);
    return;
  }
  Wire w(out);
  const reg::CallRecord& c = *e.call;
  w.f64(2, e.time);
  w.u64(3, c.id);
  switch (e.kind) {
    case Kind::started:
      w.message(10, [&] { call(w, c, options); });
      break;
    case Kind::headers:
      w.message(11, [&] { metadata(w, 1, c.initial_metadata, options); });
      break;
    case Kind::message_in:
    case Kind::message_out:
      w.message(e.kind == Kind::message_in ? 12 : 13, [&] {
        w.u64(1, e.size);
        if (e.message) w.head(2, *e.message, head_bytes);
      });
      break;
    case Kind::half_closed:
      w.tag(14, 0);
      w.varint(1);
      break;
    case Kind::status:
      w.message(15, [&] {
        w.i32(1, static_cast<std::int32_t>(c.code));
        w.bytes(2, c.details);
        metadata(w, 3, c.trailing_metadata, options);
        w.bytes(4, c.cancelled_by);
        w.u64(5, c.messages_in);
        w.u64(6, c.messages_out);
        w.u64(7, c.bytes_in);
        w.u64(8, c.bytes_out);
      });
      break;
    case Kind::interceptors:
      w.message(16, [&] { interceptor_steps(w, 1, c.interceptors); });
      break;
    case Kind::endpoint:
    case Kind::summary:
      break;
  }
}

}  // namespace actio::inspect::encode
