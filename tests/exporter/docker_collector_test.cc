// The collector golden with Docker labels, and leakwatch_docker_up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "exporter/detail/collectors.h"
#include "exporter/detail/docker_metadata.h"
#include "tests/exporter/docker_fixtures.h"
#include "tests/golden.h"

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using fixtures::kMiB;
using fixtures::kNow;
using fixtures::Web;

// The collector golden with Docker's labels: one container Docker
// described (allow-listed labels included), one it never did (id only).
std::shared_ptr<Snapshot> DockerSnapshot() {
  auto snap = std::make_shared<Snapshot>();
  ContainerSnapshot named;
  named.id = std::string(64, 'a');
  named.cgroup_path = "/docker/" + named.id;
  named.sample.usage_bytes = 200 * kMiB;
  named.sample.working_set_bytes = 150 * kMiB;
  named.sample.rss_bytes = 140 * kMiB;
  named.sample.cache_bytes = 60 * kMiB;
  named.sample.limit_bytes = 512 * kMiB;
  named.sample.cpu_usage_ns = 2'500'000'000;
  named.first_seen_seconds = kNow - 60;
  auto meta = std::make_shared<ContainerMetadata>();
  const docker::Container web = Web();
  meta->name = web.name;
  meta->image = web.image;
  meta->compose_project = web.compose_project;
  meta->compose_service = web.compose_service;
  meta->labels = web.labels;
  meta->started_at_seconds = web.started_at_seconds;
  // No kernel OOM counter (an old v1 kernel): Docker's events count.
  meta->oom_events = 3;
  named.metadata = meta;
  ContainerSnapshot anonymous;
  anonymous.id = std::string(64, '0');
  anonymous.cgroup_path = "/docker/" + anonymous.id;
  anonymous.sample.usage_bytes = 10 * kMiB;
  anonymous.sample.working_set_bytes = 8 * kMiB;
  anonymous.sample.rss_bytes = 7 * kMiB;
  anonymous.sample.cache_bytes = 3 * kMiB;
  anonymous.sample.oom_kills = 1;
  anonymous.first_seen_seconds = kNow - 30;
  snap->containers = {anonymous, named};
  snap->passes = 3;
  snap->pass_end_seconds = kNow - 1;
  snap->pass_duration_seconds = 0.001;
  snap->label_keys = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"com.example.team", "com.example/team", "tier",
                               "not.on.this.container"});
  return snap;
}

std::string RenderWithDocker(std::shared_ptr<Snapshot> snap, bool up) {
  SnapshotBox box;
  box.Publish(std::move(snap));
  log::Logger quiet(log::Level::kError, log::Format::kLogfmt);
  DockerMetadata docker(15s, quiet);
  docker.OnUp(up);
  ExporterInfo info;
  info.version = "1.2.3";
  info.revision = "abcdef";
  std::vector<std::shared_ptr<prometheus::Collectable>> c = {
      std::make_shared<ContainerCollector>(box),
      std::make_shared<ExporterCollector>(
          box, info,
          [] {
            return std::chrono::system_clock::time_point(
                std::chrono::seconds(1'800'000'000));
          }),
      std::make_shared<DockerCollector>(docker)};
  return Render(c);
}

TEST(DockerCollectorGolden, NamesImagesComposeAndAllowListedLabels) {
  leakwatch::testing::ExpectMatchesGolden(
      "collector_docker.prom", RenderWithDocker(DockerSnapshot(), true));
}

TEST(DockerCollectorGolden, EveryPerContainerSeriesCarriesTheLabels) {
  const std::string text = RenderWithDocker(DockerSnapshot(), true);
  const std::string named_id = "id=\"" + std::string(64, 'a') + "\"";
  std::istringstream lines(text);
  std::string line;
  int series = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("leakwatch_container_", 0) != 0) continue;
    if (line.find(named_id) == std::string::npos) {
      // Docker never described this one: id only.
      EXPECT_THAT(line, Not(HasSubstr("name="))) << line;
      continue;
    }
    ++series;
    for (const char* label :
         {"name=\"shop-web-1\"", "image=\"registry.example/shop/web:1.4\"",
          "compose_project=\"shop\"", "compose_service=\"web\"",
          "container_label_com_example_team=\"payments\"",
          "container_label_tier=\"front\""}) {
      EXPECT_THAT(line, HasSubstr(label)) << line;
    }
    EXPECT_THAT(line, Not(HasSubstr("not_on_this_container")));
  }
  EXPECT_GE(series, 8);
  // Docker's start time wins over first-seen; Docker's OOM count stands in
  // for a missing kernel counter, and never replaces a present one.
  EXPECT_THAT(text, HasSubstr("leakwatch_container_start_time_seconds{"
                              "compose_project=\"shop\""));
  EXPECT_THAT(text, HasSubstr("} 1799992800\n"));
  EXPECT_THAT(text,
              HasSubstr("leakwatch_container_memory_oom_events_total{id=\"" +
                        std::string(64, '0') + "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("name=\"shop-web-1\"} 3\n"));
}

TEST(DockerCollectorGolden, DockerUpFollowsTheWatcher) {
  EXPECT_THAT(RenderWithDocker(DockerSnapshot(), true),
              HasSubstr("\nleakwatch_docker_up 1\n"));
  EXPECT_THAT(RenderWithDocker(DockerSnapshot(), false),
              HasSubstr("\nleakwatch_docker_up 0\n"));
}

}  // namespace
}  // namespace leakwatch::exporter::detail
