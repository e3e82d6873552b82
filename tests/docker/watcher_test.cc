// The watcher (watcher.cc) against a scripted fake daemon
// (tests/docker/fake_docker.h) serving replies recorded from a real one,
// and against the hostile replies a real daemon will not give on demand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "docker-api/docker.h"
#include "log/log.h"
#include "tests/docker/fake_docker.h"

namespace leakwatch::docker {
namespace {

using testing::FakeDocker;
using testing::JsonReply;
using testing::ReadFixture;
using testing::Reply;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr char kWebId[] =
    "fcb229da4c7cbfdd832940e91cf598b7d04d9f91db1aa95cd1e1bcfed3dea973";
constexpr char kOomId[] =
    "25f83ce24e789fb2522609223ae529ad7e1ca3db6304ee9920d0f046f4b67d6b";

// Records what the watcher reports, for assertions from the test thread.
class Recorder : public Listener {
 public:
  void OnSynced(std::vector<Container> running) override {
    {
      std::lock_guard lock(mu_);
      ++syncs_;
      synced_ = std::move(running);
    }
    Push("synced");
  }
  void OnChanged(Container c) override { Push("changed " + c.name); }
  void OnDied(const std::string& id) override { Push("died " + id); }
  void OnOom(const std::string& id) override { Push("oom " + id); }
  void OnDestroyed(const std::string& id) override { Push("destroyed " + id); }
  void OnUp(bool up) override { Push(up ? "up" : "down"); }

  // Waits until `what` has been reported `times` times in all.
  bool WaitFor(const std::string& what, int times = 1,
               std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      return std::count(log_.begin(), log_.end(), what) >= times;
    });
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::vector<Container> synced() {
    std::lock_guard lock(mu_);
    return synced_;
  }
  int syncs() {
    std::lock_guard lock(mu_);
    return syncs_;
  }

 private:
  void Push(std::string s) {
    {
      std::lock_guard lock(mu_);
      log_.push_back(std::move(s));
    }
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_;
  std::vector<Container> synced_;
  int syncs_ = 0;
};

// A daemon that answers like the recorded one: four running containers,
// and an events stream that replays the recorded events, then stays open.
Reply RecordedDaemon(const std::string& line) {
  auto has = [&](const char* s) { return line.find(s) != std::string::npos; };
  if (has(" /_ping ")) return Reply{ReadFixture("ping.http")};
  if (has("/v1.41/info ")) return Reply{JsonReply(ReadFixture("info.json"))};
  if (has("/v1.41/containers/json ")) {
    return Reply{JsonReply(ReadFixture("containers.json"))};
  }
  if (has("/v1.41/events?")) {
    std::string raw = ReadFixture("events.http");
    return Reply{raw, true};
  }
  if (has("/stats?")) return Reply{JsonReply(ReadFixture("stats_v1.json"))};
  for (const char* name : {"web", "plain", "parent", "restart"}) {
    const std::string body =
        ReadFixture(std::string("inspect_") + name + ".json");
    const std::size_t at = body.find("\"Id\": \"");
    const std::string id = body.substr(at + 7, 64);
    if (has(("/v1.41/containers/" + id + "/json ").c_str())) {
      return Reply{JsonReply(body)};
    }
  }
  return Reply{JsonReply(R"({"message":"No such container"})", 404)};
}

log::Logger& QuietLogger() {
  static log::Logger logger(std::getenv("LEAKWATCH_TEST_DEBUG")
                                ? log::Level::kDebug
                                : log::Level::kError,
                            log::Format::kLogfmt);
  return logger;
}

Options FastOptions(const std::string& host) {
  Options o;
  o.endpoint = *ParseHost(host);
  o.timeout = 500ms;
  o.health_interval = 200ms;
  o.backoff_min = 50ms;
  o.backoff_max = 200ms;
  return o;
}

TEST(DockerWatcher, SyncsThenAppliesEventsInOrder) {
  FakeDocker fake(RecordedDaemon);
  Recorder rec;
  Watcher watcher(FastOptions(fake.host()), rec, QuietLogger());
  watcher.Start();
  ASSERT_TRUE(rec.WaitFor("up"));
  auto synced = rec.synced();
  ASSERT_EQ(synced.size(), 4u);
  std::set<std::string> names;
  for (const auto& c : synced) names.insert(c.name);
  EXPECT_EQ(names, (std::set<std::string>{"lw-rec-web", "lw-rec-plain",
                                          "lw-rec-parent", "lw-rec-restart"}));
  // The recorded stream: the oom container starts (its inspect 404s: it is
  // gone), is OOM-killed, dies and is destroyed.
  ASSERT_TRUE(rec.WaitFor("destroyed " + std::string(kOomId)));
  auto log = rec.log();
  auto at = [&](const std::string& what) {
    return std::find(log.begin(), log.end(), what) - log.begin();
  };
  EXPECT_LT(at("synced"), at("up"));
  EXPECT_LT(at("up"), at("oom " + std::string(kOomId)));
  EXPECT_LT(at("oom " + std::string(kOomId)),
            at("died " + std::string(kOomId)));
  EXPECT_LT(at("died " + std::string(kOomId)),
            at("destroyed " + std::string(kOomId)));
  EXPECT_TRUE(rec.WaitFor("changed lw-rec-plain"));   // the rename re-inspects
  EXPECT_TRUE(rec.WaitFor("changed lw-rec-parent"));  // so does the update
  watcher.Stop();

  // Only GETs, on versioned paths after the ping.
  for (const auto& r : fake.requests()) {
    EXPECT_THAT(r, StartsWith("GET ")) << r;
    if (r.find("/_ping") == std::string::npos) {
      EXPECT_THAT(r, StartsWith("GET /v1.41/")) << r;
    }
  }
  EXPECT_EQ(fake.CountRequests("/v1.41/events?filters="), 1);
}

TEST(DockerWatcher, ReconnectsAndResyncsWhenTheDaemonComesBack) {
  auto fake = std::make_unique<FakeDocker>(RecordedDaemon);
  const std::string path = fake->path();
  Recorder rec;
  Watcher watcher(FastOptions(fake->host()), rec, QuietLogger());
  watcher.Start();
  ASSERT_TRUE(rec.WaitFor("up"));
  EXPECT_EQ(rec.syncs(), 1);

  fake->Shutdown();  // the daemon dies: the events stream ends
  ASSERT_TRUE(rec.WaitFor("down"));
  std::this_thread::sleep_for(300ms);  // a few failed reconnects
  fake = std::make_unique<FakeDocker>(RecordedDaemon, path);
  ASSERT_TRUE(rec.WaitFor("up", 2));
  EXPECT_EQ(rec.syncs(), 2);  // a full resync, not just the stream
  watcher.Stop();
}

TEST(DockerWatcher, AHungDaemonFailsTheHealthCheck) {
  std::atomic<bool> hung{false};
  FakeDocker fake([&](const std::string& line) {
    if (hung && line.find("/_ping") != std::string::npos) {
      return Reply{"", true};
    }
    return RecordedDaemon(line);
  });
  Recorder rec;
  Watcher watcher(FastOptions(fake.host()), rec, QuietLogger());
  watcher.Start();
  ASSERT_TRUE(rec.WaitFor("up"));
  hung = true;  // the events stream stays open, but pings go unanswered
  EXPECT_TRUE(rec.WaitFor("down", 1, 3s));
  hung = false;
  EXPECT_TRUE(rec.WaitFor("up", 2, 3s));
  watcher.Stop();
}

TEST(DockerWatcher, FallsBackToVersionWithoutAnApiVersionHeader) {
  FakeDocker fake([](const std::string& line) {
    if (line.find(" /_ping ") != std::string::npos) {
      return Reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"};
    }
    if (line.find(" /version ") != std::string::npos) {
      return Reply{JsonReply(ReadFixture("version.json"))};
    }
    return RecordedDaemon(line);
  });
  Recorder rec;
  Watcher watcher(FastOptions(fake.host()), rec, QuietLogger());
  watcher.Start();
  ASSERT_TRUE(rec.WaitFor("up"));
  watcher.Stop();
  EXPECT_EQ(fake.CountRequests("GET /version "), 1);
}

struct Hostile {
  const char* name;
  std::function<Reply(const std::string&)> reply;
  // A stream that breaks after a good sync comes up for a moment each time;
  // what matters then is that resyncs back off instead of spinning.
  bool breaks_after_sync = false;
};

class DockerWatcherHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(DockerWatcherHostile, NeverComesUpAndKeepsRetrying) {
  FakeDocker fake(GetParam().reply);
  Recorder rec;
  Watcher watcher(FastOptions(fake.host()), rec, QuietLogger());
  watcher.Start();
  // Long enough for several attempts at 50..200 ms backoff and 500 ms
  // deadlines.
  std::this_thread::sleep_for(1500ms);
  watcher.Stop();
  auto log = rec.log();
  EXPECT_GE(fake.CountRequests("/_ping"), 2) << "it must retry";
  if (!GetParam().breaks_after_sync) {
    EXPECT_EQ(std::count(log.begin(), log.end(), "up"), 0);
    return;
  }
  // Every break takes it down again: among the up/down reports, each "up"
  // but possibly the last (the cycle Stop cut short) is followed by a
  // "down".
  std::vector<std::string> states;
  std::copy_if(log.begin(), log.end(), std::back_inserter(states),
               [](const std::string& e) { return e == "up" || e == "down"; });
  EXPECT_GE(std::count(states.begin(), states.end(), "up"), 1);
  for (std::size_t i = 0; i + 1 < states.size(); ++i) {
    EXPECT_NE(states[i], states[i + 1]) << "report " << i << " repeats";
  }
  // 50, 100, 200, 200... ms apart: about eight syncs in 1.5 s, where a
  // reset backoff would make thirty.
  EXPECT_LE(fake.CountRequests("/containers/json "), 10);
}

Reply Malformed(const std::string& line, const std::string& target, Reply bad) {
  if (line.find(target) != std::string::npos) return bad;
  return RecordedDaemon(line);
}

INSTANTIATE_TEST_SUITE_P(
    Replies, DockerWatcherHostile,
    ::testing::Values(
        Hostile{"MalformedList",
                [](const std::string& l) {
                  return Malformed(l, "/containers/json ",
                                   Reply{JsonReply(R"([{"Id": 17}])")});
                }},
        Hostile{"NotJsonInspect",
                [](const std::string& l) {
                  return Malformed(l, kWebId, Reply{JsonReply("{\"Id\":")});
                }},
        Hostile{"TruncatedChunkedList",
                [](const std::string& l) {
                  return Malformed(
                      l, "/containers/json ",
                      Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                            "chunked\r\n\r\nff\r\n[{\"Id\""});
                }},
        Hostile{"SilentEvents",
                [](const std::string& l) {
                  return Malformed(l, "/events?", Reply{"", true});
                }},
        Hostile{"EndlessInfo",
                [](const std::string& l) {
                  Reply r{"HTTP/1.1 200 OK\r\n\r\n{\"a\":\""};
                  r.endless = true;
                  return Malformed(l, "/info ", r);
                }},
        Hostile{"EndlessEventLine",
                [](const std::string& l) {
                  Reply r{
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                      "\r\n\r\n"};
                  r.endless = true;
                  r.filler = "10\r\nxxxxxxxxxxxxxxxx\r\n";
                  return Malformed(l, "/events?", r);
                },
                true},
        Hostile{"ServerError",
                [](const std::string& l) {
                  return Malformed(
                      l, "/containers/json ",
                      Reply{JsonReply(R"({"message":"boom"})", 500)});
                }},
        Hostile{"Ping500",
                [](const std::string&) {
                  return Reply{JsonReply(R"({"message":"boom"})", 500)};
                }}),
    [](const ::testing::TestParamInfo<Hostile>& p) { return p.param.name; });

TEST(DockerWatcher, FetchesOneShotStats) {
  FakeDocker fake(RecordedDaemon);
  Recorder rec;
  Watcher watcher(FastOptions(fake.host()), rec, QuietLogger());
  watcher.Start();
  ASSERT_TRUE(rec.WaitFor("up"));
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<Stats>> got;
  watcher.FetchStats(kWebId, [&](Result<Stats> s) {
    std::lock_guard lock(mu);
    got = std::move(s);
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 3s, [&] { return got.has_value(); }));
  }
  ASSERT_TRUE(got->has_value()) << got->error().message;
  EXPECT_EQ((*got)->rss_bytes, 94208u);
  watcher.Stop();
  EXPECT_EQ(fake.CountRequests("/v1.41/containers/" + std::string(kWebId) +
                               "/stats?stream=false&one-shot=true "),
            1);
}

TEST(DockerWatcher, StatsWhileDownFailAtOnce) {
  Recorder rec;
  Watcher watcher(FastOptions("unix:///nonexistent/docker.sock"), rec,
                  QuietLogger());
  watcher.Start();
  std::promise<Result<Stats>> promise;
  auto future = promise.get_future();
  watcher.FetchStats(kWebId,
                     [&](Result<Stats> s) { promise.set_value(std::move(s)); });
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  auto s = future.get();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  watcher.Stop();
}

TEST(DockerListRunning, ListsAndInspectsOnce) {
  FakeDocker fake(RecordedDaemon);
  auto all = ListRunning(FastOptions(fake.host()));
  ASSERT_TRUE(all.has_value()) << all.error().message;
  EXPECT_EQ(all->size(), 4u);
  EXPECT_EQ(fake.CountRequests("/events"), 0);
}

}  // namespace
}  // namespace leakwatch::docker
