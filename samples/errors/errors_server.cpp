// Errors (grpc's examples/python/errors): a Greeter that greets each name once.
// A second greeting fails with RESOURCE_EXHAUSTED and a google.rpc.Status whose
// details hold a QuotaFailure; an empty name fails with a BadRequest.
#include <CLI/CLI.hpp>
#include <iostream>
#include <set>

#include "actio/aio.hpp"
#include "error_details.pb.h"
#include "helloworld.actio.h"
#include "status.pb.h"

using namespace std::chrono_literals;

// [server]
/// Fails the call with `code`, `message` and a google.rpc.Status carrying
/// `detail` — grpc's rich error model (Python: context.abort_with_status(
/// rpc_status.to_status(status))).
template <class Detail>
[[noreturn]] void abort_with_details(actio::ServicerContext& context, actio::StatusCode code,
                                     const std::string& message, const Detail& detail) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(message);
  status.add_details()->PackFrom(detail);
  actio::Metadata trailing;
  trailing.add(std::string(actio::Metadata::kStatusDetailsKey), status.SerializeAsString());
  context.abort(code, message, trailing);
}

class Greeter final : public helloworld::GreeterServicer {
 public:
  actio::Task<helloworld::HelloReply> SayHello(const helloworld::HelloRequest& request,
                                               actio::ServicerContext& context) override {
    if (request.name().empty()) {
      google::rpc::BadRequest bad;
      auto* v = bad.add_field_violations();
      v->set_field("name");
      v->set_description("must not be empty");
      abort_with_details(context, actio::StatusCode::INVALID_ARGUMENT, "Bad request.", bad);
    }
    // One serving loop (the default): calls run one at a time on its thread.
    if (!greeted_.insert(request.name()).second) {
      google::rpc::QuotaFailure quota;
      auto* v = quota.add_violations();
      v->set_subject("name: " + request.name());
      v->set_description("Limit one greeting per person");
      abort_with_details(context, actio::StatusCode::RESOURCE_EXHAUSTED, "Request limit exceeded.", quota);
    }
    helloworld::HelloReply reply;
    reply.set_message("Hello, " + request.name() + "!");
    co_return reply;
  }

 private:
  std::set<std::string> greeted_;
};
// [server]

actio::Task<int> serve(int port) {
  auto server = actio::server();
  helloworld::add_GreeterServicer_to_server(std::make_shared<Greeter>(), server);
  int bound = server.add_insecure_port("127.0.0.1:" + std::to_string(port));
  co_await server.start();
  std::cout << "errors_server: listening on 127.0.0.1:" << bound << std::endl;
  co_await actio::serve_until_signal(server, 1s);
  co_return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"Actio rich errors server"};
  int port = 50056;
  app.add_option("--port", port, "port to listen on (0 picks a free one)");
  CLI11_PARSE(app, argc, argv);
  return actio::run(serve(port));
}
