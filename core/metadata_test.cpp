// Metadata, Status and error units (aio_reference §2 items 70-72).
#include "actio/metadata.hpp"

#include <gtest/gtest.h>

#include "actio/errors.hpp"
#include "actio/status.hpp"

namespace {

using actio::Metadata;

TEST(Metadata, Behaviour_071_KeepsOrderAndCountsEveryValue) {
  Metadata md{{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(md.size(), 3u);
  EXPECT_EQ(md["a"], "1");
  EXPECT_EQ(md.get_all("a"), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(md.get_all("missing"), std::vector<std::string>{});
  EXPECT_FALSE(md.get("missing").has_value());
  EXPECT_THROW((void)md["missing"], std::out_of_range);
}

TEST(Metadata, KeysAreCaseInsensitiveAndStoredLowerCase) {
  Metadata md;
  md.add("X-Trace-Id", "abc");
  EXPECT_EQ(md.begin()->first, "x-trace-id");
  EXPECT_EQ(md["x-TRACE-id"], "abc");
}

TEST(Metadata, Behaviour_072_MutationReplacesFirstOrAll) {
  Metadata md{{"a", "1"}, {"a", "2"}};
  md.set("a", "x");
  EXPECT_EQ(md.get_all("a"), (std::vector<std::string>{"x", "2"}));
  md.set_all("a", {"p", "q", "r"});
  EXPECT_EQ(md.size(), 3u);
  md.erase("a");
  EXPECT_EQ(md.get_all("a"), (std::vector<std::string>{"q", "r"}));
  md.delete_all("a");
  EXPECT_TRUE(md.empty());
  EXPECT_THROW(md.erase("a"), std::out_of_range);
}

TEST(Metadata, Behaviour_070_072_EqualityConcatenationAndRepr) {
  Metadata a{{"k", "v"}};
  Metadata b{{"k", "v"}};
  EXPECT_EQ(a, b);
  auto c = a + Metadata{{"z", "1"}};
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(a.repr(), "Metadata((('k', 'v'),))");
  Metadata bin;
  bin.add("d-bin", std::string("\x00\xff", 2));
  EXPECT_EQ(bin.repr(), "Metadata((('d-bin', b'\\x00\\xff'),))");
}

TEST(Metadata, BinaryKeysCarryBytes) {
  Metadata md;
  std::string bytes("\x00\x01\x02\n", 4);
  EXPECT_NO_THROW(md.add("blob-bin", bytes));
  EXPECT_EQ(md["blob-bin"], bytes);
}

TEST(Metadata, InvalidKeysAndValuesGiveAClearUsageError) {
  Metadata md;
  for (const char* bad : {"bad key", ":path", "", "k\xc3\xa9", "grpc-status"}) {
    try {
      md.add(bad, "v");
      ADD_FAILURE() << "accepted key '" << bad << "'";
    } catch (const actio::UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("metadata key"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(md.add("k", "line\nbreak"), actio::UsageError);
  EXPECT_TRUE(md.empty());  // nothing half-added
  // The one grpc- key an application may send: rich error details.
  md.add(std::string(Metadata::kStatusDetailsKey), std::string("\x08\x05", 2));
  EXPECT_EQ(md.size(), 1u);
}

TEST(Metadata, AssignUncheckedReplacesTheContentsAndKeepsTheStringsMemory) {
  using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;
  const std::string agent = "grpc-c++/1.51.1 grpc-c/29.0.0 (linux; chttp2)";
  Metadata md{{"old", "1"}, {"older", "2"}, {"oldest", "3"}};
  md.assign_unchecked(Pairs{{"user-agent", agent}, {"x-id", "7"}});
  EXPECT_EQ(md, (Metadata{{"user-agent", agent}, {"x-id", "7"}}));
  const char* kept = md.begin()->second.data();
  md.assign_unchecked(Pairs{{"user-agent", "grpc-python/1.51.1 grpc-c/29.0.0 (linux)"}});
  EXPECT_EQ(md.size(), 1u);
  EXPECT_EQ(md["user-agent"], "grpc-python/1.51.1 grpc-c/29.0.0 (linux)");
  EXPECT_EQ(md.begin()->second.data(), kept);  // assigned in place: no new allocation
  // The same size, other bytes (an equal string is left as it is).
  md.assign_unchecked(Pairs{{"user-agent", "grpc-python/1.51.1 grpc-c/29.0.0 (LINUX)"}, {"x-id", "8"}});
  EXPECT_EQ(md, (Metadata{{"user-agent", "grpc-python/1.51.1 grpc-c/29.0.0 (LINUX)"}, {"x-id", "8"}}));
  md.assign_unchecked(Pairs{{"user-agent", "grpc-python/1.51.1 grpc-c/29.0.0 (LINUX)"}, {"x-id", "9"}});
  EXPECT_EQ(md, (Metadata{{"user-agent", "grpc-python/1.51.1 grpc-c/29.0.0 (LINUX)"}, {"x-id", "9"}}));
  md.assign_unchecked(Pairs{});
  EXPECT_TRUE(md.empty());
}

TEST(Status, NamesAllSeventeenCodes) {
  EXPECT_EQ(actio::to_string(actio::StatusCode::OK), "OK");
  EXPECT_EQ(actio::to_string(actio::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(actio::status_code_from_int(14), actio::StatusCode::UNAVAILABLE);
  EXPECT_EQ(actio::status_code_from_int(99), actio::StatusCode::UNKNOWN);
  for (int i = 0; i <= 16; ++i) EXPECT_NE(actio::to_string(actio::status_code_from_int(i)), "");
}

TEST(Errors, Behaviour_112_HierarchyAndRpcErrorText) {
  actio::AioRpcError e(actio::StatusCode::NOT_FOUND, "nope", Metadata{{"i", "1"}}, Metadata{{"t", "2"}});
  const actio::BaseError& base = e;
  EXPECT_EQ(e.code(), actio::StatusCode::NOT_FOUND);
  EXPECT_EQ(e.details(), "nope");
  EXPECT_EQ(e.initial_metadata()["i"], "1");
  EXPECT_EQ(e.trailing_metadata()["t"], "2");
  EXPECT_NE(std::string(base.what()).find("status=StatusCode.NOT_FOUND"), std::string::npos);
  EXPECT_STREQ(actio::AbortError().what(), "Locally aborted.");
  // CancelledError is not an Actio BaseError: catching BaseError never swallows it.
  EXPECT_FALSE((std::is_base_of_v<actio::BaseError, actio::CancelledError>));
}

}  // namespace
