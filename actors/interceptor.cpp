// Client interceptors: the chain runner and the intercepted-call proxy (see
// detail/interception.hpp for how the pieces fit).

#include <algorithm>
#include <cstdio>
#include <typeinfo>

#include "actio/channel.hpp"
#include "actio/interceptor.hpp"
#include "detail/channel_state.hpp"
#include "detail/client_call.hpp"
#include "detail/interception.hpp"
#include "detail/interceptor_changes.hpp"

namespace actio {
namespace detail {

namespace {
constexpr const char* kLocalCancel = "Locally cancelled by application!";
using Clock = std::chrono::steady_clock;

const std::shared_ptr<const Codec<Message>>& message_codec() {
  static const auto codec = std::make_shared<const Codec<Message>>();
  return codec;
}

std::string show_timeout(const std::optional<Duration>& t) {
  if (!t) return "none";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", t->count());
  return buf;
}

/// Notes what an interceptor changed between the details it got and the
/// ones it passed on (each change once).
void note_changes(const ClientCallDetails& before, const ClientCallDetails& after, std::vector<std::string>& out) {
  auto note = [&out](std::string s) { note_change(out, std::move(s)); };
  if (before.method != after.method) note("method " + before.method + " -> " + after.method);
  if (before.timeout != after.timeout) note("timeout " + show_timeout(before.timeout) + " -> " + show_timeout(after.timeout));
  note_metadata_changes(before.metadata, after.metadata, out);
  if (before.credentials != after.credentials) note("credentials");
  if (before.wait_for_ready != after.wait_for_ready) note("wait_for_ready");
  if (before.compression != after.compression) note("compression");
}
}  // namespace

void note_change(std::vector<std::string>& out, std::string change) {
  if (std::find(out.begin(), out.end(), change) == out.end()) out.push_back(std::move(change));
}

void note_metadata_changes(const Metadata& before, const Metadata& after, std::vector<std::string>& out) {
  for (const auto& [k, v] : after) {
    if (!before.contains(k)) {
      note_change(out, "metadata +" + k);
    } else if (before.get_all(k) != after.get_all(k)) {
      note_change(out, "metadata ~" + k);
    }
  }
  for (const auto& [k, v] : before) {
    if (!after.contains(k)) note_change(out, "metadata -" + k);
  }
}

/// One intercepted invocation: the channel, and what each interceptor did.
struct Chain {
  std::shared_ptr<ChannelState> channel;
  std::vector<InterceptorRecord> records;
};

namespace {

/// What one interceptor's run remembers for its continuation.
struct Layer {
  ClientCallDetails received;
  Call last;  // the last call the continuation gave
};

// -- the four arities -------------------------------------------------------------

struct UnaryUnaryArity {
  using Interceptor = UnaryUnaryClientInterceptor;
  using Request = Message;
  using CallT = UnaryUnaryCall<Message>;
  using Continuation = UnaryUnaryContinuation;
  using Result = UnaryResult;
  static constexpr auto shape = ClientCall::Shape::unary_unary;
  static const std::vector<Interceptor*>& list(const InterceptorLists& l) { return l.unary_unary; }
  static Task<Result> intercept(Interceptor* i, Continuation c, ClientCallDetails d, Request r) {
    return i->intercept_unary_unary(std::move(c), std::move(d), std::move(r));
  }
  static CallT typed(Call c) { return CallT((add_ref(c.get()), c.get()), message_codec()); }
};

struct UnaryStreamArity {
  using Interceptor = UnaryStreamClientInterceptor;
  using Request = Message;
  using CallT = UnaryStreamCall<Message>;
  using Continuation = UnaryStreamContinuation;
  using Result = StreamResult;
  static constexpr auto shape = ClientCall::Shape::unary_stream;
  static const std::vector<Interceptor*>& list(const InterceptorLists& l) { return l.unary_stream; }
  static Task<Result> intercept(Interceptor* i, Continuation c, ClientCallDetails d, Request r) {
    return i->intercept_unary_stream(std::move(c), std::move(d), std::move(r));
  }
  static CallT typed(Call c) { return CallT((add_ref(c.get()), c.get()), message_codec()); }
};

struct StreamUnaryArity {
  using Interceptor = StreamUnaryClientInterceptor;
  using Request = Generator<Message>;
  using CallT = StreamUnaryCall<Message, Message>;
  using Continuation = StreamUnaryContinuation;
  using Result = UnaryResult;
  static constexpr auto shape = ClientCall::Shape::stream_unary;
  static const std::vector<Interceptor*>& list(const InterceptorLists& l) { return l.stream_unary; }
  static Task<Result> intercept(Interceptor* i, Continuation c, ClientCallDetails d, Request r) {
    return i->intercept_stream_unary(std::move(c), std::move(d), std::move(r));
  }
  static CallT typed(Call c) { return CallT((add_ref(c.get()), c.get()), message_codec(), message_codec()); }
};

struct StreamStreamArity {
  using Interceptor = StreamStreamClientInterceptor;
  using Request = Generator<Message>;
  using CallT = StreamStreamCall<Message, Message>;
  using Continuation = StreamStreamContinuation;
  using Result = StreamResult;
  static constexpr auto shape = ClientCall::Shape::stream_stream;
  static const std::vector<Interceptor*>& list(const InterceptorLists& l) { return l.stream_stream; }
  static Task<Result> intercept(Interceptor* i, Continuation c, ClientCallDetails d, Request r) {
    return i->intercept_stream_stream(std::move(c), std::move(d), std::move(r));
  }
  static CallT typed(Call c) { return CallT((add_ref(c.get()), c.get()), message_codec(), message_codec()); }
};

/// A proxy call of `shape` for an interceptor's own answer.
Call new_proxy(const std::shared_ptr<Chain>& chain, const std::string& method, ClientCall::Shape shape) {
  auto* q = new ClientCall(chain->channel, method, shape, CallOptions{});
  q->make_proxy();
  return Call(q);
}

/// The end of the chain: the RPC itself, with the details as they are now.
template <class A>
Call start_rpc(const std::shared_ptr<Chain>& chain, const ClientCallDetails& details, typename A::Request request) {
  CallOptions options;
  options.timeout = details.timeout;
  options.metadata = details.metadata;
  if (details.credentials) options.credentials = details.credentials;
  options.wait_for_ready = details.wait_for_ready;
  options.compression = details.compression;
  if constexpr (std::is_same_v<typename A::Request, Message>) {
    return Call(start_call_direct(chain->channel, details.method, A::shape, &encode_thunk<Message>, &request,
                                  message_codec().get(), options));
  } else {
    ClientCall* c = start_call_direct(chain->channel, details.method, A::shape, nullptr, nullptr, nullptr, options);
    typename A::CallT handle(c, message_codec(), message_codec());
    set_iterator_driven(c);
    feed_generator<Message>(handle, std::move(request), message_codec());
    return handle;
  }
}

template <class A>
Task<Call> run_layer(std::shared_ptr<Chain> chain, std::size_t i, ClientCallDetails details,
                     typename A::Request request);

/// The continuation of interceptor `i`: runs the rest of the chain.
template <class A>
Task<typename A::CallT> continue_layer(std::shared_ptr<Chain> chain, std::size_t i, std::shared_ptr<Layer> layer,
                                       ClientCallDetails details, typename A::Request request) {
  auto& record = chain->records[i];
  note_changes(layer->received, details, record.changes);
  ++record.continuation_calls;
  struct Timer {
    InterceptorRecord& r;
    Clock::time_point start = Clock::now();
    ~Timer() { r.in_continuation += Clock::now() - start; }
  } timer{record};
  Call call = co_await run_layer<A>(chain, i + 1, std::move(details), std::move(request));
  layer->last = call;
  co_return A::typed(std::move(call));
}

/// Turns interceptor `i`'s answer into a call.
template <class A>
Call to_call(const std::shared_ptr<Chain>& chain, Layer& layer, typename A::Result result, InterceptorRecord& record) {
  auto& v = result.get();
  if (Call* c = std::get_if<Call>(&v)) {
    if (!c->get()) throw UsageError("interceptor \"" + record.name + "\" returned an empty call");
    if (layer.last.get() != c->get()) record.changes.emplace_back("returned another call");
    return std::move(*c);
  }
  Call proxy = new_proxy(chain, layer.received.method, A::shape);
  Interception& ic = *proxy.get()->interception();
  if constexpr (std::is_same_v<typename A::Result, UnaryResult>) {
    record.changes.emplace_back("answered without an RPC");
    ic.bind_response(std::move(std::get<Message>(v)));
  } else {
    record.changes.emplace_back("replaced the response stream");
    ic.bind_generator(std::move(std::get<Generator<Message>>(v)), layer.last);
  }
  return proxy;
}

template <class A>
Task<Call> run_layer(std::shared_ptr<Chain> chain, std::size_t i, ClientCallDetails details,
                     typename A::Request request) {
  const auto& list = A::list(chain->channel->interceptors());
  if (i == list.size()) co_return start_rpc<A>(chain, details, std::move(request));
  auto layer = std::make_shared<Layer>();
  layer->received = details;
  auto& record = chain->records[i];
  if (record.name.empty()) record.name = list[i]->name();
  ++record.runs;
  typename A::Continuation continuation = [chain, i, layer](ClientCallDetails d, typename A::Request r) {
    return continue_layer<A>(chain, i, layer, std::move(d), std::move(r));
  };
  auto start = Clock::now();
  std::optional<typename A::Result> result;
  try {
    result.emplace(co_await A::intercept(list[i], std::move(continuation), std::move(details), std::move(request)));
  } catch (const CancelledError&) {
    record.total += Clock::now() - start;
    record.changes.emplace_back("cancelled");
    throw;
  } catch (const std::exception& e) {
    record.total += Clock::now() - start;
    record.changes.emplace_back(std::string("failed: ") + e.what());
    throw;
  }
  record.total += Clock::now() - start;
  co_return to_call<A>(chain, *layer, std::move(*result), record);
}

template <class A>
std::size_t chain_length(const ChannelState& channel) {
  return A::list(channel.interceptors()).size();
}

}  // namespace

// -- sorting ----------------------------------------------------------------------

InterceptorLists sort_interceptors(const std::vector<std::shared_ptr<ClientInterceptor>>& interceptors) {
  InterceptorLists out;
  for (std::size_t n = 0; n < interceptors.size(); ++n) {
    ClientInterceptor* i = interceptors[n].get();
    if (!i) throw UsageError("ChannelOptions::interceptors[" + std::to_string(n) + "] is null");
    bool any = false;
    if (auto* x = dynamic_cast<UnaryUnaryClientInterceptor*>(i)) out.unary_unary.push_back(x), any = true;
    if (auto* x = dynamic_cast<UnaryStreamClientInterceptor*>(i)) out.unary_stream.push_back(x), any = true;
    if (auto* x = dynamic_cast<StreamUnaryClientInterceptor*>(i)) out.stream_unary.push_back(x), any = true;
    if (auto* x = dynamic_cast<StreamStreamClientInterceptor*>(i)) out.stream_stream.push_back(x), any = true;
    if (!any) {
      throw UsageError("ChannelOptions::interceptors[" + std::to_string(n) + "] (\"" + i->name() +
                       "\") implements no client interceptor interface");
    }
    out.all.push_back(interceptors[n]);
  }
  return out;
}

bool intercepts(const ChannelState& channel, ClientCall::Shape shape) {
  const auto& l = channel.interceptors();
  switch (shape) {
    case ClientCall::Shape::unary_unary: return !l.unary_unary.empty();
    case ClientCall::Shape::unary_stream: return !l.unary_stream.empty();
    case ClientCall::Shape::stream_unary: return !l.stream_unary.empty();
    case ClientCall::Shape::stream_stream: return !l.stream_stream.empty();
  }
  return false;
}

ClientCall* start_intercepted(const std::shared_ptr<ChannelState>& channel, const std::string& method,
                              ClientCall::Shape shape, EncodeFn encode, const void* request, const void* codec,
                              const CallOptions& options) {
  auto* p = new ClientCall(channel, method, shape, options);
  p->make_proxy();
  Interception& ic = *p->interception();
  ClientCallDetails details;
  details.method = method;
  details.timeout = options.timeout;
  if (const Metadata* md = options.metadata.get()) details.metadata = *md;
  if (options.credentials) details.credentials = *options.credentials.get();
  details.wait_for_ready = options.wait_for_ready;
  details.compression = options.compression;
  auto chain = std::make_shared<Chain>();
  chain->channel = channel;
  Message payload;
  if (encode) {
    try {
      encode(request, codec, payload.buffer());
    } catch (...) {
      p->cancel("Failed to serialize request");
      p->release();
      throw;
    }
  }
  p->inspect(options);
  if (encode && p->record()) inspect::message(*p->record(), false, payload.buffer());
  switch (shape) {
    case ClientCall::Shape::unary_unary:
      chain->records.resize(chain_length<UnaryUnaryArity>(*channel));
      ic.drive(chain, run_layer<UnaryUnaryArity>(chain, 0, std::move(details), std::move(payload)));
      break;
    case ClientCall::Shape::unary_stream:
      chain->records.resize(chain_length<UnaryStreamArity>(*channel));
      ic.drive(chain, run_layer<UnaryStreamArity>(chain, 0, std::move(details), std::move(payload)));
      break;
    case ClientCall::Shape::stream_unary:
      chain->records.resize(chain_length<StreamUnaryArity>(*channel));
      ic.drive(chain, run_layer<StreamUnaryArity>(chain, 0, std::move(details), drain_requests(ic.requests())));
      break;
    case ClientCall::Shape::stream_stream:
      chain->records.resize(chain_length<StreamStreamArity>(*channel));
      ic.drive(chain, run_layer<StreamStreamArity>(chain, 0, std::move(details), drain_requests(ic.requests())));
      break;
  }
  return p;
}

// -- the request queue --------------------------------------------------------------

Generator<Message> drain_requests(std::shared_ptr<RequestQueue> queue) {
  for (;;) {
    if (queue->slot) {
      Message m = std::move(*queue->slot);
      queue->slot.reset();
      queue->taken.set();
      co_yield std::move(m);
      continue;
    }
    if (queue->closed) co_return;
    queue->data.clear();
    co_await queue->data.wait();
  }
}

// -- Interception -------------------------------------------------------------------

void Interception::pin() noexcept { ++self_->ops_pending_; }

void Interception::unpin() noexcept {
  --self_->ops_pending_;
  ++self_->handle_refs_;
  self_->release();  // may delete the proxy (and this)
}

void Interception::drive(std::shared_ptr<Chain> chain, Task<Call> task) {
  chain_ = std::move(chain);  // keeps the records for Call::interceptors()
  drive_task(self_, std::move(task));
}

Detached Interception::drive_task(ClientCall* self, Task<Call> task) {
  Interception& ic = *self->interception();
  ic.pin();
  ic.chain_task_ = &task;
  std::exception_ptr error;
  Call answer;
  try {
    answer = co_await task;
  } catch (...) {
    error = std::current_exception();
  }
  ic.chain_task_ = nullptr;
  if (auto* rec = self->record()) inspect::interceptors(*rec, ic.records());
  if (error) {
    ic.fail(error);
  } else if (self->done()) {
    cancel_call(answer.get());  // the proxy ended first (cancelled): the answer is orphaned
  } else {
    ic.bind_call(std::move(answer));
  }
  ic.unpin();
}

void Interception::bind_call(Call inner) {
  mode_ = Mode::call;
  inner_ = std::move(inner);
  bound_.set();
  if (status_wanted_) inner_.get()->fetch_status();
  follow();
}

void Interception::bind_response(Message response) {
  mode_ = Mode::response;
  ClientCall& p = *self_;
  p.response_ = response.buffer();
  p.response_ready_ = true;
  p.code_ = StatusCode::OK;
  p.details_.clear();
  if (p.rec_) inspect::message(*p.rec_, true, p.response_);
  bound_.set();
  p.set_done();
}

void Interception::bind_generator(Generator<Message> responses, Call status_call) {
  mode_ = Mode::generator;
  responses_.emplace(std::move(responses));
  inner_ = std::move(status_call);
  bound_.set();
  if (status_wanted_ && inner_.get()) inner_.get()->fetch_status();
  follow();
}

void Interception::fail(std::exception_ptr error) {
  ClientCall& p = *self_;
  if (p.done_) return;
  mode_ = Mode::failed;
  try {
    std::rethrow_exception(error);
  } catch (const AioRpcError& e) {
    p.code_ = e.code();
    p.details_ = e.details();
    p.initial_md_ = e.initial_metadata();
    p.trailing_md_ = e.trailing_metadata();
    p.debug_ = e.debug_error_string();
    error_ = error;
  } catch (const CancelledError& e) {
    p.code_ = StatusCode::CANCELLED;
    p.details_ = e.what();
    p.local_cancel_ = true;
  } catch (const std::exception& e) {
    p.code_ = StatusCode::UNKNOWN;
    p.details_ = e.what();
    error_ = error;
  } catch (...) {
    p.code_ = StatusCode::UNKNOWN;
    p.details_ = "Unknown exception in a client interceptor";
    error_ = error;
  }
  bound_.set();
  p.set_done();
}

void Interception::follow() {
  if (inner_.get()) follow_task(self_, inner_);
}

Detached Interception::follow_task(ClientCall* self, Call inner) {
  Interception& ic = *self->interception();
  ic.pin();
  try {
    if (inner.get()->shape_ == ClientCall::Shape::stream_unary) {
      co_await await_unary_response(inner.get());  // drives the response in
    } else {
      co_await inner.get()->done_event().wait();
    }
  } catch (...) {
    // The status tells.
  }
  if (inner.get()->done()) ic.finish_from_inner();
  ic.unpin();
}

void Interception::finish_from_inner() {
  ClientCall& p = *self_;
  ClientCall* x = inner_.get();
  if (p.done_ || !x || !x->done_) return;
  p.code_ = x->code_;
  p.details_ = x->details_;
  p.debug_ = x->debug_;
  p.initial_md_ = x->initial_metadata();
  p.trailing_md_ = x->trailing_metadata();
  p.local_cancel_ = x->local_cancel_;
  if (x->icpt_ && x->icpt_->error_) error_ = x->icpt_->error_;
  if (p.code_ == StatusCode::OK &&
      (p.shape_ == ClientCall::Shape::unary_unary || p.shape_ == ClientCall::Shape::stream_unary)) {
    p.response_ = x->response_;
    if (p.rec_) inspect::message(*p.rec_, true, p.response_);
    // A plain unary-unary call keeps its response without the flag.
    p.response_ready_ = x->response_ready_ || (x->shape_ == ClientCall::Shape::unary_unary && !x->icpt_);
  }
  p.set_done();
}

Task<void> Interception::wait_bound() {
  if (!bound_.is_set()) co_await CallWaiter(bound_, self_);
}

Task<void> Interception::write(Message message) {
  ClientCall* p = self_;
  Call keep((add_ref(p), p));
  auto queue = queue_;
  struct Clear {
    bool& flag;
    ~Clear() { flag = false; }
  } clear{p->write_pending_};
  auto refuse = [this] {
    if (error_) std::rethrow_exception(error_);  // an interceptor's exception comes out of write() too
    throw InvalidStateError("RPC already finished.");
  };
  if (p->done_ || queue->closed) refuse();
  queue->slot = std::move(message);
  queue->taken.clear();
  queue->data.set();
  co_await CallWaiter(queue->taken, p);
  if (queue->slot) {  // never taken: the call ended first
    queue->slot.reset();
    refuse();
  }
}

void Interception::close_requests() {
  queue_->closed = true;
  queue_->data.set();
}

Task<bool> Interception::read() {
  ClientCall* p = self_;
  Call keep((add_ref(p), p));
  co_await wait_bound();
  if (mode_ == Mode::call) {
    bool got = false;
    try {
      got = co_await read_next(inner_.get(), false);
    } catch (...) {
      finish_from_inner();
      throw;
    }
    if (got) {
      p->read_buf_ = inner_.get()->read_buffer();
      if (p->rec_) inspect::message(*p->rec_, true, p->read_buf_);
      co_return true;
    }
    finish_from_inner();
    throw_if_failed(p);
    co_return false;
  }
  if (mode_ == Mode::generator) {
    std::optional<Message> m;
    std::exception_ptr error;
    try {
      m = co_await responses_->next();
    } catch (const CancelledError&) {
      p->cancel(kLocalCancel);
      throw;
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      fail(error);
      std::rethrow_exception(error);
    }
    if (m) {
      p->read_buf_ = m->buffer();
      if (p->rec_) inspect::message(*p->rec_, true, p->read_buf_);
      co_return true;
    }
    if (ClientCall* x = inner_.get()) {
      x->fetch_status();
      if (!x->done()) co_await CallWaiter(x->done_event(), x);
      finish_from_inner();
    } else if (!p->done_) {
      p->code_ = StatusCode::OK;
      p->set_done();
    }
  }
  // pending (the proxy ended before binding), response, failed, or the end
  throw_if_failed(p);
  co_return false;
}

void Interception::fetch_status() {
  if (mode_ == Mode::pending) {
    status_wanted_ = true;
  } else if (inner_.get()) {
    inner_.get()->fetch_status();
  }
}

Task<Metadata> Interception::initial_metadata() {
  Call keep((add_ref(self_), self_));
  if (!bound_.is_set()) co_await bound_.wait();
  if (inner_.get()) {
    Call inner = inner_;
    co_return co_await inner.initial_metadata();
  }
  co_return self_->initial_metadata();
}

Task<void> Interception::wait_for_connection() {
  Call keep((add_ref(self_), self_));
  if (!bound_.is_set()) co_await bound_.wait();
  if (inner_.get()) {
    Call inner = inner_;
    co_await inner.wait_for_connection();
  } else if (self_->done_) {
    throw_if_failed(self_);
  }
}

void Interception::on_cancel() {
  if (chain_task_) chain_task_->cancel();
  if (inner_.get()) cancel_call(inner_.get());
  if (responses_) responses_->cancel();
}

void Interception::on_done() {
  queue_->closed = true;
  queue_->data.set();
  queue_->taken.set();
  bound_.set();
}

std::vector<InterceptorRecord> Interception::records() const {
  if (!chain_) return {};
  return chain_->records;
}

}  // namespace detail

std::vector<InterceptorRecord> Call::interceptors() const {
  if (!call_) throw UsageError("Call::interceptors on an empty call handle");
  call_->loop().check_thread("Call::interceptors");
  if (auto* ic = call_->interception()) return ic->records();
  return {};
}

}  // namespace actio
