// Compression: channel default, per call, server default, set_compression,
// disable_next_message_compression, a disabled algorithm (aio_reference 77-80).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;

const std::string kBig(64 * 1024, 'z');  // compressible

RpcMethodHandler streamer_with(std::function<void(ServicerContext&)> before, bool disable_second) {
  return unary_stream_rpc_method_handler<std::string, std::string>(
      [before, disable_second](const std::string& req, ServicerContext& ctx) -> Task<void> {
        before(ctx);
        co_await ctx.write(req);
        if (disable_second) ctx.disable_next_message_compression();
        co_await ctx.write(req);
        try {
          ctx.set_compression(Compression::Gzip);
          ADD_FAILURE() << "set_compression after a write was accepted";
        } catch (const UsageError&) {
        }
      });
}

Task<std::vector<std::string>> read_all(UnaryStreamCall<std::string> call) {
  std::vector<std::string> out;
  while (auto m = co_await call.read()) out.push_back(*m);
  co_return out;
}

TEST(Compression, Behaviour_077_DisabledAlgorithmIsUnimplementedOthersWork) {
  ServerOptions opts;
  // Enabled set: identity (bit 0) and deflate (bit 1); gzip (bit 2) disabled.
  opts.args.emplace_back("grpc.compression_enabled_algorithms_bitset", 0b011);
  with_server(
      {{"Echo", echo()}},
      [](Fixture& f) -> Task<void> {
        ChannelOptions gzip;
        gzip.compression = Compression::Gzip;
        auto gz = insecure_channel(f.target(), gzip);
        auto echo_gzip = gz.unary_unary<std::string, std::string>("/test.Svc/Echo");
        auto e = co_await expect_rpc_error(echo_gzip(kBig));
        EXPECT_EQ(e.code(), StatusCode::UNIMPLEMENTED);
        // Per call: deflate works, gzip does not.
        EXPECT_EQ(co_await f.method("Echo")(kBig, {.compression = Compression::Deflate}), kBig);
        auto e2 = co_await expect_rpc_error(f.method("Echo")(kBig, {.compression = Compression::Gzip}));
        EXPECT_EQ(e2.code(), StatusCode::UNIMPLEMENTED);
      },
      opts);
}

TEST(Compression, Behaviour_078_079_SetCompressionAndDisableNextMessage) {
  auto handler = streamer_with([](ServicerContext& ctx) { ctx.set_compression(Compression::Deflate); }, true);
  with_server({{"Stream", handler}}, [](Fixture& f) -> Task<void> {
    auto call = f.channel.unary_stream<std::string, std::string>("/test.Svc/Stream")(kBig);
    auto got = co_await read_all(call);
    CO_ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], kBig);
    EXPECT_EQ(got[1], kBig);
    EXPECT_EQ(co_await call.code(), StatusCode::OK);
  });
}

/// A TCP relay on 127.0.0.1 in front of `port` that counts the bytes coming
/// back from the server (one connection; ends when either side closes or
/// after 30 s).
class CountingRelay {
 public:
  explicit CountingRelay(int server_port) : server_port_(server_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 1) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("relay: cannot listen");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CountingRelay() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::size_t from_server() const { return from_server_.load(); }

 private:
  void run() {
    pollfd l{listen_fd_, POLLIN, 0};
    for (int i = 0; i < 300 && !stop_; ++i)
      if (::poll(&l, 1, 100) > 0) break;
    if (stop_ || !(l.revents & POLLIN)) return;
    int client = ::accept(listen_fd_, nullptr, nullptr);
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(server_port_));
    if (client >= 0 && ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      char buf[16384];
      auto deadline = std::chrono::steady_clock::now() + 30s;
      while (!stop_ && std::chrono::steady_clock::now() < deadline) {
        pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (::poll(fds, 2, 100) <= 0) continue;
        if (fds[0].revents & (POLLIN | POLLHUP)) {
          auto n = ::read(client, buf, sizeof buf);
          if (n <= 0 || ::write(server, buf, static_cast<std::size_t>(n)) != n) break;
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
          auto n = ::read(server, buf, sizeof buf);
          if (n <= 0 || ::write(client, buf, static_cast<std::size_t>(n)) != n) break;
          from_server_ += static_cast<std::size_t>(n);
        }
      }
    }
    if (client >= 0) ::close(client);
    ::close(server);
  }

  int server_port_, listen_fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> from_server_{0};
  std::thread thread_;
};

TEST(Compression, Behaviour_080_ServerDefaultCompressionReallyCompresses) {
  // What the server sends for a 64 KiB compressible reply, counted on the
  // wire: a few hundred bytes with the server's default (gzip or deflate),
  // 64 KiB and more with no default.
  for (Compression algorithm : {Compression::Gzip, Compression::Deflate, Compression::NoCompression}) {
    ServerOptions opts;
    bool server_default = algorithm != Compression::NoCompression;
    if (server_default) opts.compression = algorithm;
    with_server(
        {{"Echo", echo()}},
        [server_default](Fixture& f) -> Task<void> {
          CountingRelay relay(f.port);
          auto ch = insecure_channel("127.0.0.1:" + std::to_string(relay.port()));
          auto echo_call = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
          EXPECT_EQ(co_await echo_call(kBig), kBig);
          std::size_t bytes = relay.from_server();
          co_await ch.close();
          if (server_default)
            EXPECT_LT(bytes, 8u * 1024) << "the reply went out uncompressed";
          else
            EXPECT_GT(bytes, kBig.size()) << "the relay missed the reply";
        },
        opts);
  }
}

/// The bytes the server sends for one call of `method` (given kBig),
/// counted on the wire through a CountingRelay.
std::size_t server_bytes_for(const std::string& method, RpcMethodHandler handler, ServerOptions opts = {}) {
  std::size_t bytes = 0;
  with_server(
      {{"M", std::move(handler)}},
      [&bytes, method](Fixture& f) -> Task<void> {
        CountingRelay relay(f.port);
        auto ch = insecure_channel("127.0.0.1:" + std::to_string(relay.port()));
        if (method == "unary") {
          auto m = ch.unary_unary<std::string, std::string>("/test.Svc/M");
          EXPECT_EQ(co_await m(kBig), kBig);
        } else {
          auto got = co_await read_all(ch.unary_stream<std::string, std::string>("/test.Svc/M")(kBig));
          EXPECT_EQ(got.size(), 2u);
        }
        bytes = relay.from_server();
        co_await ch.close();
      },
      opts);
  return bytes;
}

RpcMethodHandler unary_with(std::function<void(ServicerContext&)> before) {
  return unary_unary_rpc_method_handler<std::string, std::string>(
      [before](const std::string& req, ServicerContext& ctx) -> Task<std::string> {
        before(ctx);
        co_return req;
      });
}

TEST(Compression, Behaviour_078_079_CountedOnTheWireInUnaryAndStreamingHandlers) {
  constexpr std::size_t kSmall = 8 * 1024;  // a compressed 64 KiB of 'z' is well under this
  // set_compression() compresses a unary reply; disable_next_message_compression()
  // sends it plain even under the server's default.
  EXPECT_LT(server_bytes_for("unary", unary_with([](ServicerContext& c) { c.set_compression(Compression::Gzip); })),
            kSmall);
  ServerOptions gzip;
  gzip.compression = Compression::Gzip;
  EXPECT_GT(server_bytes_for("unary", unary_with([](ServicerContext& c) { c.disable_next_message_compression(); }),
                             gzip),
            kBig.size());
  // Streaming: the first message compressed, the second (disabled) plain.
  auto set_deflate = [](ServicerContext& c) { c.set_compression(Compression::Deflate); };
  std::size_t both = server_bytes_for("stream", streamer_with(set_deflate, false));
  std::size_t second_plain = server_bytes_for("stream", streamer_with(set_deflate, true));
  EXPECT_LT(both, kSmall);
  EXPECT_GT(second_plain, kBig.size());
  EXPECT_LT(second_plain, kBig.size() + kSmall);
}

TEST(Compression, Behaviour_080_ServerDefaultCompressionServesNormally) {
  ServerOptions opts;
  opts.compression = Compression::Gzip;
  with_server(
      {{"Echo", echo()}},
      [](Fixture& f) -> Task<void> {
        EXPECT_EQ(co_await f.method("Echo")(kBig), kBig);
        ChannelOptions deflate;
        deflate.compression = Compression::Deflate;
        auto ch = insecure_channel(f.target(), deflate);
        auto echo_deflate = ch.unary_unary<std::string, std::string>("/test.Svc/Echo");
        EXPECT_EQ(co_await echo_deflate(kBig), kBig);
      },
      opts);
}

}  // namespace
