// Errors client: greets Alice twice and nobody once, printing the status of
// each failure and the google.rpc.Status details that came with it.
#include <CLI/CLI.hpp>
#include <iostream>

#include "actio/aio.hpp"
#include "error_details.pb.h"
#include "helloworld.actio.h"
#include "status.pb.h"

using namespace std::chrono_literals;

// [client]
/// Prints what a failed call's rich status says (Python: rpc_status.from_call).
void print_details(const actio::AioRpcError& e) {
  auto bytes = e.trailing_metadata().get(std::string(actio::Metadata::kStatusDetailsKey));
  google::rpc::Status status;
  if (!bytes || !status.ParseFromString(std::string(*bytes))) {
    std::cout << "  no rich status" << std::endl;
    return;
  }
  std::cout << "  google.rpc.Status: code " << status.code() << ", message '" << status.message() << "'" << std::endl;
  for (const auto& detail : status.details()) {
    google::rpc::QuotaFailure quota;
    google::rpc::BadRequest bad;
    if (detail.UnpackTo(&quota)) {
      for (const auto& v : quota.violations())
        std::cout << "  QuotaFailure: " << v.subject() << ": " << v.description() << std::endl;
    } else if (detail.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations())
        std::cout << "  BadRequest: field " << v.field() << " " << v.description() << std::endl;
    } else {
      std::cout << "  detail of type " << detail.type_url() << std::endl;
    }
  }
}

actio::Task<int> greet_all(std::string target) {
  auto channel = actio::insecure_channel(target);
  helloworld::GreeterStub stub(channel);
  for (std::string name : {"Alice", "Alice", ""}) {
    helloworld::HelloRequest request;
    request.set_name(name);
    try {
      auto reply = co_await stub.SayHello(request, {.timeout = 5s});
      std::cout << "greet '" << name << "': " << reply.message() << std::endl;
    } catch (const actio::AioRpcError& e) {
      std::cout << "greet '" << name << "': " << actio::to_string(e.code()) << " '" << e.details() << "'" << std::endl;
      print_details(e);
    }
  }
  co_await channel.close();
  co_return 0;
}
// [client]

int main(int argc, char** argv) {
  std::string target = "localhost:50056";
  CLI::App app{"Actio rich errors client"};
  app.add_option("--target", target, "server address");
  CLI11_PARSE(app, argc, argv);
  return actio::run(greet_all(target));
}
