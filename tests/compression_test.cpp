// Compression: channel default, per call, server default, set_compression,
// disable_next_message_compression, a disabled algorithm (aio_reference 77-80).
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
