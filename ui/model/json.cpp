// Model::to_json: the model's view for --dump-json and the end-to-end test.
#include <cmath>
#include <cstdio>

#include "model.hpp"

namespace actio::inspector {

namespace {

/// A tiny JSON writer: enough for flat objects and arrays of them.
class Json {
 public:
  std::string take() { return std::move(out_); }

  Json& begin_object() { return open('{'); }
  Json& end_object() { return close('}'); }
  Json& begin_array() { return open('['); }
  Json& end_array() { return close(']'); }
  Json& key(std::string_view k) {
    comma();
    string(k);
    out_ += ':';
    fresh_ = true;
    return *this;
  }
  Json& value(std::string_view s) {
    comma();
    string(s);
    return *this;
  }
  Json& value(const char* s) { return value(std::string_view(s)); }
  Json& value(const std::string& s) { return value(std::string_view(s)); }
  Json& value(bool b) {
    comma();
    out_ += b ? "true" : "false";
    return *this;
  }
  Json& value(double d) {
    comma();
    if (!std::isfinite(d)) {
      out_ += "null";
      return *this;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", d);
    out_ += buf;
    return *this;
  }
  template <class I>
  requires std::is_integral_v<I> Json& value(I i) {
    comma();
    out_ += std::to_string(i);
    return *this;
  }
  /// A value that is JSON already (written as plain ASCII).
  Json& raw(std::string_view json) {
    comma();
    out_ += ascii_json(json);
    return *this;
  }
  Json& null() {
    comma();
    out_ += "null";
    return *this;
  }
  template <class T>
  Json& field(std::string_view k, const T& v) {
    return key(k).value(v);
  }

 private:
  Json& open(char c) {
    comma();
    out_ += c;
    fresh_ = true;
    return *this;
  }
  Json& close(char c) {
    out_ += c;
    fresh_ = false;
    return *this;
  }
  void comma() {
    if (!fresh_) out_ += ',';
    fresh_ = false;
  }
  void string(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20 || c >= 0x7f) {  // control bytes and non-ASCII: escaped, so the output is valid JSON
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool fresh_ = true;
};

void write_metadata(Json& j, std::string_view name, const std::vector<Metadatum>& md) {
  j.key(name).begin_array();
  for (const auto& m : md) {
    j.begin_object().field("key", m.key).field("value", m.display_value()).field("redacted", m.redacted).end_object();
  }
  j.end_array();
}

/// A message: "json" when it decodes; with `partial` (only the fields that
/// fit in its head) also "partial" and the "note" saying how much came;
/// else "hex" and the "note" saying why.
void write_json_or_hex(Json& j, const std::optional<std::string>& json, std::string_view bytes, std::string_view note,
                       bool partial = false) {
  if (json) {
    j.key("json").raw(*json);
    if (partial) j.field("partial", true).field("note", note);
  } else {
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : bytes) {
      hex += kHex[c >> 4];
      hex += kHex[c & 15];
    }
    j.field("hex", hex).field("note", note);
  }
}

void write_services(Json& j, const Schema& schema) {
  j.key("services").begin_array();
  for (const auto& svc : schema.services()) {
    j.begin_object().field("name", svc.name).field("file", svc.file);
    j.key("methods").begin_array();
    for (const auto& m : svc.methods) {
      j.begin_object()
          .field("name", m.name)
          .field("path", m.path)
          .field("input_type", m.input_type)
          .field("output_type", m.output_type)
          .field("client_streaming", m.client_streaming)
          .field("server_streaming", m.server_streaming)
          .end_object();
    }
    j.end_array().end_object();
  }
  j.end_array();
  j.key("reflection_failures").begin_object();
  for (const auto& [symbol, why] : schema.failures()) j.field(symbol, why);
  j.end_object();
  j.key("reflection_errors").begin_array();
  for (const auto& e : schema.errors()) j.value(e);
  j.end_array();
}

/// One call as the model holds it: what the table and the dump show, and
/// with `full` (export) everything else too: times, byte counts, the
/// interceptor chain and every timeline entry.
void write_call(Json& j, const Model& model, const CallRecord& call, bool full) {
  const CallRecord* c = &call;
  j.begin_object()
      .field("target", c->key.target)
      .field("id", c->key.id)
      .field("method", c->method)
      .field("side", to_string(c->side))
      .field("shape", to_string(c->shape))
      .field("peer", c->peer)
      .field("state", c->state())
      .field("live", !c->done);
  if (c->done) {
    j.field("code", code_name(c->code)).field("details", c->details).field("cancelled_by", c->cancelled_by);
  } else {
    j.key("code").null();
  }
  j.field("messages_in", c->messages_in).field("messages_out", c->messages_out);
  j.field("timeline", c->timeline.size()).field("interceptors", c->interceptors.size());
  if (full) {
    j.field("endpoint", c->endpoint_id).field("loop", c->loop);
    j.field("start_time", c->start_time);
    if (c->deadline > 0)
      j.field("deadline", c->deadline);
    else
      j.key("deadline").null();
    if (c->done)
      j.field("end_time", c->end_time);
    else
      j.key("end_time").null();
    j.field("duration", c->duration(model.now()));
    j.field("bytes_in", c->bytes_in).field("bytes_out", c->bytes_out).field("half_closed", c->half_closed);
    j.field("from_snapshot", c->from_snapshot).field("timeline_dropped", c->timeline_dropped);
  }
  write_metadata(j, "invocation_metadata", c->invocation_metadata);
  write_metadata(j, "initial_metadata", c->initial_metadata);
  write_metadata(j, "trailing_metadata", c->trailing_metadata);
  j.key("messages").begin_array();
  for (const auto& e : c->timeline) {
    if (e.kind != TimelineKind::message_in && e.kind != TimelineKind::message_out) continue;
    const MessageView& v = model.message_view(*c, e);
    j.begin_object()
        .field("dir", e.kind == TimelineKind::message_in ? "in" : "out")
        .field("request", v.request)
        .field("size", e.size)
        .field("type", v.type);
    if (full) j.field("time", e.time);
    write_json_or_hex(j, v.json, e.head, v.note, v.partial);
    j.end_object();
  }
  j.end_array();
  if (full) {
    j.key("interceptor_chain").begin_array();
    for (const auto& step : c->interceptors) {
      j.begin_object()
          .field("name", step.name)
          .field("runs", step.runs)
          .field("total_seconds", step.total_seconds)
          .field("own_seconds", step.own_seconds())
          .field("continuation_calls", step.continuation_calls);
      j.key("changes").begin_array();
      for (const auto& change : step.changes) j.value(change);
      j.end_array().end_object();
    }
    j.end_array();
    j.key("steps").begin_array();
    for (const auto& e : c->timeline) {
      j.begin_object().field("kind", to_string(e.kind)).field("time", e.time);
      if (e.kind == TimelineKind::message_in || e.kind == TimelineKind::message_out) j.field("size", e.size);
      if (e.kind == TimelineKind::status) j.field("code", code_name(e.code));
      j.end_object();
    }
    j.end_array();
  }
  j.end_object();
}

}  // namespace

std::string Model::to_json() const {
  Json j;
  j.begin_object();
  j.field("now", now_);

  j.key("targets").begin_array();
  for (std::size_t i = 0; i < target_count(); ++i) {
    const TargetInfo& t = target(static_cast<TargetId>(i));
    j.begin_object()
        .field("address", t.address)
        .field("connection", to_string(t.connection))
        .field("pid", t.pid)
        .field("process", t.process)
        .field("sessions", t.sessions)
        .field("snapshot_seq", t.snapshot_seq)
        .field("last_seq", t.last_seq)
        .field("missed_events", t.missed_events)
        .field("stale_events", t.stale_events)
        .field("orphan_events", t.orphan_events)
        .field("summarized_calls", t.summarized_calls);
    write_services(j, schema(static_cast<TargetId>(i)));
    j.end_object();
  }
  j.end_array();

  const auto& table = rows();
  j.key("counts").begin_object();
  j.field("calls", call_count()).field("live", live_count()).field("done", call_count() - live_count());
  j.field("shown", table.size());
  j.end_object();

  j.key("calls").begin_array();
  for (const CallRecord* c : table) write_call(j, *this, *c, false);
  j.end_array();

  j.key("methods").begin_array();
  for (const auto& row : method_stats()) {
    const MethodStats& s = row.stats;
    j.begin_object().field("method", row.method).field("side", to_string(row.side));
    j.field("calls", s.started()).field("finished", s.finished());
    j.field("failed", s.failed()).field("calls_per_second", s.calls_per_second(now_, 10));
    j.key("errors").begin_object();
    for (const auto& [code, n] : s.errors()) j.field(code_name(code), n);
    j.end_object();
    j.key("latency").begin_object();
    for (std::size_t b = 0; b < kLatencyBuckets; ++b)
      if (s.latency()[b]) j.field(latency_bucket_label(b), s.latency()[b]);
    j.end_object();
    j.end_object();
  }
  j.end_array();

  j.key("endpoints").begin_array();
  for (const EndpointRecord* e : endpoints()) {
    j.begin_object()
        .field("target", e->target_id)
        .field("id", e->id)
        .field("kind", to_string(e->kind))
        .field("address", e->target)
        .field("state", e->state)
        .field("calls_started", e->calls_started)
        .field("history", e->history.size());
    j.key("tls_addresses").begin_array();
    for (const auto& a : e->tls_addresses) j.value(a);
    j.end_array().end_object();
  }
  j.end_array();

  j.key("invocations").begin_array();
  for (const Invocation& inv : invocations_) {
    j.begin_object()
        .field("id", inv.id)
        .field("target", inv.request.target)
        .field("address", inv.request.address)
        .field("method", inv.request.method)
        .field("tls", inv.request.security.tls)
        .field("requests", inv.requests)
        .field("sent", inv.sent)
        .field("done", inv.done)
        .field("not_sent", inv.not_sent);
    if (inv.done && !inv.not_sent)
      j.field("code", code_name(inv.code));
    else
      j.key("code").null();
    j.field("details", inv.details);
    j.key("replies").begin_array();
    for (const Reply& r : inv.replies) {
      j.begin_object();
      write_json_or_hex(j, r.json, r.bytes, r.note);
      j.end_object();
    }
    j.end_array().end_object();
  }
  j.end_array();

  j.key("loops").begin_array();
  for (const LoopRecord* l : loops()) {
    j.begin_object().field("target", l->target_id).field("index", l->index).field("name", l->name);
    j.field("ready", l->ready_queue).field("inbox", l->inbox).field("pending_ops", l->pending_ops);
    j.key("actors").begin_array();
    for (const ActorRecord& a : l->actors) {
      j.begin_object().field("id", a.id).field("kind", a.kind).field("name", a.name);
      j.field("waiting", a.waiting).field("handled", a.handled).end_object();
    }
    j.end_array().end_object();
  }
  j.end_array();

  j.end_object();
  return j.take();
}

std::string Model::export_json() const {
  Json j;
  j.begin_object();
  j.field("format", "actio-inspector export").field("version", 1).field("now", now_);
  j.key("filter").begin_object();
  j.field("method", filter_.method);
  if (filter_.side)
    j.field("side", to_string(*filter_.side));
  else
    j.key("side").null();
  j.field("state", filter_.state == StateFilter::live ? "live" : filter_.state == StateFilter::done ? "done" : "all");
  if (filter_.code)
    j.field("code", code_name(*filter_.code));
  else
    j.key("code").null();
  if (filter_.target)
    j.field("target", *filter_.target);
  else
    j.key("target").null();
  j.end_object();
  j.key("targets").begin_array();
  for (std::size_t i = 0; i < target_count(); ++i) {
    const TargetInfo& t = target(static_cast<TargetId>(i));
    j.begin_object()
        .field("id", i)
        .field("address", t.address)
        .field("process", t.process)
        .field("pid", t.pid)
        .field("connection", to_string(t.connection))
        .end_object();
  }
  j.end_array();
  const auto& table = rows();
  j.field("count", table.size());
  j.key("calls").begin_array();
  for (const CallRecord* c : table) write_call(j, *this, *c, true);
  j.end_array();
  j.end_object();
  return j.take();
}

}  // namespace actio::inspector
