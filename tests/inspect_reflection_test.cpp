// Server reflection on the inspection port: an Actio handler for
// grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo, behind the
// inspection token, answering from the process's generated descriptor pool
// as grpc++'s own reflection service does (checked against it: an app server
// with ServerOptions::reflection in the same process, same pool).
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "actio/inspect.hpp"
#include "inspect.actio.h"
#include "inspect_reflection.pb.h"
#include "inspect_reflection_test.pb.h"
#include "test_util.hpp"

namespace {

using namespace actio;
using namespace actio::testing;
namespace rw = actio::inspect::v1::reflection;
namespace pb = google::protobuf;

constexpr const char* kInfo = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

using Request = rw::ServerReflectionRequest;
using Response = rw::ServerReflectionResponse;

Request symbol(const std::string& name) {
  Request r;
  r.set_file_containing_symbol(name);
  return r;
}
Request file(const std::string& name) {
  Request r;
  r.set_file_by_filename(name);
  return r;
}
Request extension(const std::string& type, int number) {
  Request r;
  r.mutable_file_containing_extension()->set_containing_type(type);
  r.mutable_file_containing_extension()->set_extension_number(number);
  return r;
}
Request extension_numbers(const std::string& type) {
  Request r;
  r.set_all_extension_numbers_of_type(type);
  return r;
}
Request list_services() {
  Request r;
  r.set_list_services("");
  return r;
}

/// Asks `requests` in order on one reflection stream (one answer each), then
/// half-closes; the stream must end OK. Throws AioRpcError if it fails.
Task<std::vector<Response>> ask(Channel channel, std::vector<Request> requests, Metadata metadata) {
  auto info = channel.stream_stream<Request, Response>(kInfo);
  CallOptions options;
  options.timeout = Duration(10);
  options.metadata = metadata;
  auto call = info(options);
  std::vector<Response> out;
  for (const auto& request : requests) {
    co_await call.write(request);
    std::optional<Response> response = co_await call.read();
    EXPECT_TRUE(response.has_value()) << request.ShortDebugString();
    if (response) out.push_back(std::move(*response));
  }
  co_await call.done_writing();
  std::optional<Response> extra = co_await call.read();
  EXPECT_FALSE(extra.has_value());
  StatusCode code = co_await call.code();
  EXPECT_EQ(code, StatusCode::OK);
  co_return out;
}

/// The files of a file_descriptor_response, parsed.
std::vector<pb::FileDescriptorProto> files_of(const Response& response) {
  std::vector<pb::FileDescriptorProto> out;
  for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    pb::FileDescriptorProto f;
    EXPECT_TRUE(f.ParseFromString(bytes));
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<pb::FileDescriptorProto>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name());
  return out;
}

/// How many of this process's threads are called `name` (/proc/self/task/*/comm).
int threads_named(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "comm");
    std::string comm;
    std::getline(in, comm);
    if (comm == name) ++n;
  }
  return n;
}

const std::string kTestFile = actio::reflection_test::Probe::descriptor()->file()->name();

TEST(InspectReflection, NoSyncServerThreadsOnTheInspectionPort) {
  // grpc++'s sync services run on threads named grpcpp_sync_server (cut to
  // 15 characters; each thread names itself once it runs); the inspection
  // port has none of them, reflection served or not.
  const std::string sync_thread = "grpcpp_sync_ser";
  auto inspection = inspect::start();
  actio::run([&inspection]() -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    std::vector<Request> list = {list_services()};
    Metadata none;
    auto answers = co_await ask(ch, list, none);
    EXPECT_EQ(answers.size(), 1u);
    co_await ch.close();
    co_await sleep(Duration(0.3));
  }());
  EXPECT_EQ(threads_named(sync_thread), 0);
  // The probe sees them where they are: a server with grpc++'s reflection.
  with_server(
      {{"Echo", echo()}},
      [&sync_thread](Fixture&) -> Task<void> {
        for (int i = 0; i < 100 && threads_named(sync_thread) == 0; ++i) co_await sleep(Duration(0.05));
        EXPECT_GT(threads_named(sync_thread), 0);
      },
      ServerOptions{.reflection = true});
}

TEST(InspectReflection, TheTokenCoversReflection) {
  auto inspection = inspect::start({.token = "t0k"});
  actio::run([&inspection]() -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    std::vector<Request> list = {list_services()};
    std::vector<Request> describe = {symbol("actio.inspect.v1.Inspector")};
    Metadata none;
    auto err = co_await expect_rpc_error(ask(ch, list, none));
    EXPECT_EQ(err.code(), StatusCode::UNAUTHENTICATED);
    Metadata wrong{{"authorization", "Bearer nope"}};
    err = co_await expect_rpc_error(ask(ch, describe, wrong));
    EXPECT_EQ(err.code(), StatusCode::UNAUTHENTICATED);

    Metadata auth{{"authorization", "Bearer t0k"}};
    auto answers = co_await ask(ch, describe, auth);
    CO_ASSERT_EQ(answers.size(), 1u);
    auto files = files_of(answers[0]);
    CO_ASSERT_TRUE(!files.empty());
    EXPECT_EQ(files[0].name(), "inspect.proto");
    co_await ch.close();
  }());
}

TEST(InspectReflection, DescribesWhatIsLinkedIntoTheProcess) {
  auto inspection = inspect::start();
  actio::run([&inspection]() -> Task<void> {
    auto ch = insecure_channel(inspection->target());
    std::vector<Request> requests = {
        list_services(),
        symbol("actio.inspect.v1.Inspector"),
        symbol("actio.inspect.v1.Inspector.Watch"),
        symbol("actio.inspect.v1.Snapshot"),
        symbol("actio.reflection_test.Probe"),
        symbol("actio.reflection_test.Probe.Kind"),
        symbol("actio.reflection_test.Probe.inner"),
        symbol("no.such.Symbol"),
        file("inspect_reflection_test_types.proto"),
        extension("google.protobuf.FieldOptions", 50322),
        extension_numbers("google.protobuf.FieldOptions"),
    };
    requests[1].set_host("inspected.example:1");
    Metadata none;
    auto answers = co_await ask(ch, requests, none);
    CO_ASSERT_EQ(answers.size(), requests.size());
    // Every answer echoes its request and the request's host.
    for (std::size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(answers[i].original_request().SerializeAsString(), requests[i].SerializeAsString()) << i;
      EXPECT_EQ(answers[i].valid_host(), requests[i].host()) << i;
    }
    EXPECT_EQ(answers[1].valid_host(), "inspected.example:1");

    // The inspection server's own services (not the application's).
    std::vector<std::string> services;
    for (const auto& s : answers[0].list_services_response().service()) services.push_back(s.name());
    EXPECT_EQ(services,
              (std::vector<std::string>{"actio.inspect.v1.Inspector", "grpc.reflection.v1alpha.ServerReflection"}));

    // A service, a method, a message: inspect.proto, which names them.
    for (int i : {1, 2, 3}) {
      auto files = files_of(answers[i]);
      CO_ASSERT_TRUE(!files.empty());
      EXPECT_EQ(files[0].name(), "inspect.proto") << i;
      EXPECT_EQ(files[0].package(), "actio.inspect.v1") << i;
    }
    auto inspect_file = files_of(answers[1])[0];
    CO_ASSERT_EQ(inspect_file.service_size(), 1);
    EXPECT_EQ(inspect_file.service(0).name(), "Inspector");
    std::set<std::string> methods;
    for (const auto& m : inspect_file.service(0).method()) methods.insert(m.name());
    EXPECT_TRUE(methods.count("Snapshot") && methods.count("Watch"));
    bool has_snapshot = false;
    for (const auto& m : inspect_file.message_type()) has_snapshot |= m.name() == "Snapshot";
    EXPECT_TRUE(has_snapshot);

    // A message, a nested enum, a field: the test's file, then its imports,
    // transitively, importer first.
    for (int i : {4, 5, 6}) {
      auto files = files_of(answers[i]);
      EXPECT_EQ(names_of(files), (std::vector<std::string>{kTestFile, "inspect_reflection_test_types.proto",
                                                           "google/protobuf/descriptor.proto"}))
          << i;
    }
    // The files describe the symbols, and build a pool of their own.
    {
      auto files = files_of(answers[4]);
      pb::DescriptorPool pool;
      for (auto it = files.rbegin(); it != files.rend(); ++it) CO_ASSERT_TRUE(pool.BuildFile(*it) != nullptr);
      const pb::Descriptor* probe = pool.FindMessageTypeByName("actio.reflection_test.Probe");
      CO_ASSERT_TRUE(probe != nullptr);
      EXPECT_NE(probe->FindFieldByName("inner"), nullptr);
      EXPECT_NE(probe->FindEnumTypeByName("Kind"), nullptr);
      EXPECT_NE(pool.FindServiceByName("actio.reflection_test.Prober"), nullptr);
    }

    // An unknown symbol: NOT_FOUND, as grpc answers.
    CO_ASSERT_TRUE(answers[7].has_error_response());
    EXPECT_EQ(answers[7].error_response().error_code(), 5);
    EXPECT_FALSE(answers[7].has_file_descriptor_response());

    // A file by name; the file defining an extension.
    EXPECT_EQ(names_of(files_of(answers[8])),
              (std::vector<std::string>{"inspect_reflection_test_types.proto", "google/protobuf/descriptor.proto"}));
    EXPECT_EQ(names_of(files_of(answers[9])),
              (std::vector<std::string>{"inspect_reflection_test_types.proto", "google/protobuf/descriptor.proto"}));
    // The extension numbers of a type include the test's.
    const auto& numbers = answers[10].all_extension_numbers_response();
    EXPECT_EQ(numbers.base_type_name(), "google.protobuf.FieldOptions");
    std::set<int> got(numbers.extension_number().begin(), numbers.extension_number().end());
    EXPECT_TRUE(got.count(50322) && got.count(50323));
    co_await ch.close();
  }());
}

TEST(InspectReflection, AnswersAsGrpcppsReflectionDoes) {
  // The same process, the same pool: the inspection port and an app server
  // serving grpc++_reflection's service get the same questions and must give
  // the same answers (bar list_services: each lists its own server's
  // services). Ours get them all on one stream; grpc++'s each on a stream of
  // its own, because grpc++ 1.51 reuses one response across a stream's
  // requests without clearing it (a second file_descriptor_response there
  // also carries the first one's files; extension numbers pile up alike).
  auto inspection = inspect::start();
  with_server(
      {{"Echo", echo()}},
      [&inspection](Fixture& f) -> Task<void> {
        std::vector<Request> requests = {
            symbol("actio.inspect.v1.Inspector"),
            symbol("actio.inspect.v1.Inspector.Snapshot"),
            symbol("actio.inspect.v1.Call"),
            symbol("actio.inspect.v1.Snapshot.pid"),
            symbol("actio.reflection_test.Probe"),
            symbol("actio.reflection_test.Probe.Inner"),
            symbol("actio.reflection_test.Probe.Kind"),
            symbol("actio.reflection_test.Probe.LOUD"),
            symbol("actio.reflection_test.Prober.Poke"),
            symbol("actio.reflection_test.types.weight"),
            symbol("google.protobuf.FileDescriptorProto"),
            symbol("no.such.Symbol"),
            symbol(""),
            symbol("actio.inspect.v1"),
            file(kTestFile),
            file("inspect.proto"),
            file("google/protobuf/descriptor.proto"),
            file("no/such/file.proto"),
            extension("google.protobuf.FieldOptions", 50322),
            extension("google.protobuf.MessageOptions", 50321),
            extension("google.protobuf.FieldOptions", 1),
            extension("no.such.Type", 50322),
            extension_numbers("google.protobuf.FieldOptions"),
            extension_numbers("actio.reflection_test.Probe"),
            extension_numbers("no.such.Type"),
            Request{},  // no question
        };
        requests[0].set_host("somewhere:7");
        requests.back().set_host("nowhere");
        auto app = insecure_channel(f.target());
        auto ours_ch = insecure_channel(inspection->target());
        Metadata none;
        std::vector<Response> theirs;
        for (const auto& request : requests) {
          std::vector<Request> one = {request};
          auto answer = co_await ask(app, one, none);
          EXPECT_EQ(answer.size(), 1u);
          for (auto& a : answer) theirs.push_back(std::move(a));
        }
        auto ours = co_await ask(ours_ch, requests, none);
        CO_ASSERT_EQ(theirs.size(), requests.size());
        CO_ASSERT_EQ(ours.size(), requests.size());
        for (std::size_t i = 0; i < requests.size(); ++i) {
          EXPECT_EQ(ours[i].SerializeAsString(), theirs[i].SerializeAsString())
              << "request " << i << ": " << requests[i].ShortDebugString() << "\n ours: "
              << ours[i].ShortDebugString().substr(0, 400) << "\n grpc++: " << theirs[i].ShortDebugString().substr(0, 400);
        }
        // list_services: grpc++ lists the app server's (test.Svc and itself).
        std::vector<Request> list = {list_services()};
        auto listed = co_await ask(app, list, none);
        CO_ASSERT_EQ(listed.size(), 1u);
        std::vector<std::string> services;
        for (const auto& s : listed[0].list_services_response().service()) services.push_back(s.name());
        std::sort(services.begin(), services.end());
        EXPECT_EQ(services, (std::vector<std::string>{"grpc.reflection.v1alpha.ServerReflection", "test.Svc"}));
        co_await app.close();
        co_await ours_ch.close();
      },
      ServerOptions{.reflection = true});
}

}  // namespace
