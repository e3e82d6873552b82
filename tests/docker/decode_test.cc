#include "docker-api/detail/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace leakwatch::docker::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(LEAKWATCH_FIXTURES_DIR) + "/docker/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The body of a recorded raw reply (.http), chunked or not.
std::string BodyOf(const std::string& raw) {
  const std::size_t head_end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, head_end);
  std::string body = raw.substr(head_end + 4);
  if (head.find("Transfer-Encoding: chunked") == std::string::npos) return body;
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::size_t size =
        std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    if (size == 0 || eol + 2 + size > body.size()) break;
    out += body.substr(eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return out;
}

const DaemonInfo kCgroupfsV1{"cgroupfs", "1"};

TEST(DockerDecode, NegotiatesTheLowerOfDaemonAndClientVersions) {
  auto v = ParseApiVersion("1.41");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->ToString(), "1.41");
  EXPECT_EQ(Negotiate(*v)->ToString(), "1.41");
  EXPECT_EQ(Negotiate(ApiVersion{1, 47})->ToString(),
            kMaxApiVersion.ToString());
  // 1.9 is older than 1.24, although "1.9" > "1.24" as strings.
  auto old = Negotiate(*ParseApiVersion("1.9"));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(ParseApiVersion("v1.41").has_value());
  EXPECT_FALSE(ParseApiVersion("1").has_value());
  EXPECT_FALSE(ParseApiVersion("1.4x").has_value());
}

TEST(DockerDecode, ReadsTheRecordedVersionAndInfo) {
  auto v = DecodeVersion(Fixture("version.json"));
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->ToString(), "1.41");
  auto info = DecodeInfo(Fixture("info.json"));
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->cgroup_driver, "cgroupfs");
  EXPECT_EQ(info->cgroup_version, "1");
}

TEST(DockerDecode, ListsTheRecordedRunningContainers) {
  auto ids = DecodeList(Fixture("containers.json"));
  ASSERT_TRUE(ids.has_value()) << ids.error().message;
  ASSERT_EQ(ids->size(), 4u);
  for (const auto& id : *ids) EXPECT_EQ(id.size(), 64u);
}

TEST(DockerDecode, InspectGivesNameImageComposeLabelsLimitAndCgroup) {
  auto c = DecodeInspect(Fixture("inspect_web.json"), kCgroupfsV1);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->id,
            "fcb229da4c7cbfdd832940e91cf598b7d04d9f91db1aa95cd1e1bcfed3dea973");
  EXPECT_EQ(c->name, "lw-rec-web");  // no leading '/'
  EXPECT_EQ(c->image, "debian:bookworm");
  EXPECT_EQ(c->compose_project, "shop");
  EXPECT_EQ(c->compose_service, "web");
  EXPECT_EQ(c->labels.at("com.example.team"), "payments");
  EXPECT_EQ(c->labels.size(), 3u);
  EXPECT_EQ(c->memory_limit_bytes, 64u << 20);
  EXPECT_EQ(c->state, "running");
  EXPECT_EQ(c->restart_count, 0);
  ASSERT_TRUE(c->started_at_seconds.has_value());
  // "StartedAt": "2026-11-25T00:21:17.843046299Z"
  EXPECT_NEAR(*c->started_at_seconds, 1795566077.843046, 1e-5);
  EXPECT_EQ(c->cgroup_path, "/docker/" + c->id);
}

TEST(DockerDecode, InspectNeverCarriesEnvironmentVariables) {
  const std::string body = Fixture("inspect_web.json");
  ASSERT_THAT(body, HasSubstr("hunter2-do-not-export"));  // it is in the reply
  auto c = DecodeInspect(body, kCgroupfsV1);
  ASSERT_TRUE(c.has_value());
  std::string everything = c->id + c->name + c->image + c->compose_project +
                           c->compose_service + c->state + c->cgroup_path;
  for (const auto& [k, v] : c->labels) everything += k + v;
  EXPECT_THAT(everything, Not(HasSubstr("hunter2")));
  EXPECT_THAT(everything, Not(HasSubstr("DB_PASSWORD")));
}

TEST(DockerDecode, InspectWithoutLimitOrLabels) {
  auto c = DecodeInspect(Fixture("inspect_plain.json"), kCgroupfsV1);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->name, "lw-rec-plain");
  EXPECT_FALSE(c->memory_limit_bytes.has_value());  // HostConfig.Memory 0
  EXPECT_TRUE(c->labels.empty());
  EXPECT_EQ(c->compose_project, "");
}

TEST(DockerDecode, InspectCountsRestarts) {
  auto c = DecodeInspect(Fixture("inspect_restart.json"), kCgroupfsV1);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->restart_count, 2);
}

TEST(DockerDecode, CgroupPathFollowsDriverAndParent) {
  auto c = DecodeInspect(Fixture("inspect_parent.json"), kCgroupfsV1);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->cgroup_path, "/leakwatch-rec/" + c->id);
  const std::string id(64, 'a');
  EXPECT_EQ(CgroupPath({"cgroupfs", "2"}, "", id), "/docker/" + id);
  EXPECT_EQ(CgroupPath({"systemd", "2"}, "", id),
            "/system.slice/docker-" + id + ".scope");
  EXPECT_EQ(CgroupPath({"systemd", "1"}, "", id),
            "/system.slice/docker-" + id + ".scope");
  EXPECT_EQ(CgroupPath({"systemd", "2"}, "my-app.slice", id),
            "/my.slice/my-app.slice/docker-" + id + ".scope");
  EXPECT_EQ(CgroupPath({"cgroupfs", "1"}, "custom/", id), "/custom/" + id);
}

TEST(DockerDecode, ParsesGoTimes) {
  EXPECT_DOUBLE_EQ(**ParseTime("1970-01-01T00:00:00Z"), 0.0);
  EXPECT_DOUBLE_EQ(**ParseTime("2026-11-25T00:12:49.5Z"), 1795565569.5);
  EXPECT_DOUBLE_EQ(**ParseTime("2026-11-25T02:12:49+02:00"), 1795565569.0);
  EXPECT_FALSE(ParseTime("0001-01-01T00:00:00Z")->has_value());  // never
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  EXPECT_FALSE(ParseTime("2026-13-25T00:12:49Z").has_value());
  EXPECT_FALSE(ParseTime("2026-11-25T00:12:49").has_value());  // no zone
}

TEST(DockerDecode, CountsDaysAcrossTheCalendar) {
  EXPECT_DOUBLE_EQ(**ParseTime("2024-02-29T12:00:00Z"), 1709208000.0);
  EXPECT_DOUBLE_EQ(**ParseTime("2000-03-01T00:00:00Z"), 951868800.0);
  // 2100 is not a leap year: February has 28 days.
  EXPECT_DOUBLE_EQ(**ParseTime("2100-02-28T00:00:00Z"), 4107456000.0);
  EXPECT_DOUBLE_EQ(**ParseTime("2100-03-01T00:00:00Z"), 4107542400.0);
  EXPECT_DOUBLE_EQ(**ParseTime("1969-12-31T23:59:59Z"), -1.0);
  EXPECT_DOUBLE_EQ(**ParseTime("9999-12-31T23:59:59Z"), 253402300799.0);
  // Only year 1 is Go's zero time; year 2 is a date.
  EXPECT_DOUBLE_EQ(**ParseTime("0002-01-01T00:00:00Z"), -62104060800.0);
  // A leap second counts as the first second of the next minute.
  EXPECT_DOUBLE_EQ(**ParseTime("2016-12-31T23:59:60Z"), 1483228800.0);
  // The day is checked against 1..31, not against the month's length: the
  // 30th of February is the 2nd of March. Go never writes one.
  EXPECT_DOUBLE_EQ(**ParseTime("2026-02-30T00:00:00Z"), 1772409600.0);
}

TEST(DockerDecode, ParsesOffsetsAndFractions) {
  EXPECT_DOUBLE_EQ(**ParseTime("2026-11-24T18:42:49-05:30"), 1795565569.0);
  EXPECT_DOUBLE_EQ(**ParseTime("2026-11-25t00:12:49z"), 1795565569.0);
  EXPECT_NEAR(**ParseTime("2026-11-25T00:12:49.100510834+01:00"),
              1795561969.100510834, 1e-6);
  EXPECT_FALSE(ParseTime("0001-01-01T00:00:00.5+02:00")->has_value());
}

TEST(DockerDecode, RejectsTimesOutOfRange) {
  for (const char* bad :
       {"2026-00-25T00:12:49Z", "2026-11-00T00:12:49Z", "2026-11-32T00:12:49Z",
        "2026-11-25T24:00:00Z", "2026-11-25T00:60:00Z", "2026-11-25T00:00:61Z",
        "2026-11-25T00:12:49.Z", "2026-11-25T00:12:49+0200",
        "2026-11-25T00:12:49+02:xx", "2026-11-25 00:12:49Z"}) {
    auto t = ParseTime(bad);
    ASSERT_FALSE(t.has_value()) << bad;
    EXPECT_THAT(t.error().message, HasSubstr("is not RFC 3339")) << bad;
  }
}

TEST(DockerDecode, DecodesEveryRecordedEvent) {
  std::istringstream lines(BodyOf(Fixture("events.http")));
  std::map<Event::Action, int> seen;
  std::string line;
  while (std::getline(lines, line)) {
    auto e = DecodeEvent(line);
    ASSERT_TRUE(e.has_value()) << e.error().message << ": " << line;
    EXPECT_EQ(e->id.size(), 64u);
    ++seen[e->action];
  }
  using A = Event::Action;
  EXPECT_EQ(seen[A::kOom], 1);
  EXPECT_EQ(seen[A::kDestroy], 1);
  EXPECT_EQ(seen[A::kRename], 1);
  EXPECT_EQ(seen[A::kUpdate], 1);
  EXPECT_GE(seen[A::kStart], 4);
  EXPECT_GE(seen[A::kDie], 4);
  EXPECT_EQ(seen[A::kOther], 0);
}

TEST(DockerDecode, OldStyleAndForeignEvents) {
  const std::string id(64, 'b');
  auto old = DecodeEvent(R"({"status":"die","id":")" + id + R"("})");
  ASSERT_TRUE(old.has_value()) << old.error().message;
  EXPECT_EQ(old->action, Event::Action::kDie);
  EXPECT_EQ(old->id, id);
  auto network = DecodeEvent(
      R"({"Type":"network","Action":"connect","Actor":{"ID":"x"}})");
  ASSERT_TRUE(network.has_value());
  EXPECT_EQ(network->action, Event::Action::kOther);
  auto exec = DecodeEvent(R"({"Type":"container","Action":"exec_start: sh",)"
                          R"("Actor":{"ID":")" +
                          id + R"("}})");
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->action, Event::Action::kOther);
}

TEST(DockerDecode, StatsFromTheRecordedV1Reply) {
  auto s = DecodeStats(Fixture("stats_v1.json"));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_GT(s->usage_bytes, 0u);
  EXPECT_LE(s->working_set_bytes, s->usage_bytes);
  EXPECT_EQ(s->rss_bytes, 94208u);  // memory_stats.stats.total_rss
  EXPECT_EQ(s->cpu_usage_ns, 23564948u);
  EXPECT_EQ(s->cpu_throttled_ns, 0u);
}

TEST(DockerDecode, StatsFromAV2Reply) {
  // Written from the Engine API reference (cgroup v2 memory_stats.stats
  // names the memory.stat keys: anon, file, inactive_file).
  auto s = DecodeStats(Fixture("stats_v2.json"));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->usage_bytes, 10485760u);
  EXPECT_EQ(s->rss_bytes, 6291456u);
  EXPECT_EQ(s->cache_bytes, 3145728u);
  EXPECT_EQ(s->working_set_bytes, 10485760u - 1048576u);
  EXPECT_FALSE(s->swap_bytes.has_value());
  EXPECT_EQ(s->cpu_usage_ns, 5000000000u);
}

TEST(DockerDecode, StatsOfAStoppedContainerIsNotFound) {
  auto s = DecodeStats(Fixture("stats_stopped.json"));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
}

TEST(DockerDecode, MalformedRepliesAreErrorsNotCrashes) {
  const std::string inspect = Fixture("inspect_web.json");
  struct Case {
    std::string name;
    std::string body;
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = inspect;
    const std::size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"not json", "<html>502 Bad Gateway</html>"},
      {"truncated", inspect.substr(0, inspect.size() / 2)},
      {"array", "[1,2,3]"},
      {"null", "null"},
      {"deep", std::string(100000, '[') + std::string(100000, ']')},
      {"name is a number", replace(R"("Name": "/lw-rec-web")", R"("Name": 7)")},
      {"label is not a string", replace(R"("payments")", "[]")},
      {"memory is negative",
       replace(R"("Memory": 67108864)", R"("Memory": -1)")},
      {"memory is text",
       replace(R"("Memory": 67108864)", R"("Memory": "64m")")},
      {"no config", replace(R"("Config": {)", R"("Konfig": {)")},
      {"bad id", replace(R"("Id": "fcb2)", R"("Id": "zzz2)")},
      {"bad time", replace(R"("StartedAt": "2026)", R"("StartedAt": "x026)")},
  };
  for (const Case& c : cases) {
    auto r = DecodeInspect(c.body, kCgroupfsV1);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << c.name;
    EXPECT_THAT(r.error().message, HasSubstr("/containers/{id}/json"))
        << c.name;
  }
  EXPECT_FALSE(DecodeList(R"({"Id":"x"})").has_value());
  EXPECT_FALSE(DecodeList(R"([{"Id":42}])").has_value());
  EXPECT_FALSE(DecodeList(R"([{"Names":["/x"]}])").has_value());
  EXPECT_FALSE(
      DecodeEvent(R"({"Action":"start","Actor":{"ID":7}})").has_value());
  EXPECT_FALSE(DecodeEvent("{\"Action\":\"sta").has_value());
  EXPECT_FALSE(DecodeStats(R"({"memory_stats":{"usage":"big"}})").has_value());
  EXPECT_FALSE(DecodeStats(R"({"memory_stats":[]})").has_value());
  EXPECT_FALSE(DecodeVersion(R"({"ApiVersion":1.41})").has_value());
  EXPECT_FALSE(DecodeInfo(R"({"CgroupDriver":["systemd"]})").has_value());
}

TEST(DockerDecode, ErrorMessageTakesDockersMessageOrTheBodyStart) {
  EXPECT_EQ(ErrorMessage(BodyOf(Fixture("inspect_missing.http"))),
            "No such container: " + std::string(64, '0'));
  EXPECT_EQ(ErrorMessage("oops\nbroken"), "oops broken");
  EXPECT_EQ(ErrorMessage(std::string(1000, 'x')).size(), 200u);
}

}  // namespace
}  // namespace leakwatch::docker::detail
