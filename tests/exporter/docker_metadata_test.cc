// The inventory the watcher feeds: names through outages, events, OOM
// counts, the stats fallback's requests.
#include "exporter/detail/docker_metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/exporter/docker_fixtures.h"

namespace leakwatch::exporter::detail {
namespace {

using namespace std::chrono_literals;
using fixtures::kMiB;
using fixtures::Logged;
using fixtures::Web;

class DockerMetadataTest : public ::testing::Test, protected Logged {
 protected:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  DockerMetadata docker_{10s, logger_, [this] { return now_; }};
};

TEST_F(DockerMetadataTest, KeepsNamesThroughAnOutageAndDropsThemOnResync) {
  docker_.OnSynced({Web('a'), Web('b')});
  docker_.OnUp(true);
  ASSERT_NE(docker_.Lookup(std::string(64, 'a')), nullptr);
  EXPECT_EQ(docker_.Lookup(std::string(64, 'a'))->name, "shop-web-1");
  EXPECT_EQ(docker_.Lookup(std::string(64, 'c')), nullptr);

  docker_.OnUp(false);  // Docker goes away: series keep their labels
  EXPECT_FALSE(docker_.up());
  EXPECT_NE(docker_.Lookup(std::string(64, 'a')), nullptr);
  EXPECT_NE(docker_.Lookup(std::string(64, 'b')), nullptr);

  docker_.OnSynced({Web('a')});  // back; b was removed meanwhile
  docker_.OnUp(true);
  EXPECT_NE(docker_.Lookup(std::string(64, 'a')), nullptr);
  EXPECT_EQ(docker_.Lookup(std::string(64, 'b')), nullptr);
}

TEST_F(DockerMetadataTest, EventsUpdateTheInventoryAtOnce) {
  docker_.OnSynced({Web('a')});
  docker::Container renamed = Web('a');
  renamed.name = "shop-web-renamed";
  docker_.OnChanged(renamed);
  EXPECT_EQ(docker_.Lookup(std::string(64, 'a'))->name, "shop-web-renamed");

  docker_.OnChanged(Web('c'));  // start
  EXPECT_NE(docker_.Lookup(std::string(64, 'c')), nullptr);
  EXPECT_EQ(docker_.Running().size(), 2u);

  docker_.OnDied(std::string(64, 'c'));  // kept for a restart, not running
  EXPECT_NE(docker_.Lookup(std::string(64, 'c')), nullptr);
  EXPECT_EQ(docker_.Running().size(), 1u);

  docker_.OnDestroyed(std::string(64, 'c'));
  EXPECT_EQ(docker_.Lookup(std::string(64, 'c')), nullptr);
}

TEST_F(DockerMetadataTest, OomEventsCountAndSurviveResyncsAndRenames) {
  docker_.OnSynced({Web('a')});
  const std::string id(64, 'a');
  auto before = docker_.Lookup(id);
  EXPECT_EQ(before->oom_events, 0u);
  docker_.OnOom(id);
  docker_.OnOom(id);
  EXPECT_EQ(docker_.Lookup(id)->oom_events, 2u);
  EXPECT_EQ(before->oom_events, 0u);  // what a scrape held is unchanged
  docker_.OnSynced({Web('a')});
  docker_.OnChanged(Web('a'));
  EXPECT_EQ(docker_.Lookup(id)->oom_events, 2u);
  docker_.OnOom(std::string(64, 'f'));  // unknown: ignored
  EXPECT_EQ(docker_.Lookup(std::string(64, 'f')), nullptr);
  EXPECT_EQ(Count("OOM kill"), 2);
}

TEST_F(DockerMetadataTest, FallbackAsksWithoutWaitingOneRequestAtATime) {
  docker_.OnSynced({Web('a')});
  const std::string id(64, 'a');
  std::vector<std::function<void(Result<docker::Stats>)>> pending;
  int asked = 0;
  docker_.SetStatsFetcher(
      [&](std::string got, std::function<void(Result<docker::Stats>)> done) {
        EXPECT_EQ(got, id);
        ++asked;
        pending.push_back(std::move(done));
      });
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());  // nothing yet
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());
  EXPECT_EQ(asked, 1);  // still in flight: not asked twice

  docker::Stats s;
  s.usage_bytes = 100 * kMiB;
  s.working_set_bytes = 90 * kMiB;
  s.rss_bytes = 80 * kMiB;
  s.cpu_usage_ns = 42;
  pending.back()(s);
  auto got = docker_.FallbackSample(id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->working_set_bytes, 90 * kMiB);
  EXPECT_EQ(got->limit_bytes, 512 * kMiB);  // inspect's, not the host's
  EXPECT_EQ(got->cpu_usage_ns, 42u);
  EXPECT_EQ(asked, 2);

  now_ += 11s;  // no fresh reading for longer than the max age
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());
  // Logged once per container, not per pass.
  EXPECT_EQ(Count("sampling it through the Docker stats endpoint"), 1);
  // Unknown containers get nothing and cause no request.
  EXPECT_FALSE(docker_.FallbackSample(std::string(64, 'e')).has_value());
  EXPECT_EQ(asked, 2);
}

TEST_F(DockerMetadataTest, AStoppedContainersFallbackEndsAtOnce) {
  docker_.OnSynced({Web('a')});
  const std::string id(64, 'a');
  docker_.SetStatsFetcher(
      [&](std::string, std::function<void(Result<docker::Stats>)> done) {
        done(docker::Stats{});  // answers at once, on this thread
      });
  docker_.FallbackSample(id);
  ASSERT_TRUE(docker_.FallbackSample(id).has_value());
  docker_.SetStatsFetcher(
      [&](std::string, std::function<void(Result<docker::Stats>)> done) {
        done(MakeError(ErrorCode::kNotFound, "not running"));
      });
  docker_.FallbackSample(id);
  EXPECT_FALSE(docker_.FallbackSample(id).has_value());
}

TEST_F(DockerMetadataTest, WaitFirstContactReturnsOnEitherOutcome) {
  const auto start = std::chrono::steady_clock::now();
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    docker_.OnUp(false);
  });
  docker_.WaitFirstContact(5s);
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace leakwatch::exporter::detail
