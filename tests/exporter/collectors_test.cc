// The collectors behind /metrics, rendered: the golden exposition of a
// fixed snapshot, and the process's own series.
#include "exporter/detail/collectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/golden.h"

namespace leakwatch::exporter::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr double kNow = 1'800'000'000.0;

WallClock FixedClock(double seconds) {
  return [seconds] {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(seconds)));
  };
}

std::shared_ptr<Snapshot> TwoContainers() {
  auto snap = std::make_shared<Snapshot>();
  ContainerSnapshot limited;
  limited.id = std::string(64, 'a');
  limited.cgroup_path = "/docker/" + limited.id;
  limited.sample.usage_bytes = 200 * kMiB + 4096;
  limited.sample.working_set_bytes = 150 * kMiB;
  limited.sample.rss_bytes = 140 * kMiB;
  limited.sample.cache_bytes = 60 * kMiB;
  limited.sample.swap_bytes = 0;
  limited.sample.limit_bytes = 512 * kMiB;
  limited.sample.oom_kills = 2;
  limited.sample.cpu_usage_ns = 123'456'789'012;
  limited.sample.cpu_throttled_ns = 5'000'000'001;
  limited.sample.psi_memory_some_us = 1'500'000;
  limited.sample.psi_memory_full_us = 250;
  limited.sample.shmem_bytes = 40 * kMiB;
  limited.sample.kernel_bytes = 6 * kMiB;
  limited.sample.mapped_file_bytes = 12 * kMiB;
  limited.first_seen_seconds = kNow - 3600;
  ContainerSnapshot unlimited;
  unlimited.id = std::string(64, '0');
  unlimited.cgroup_path = "/system.slice/docker-" + unlimited.id + ".scope";
  unlimited.sample.usage_bytes = 10 * kMiB;
  unlimited.sample.working_set_bytes = 8 * kMiB;
  unlimited.sample.rss_bytes = 7 * kMiB;
  unlimited.sample.cache_bytes = 3 * kMiB;
  unlimited.first_seen_seconds = kNow - 60;
  // Leak verdicts for two windows: 15m judged (a leak in the limited
  // container, flat in the other); 1h not yet covered in the one, covered
  // but blind in the other.
  snap->window_labels = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"15m", "1h"});
  LeakVerdict leaking;
  leaking.ready = true;
  leaking.troughs_seen = true;
  leaking.suspected = true;
  leaking.score = 0.875;
  leaking.slope_bytes_per_second = 2048;
  leaking.r_squared = 0.96875;
  leaking.time_to_limit_seconds = 153600;
  leaking.baseline_bytes = 209715200;
  // What leaks: anonymous memory, in one process; only kinds the kernel
  // reports get a slope (no sock or pagetables here).
  leaking.kind = estimator::Kind::kAnon;
  leaking.kind_slopes[0] = 1920;  // anon
  leaking.kind_slopes[1] = 0;     // shmem
  leaking.kind_slopes[2] = 128;   // kernel
  leaking.kind_slopes[3] = 96;    // slab
  leaking.process = estimator::Attribution{4711, "node", 1900};
  LeakVerdict flat;
  flat.ready = true;
  flat.troughs_seen = true;
  flat.slope_bytes_per_second = -12.5;
  flat.r_squared = 0.015625;
  flat.baseline_bytes = 52428800;
  LeakVerdict young;  // not ready: only score and suspected, both 0
  young.slope_bytes_per_second = 99999;
  young.baseline_bytes = 99999;
  // Covered but blind (no collection in some quarter): its fit is
  // exported, its ready is 0.
  LeakVerdict blind;
  blind.ready = true;
  blind.slope_bytes_per_second = 256;
  blind.r_squared = 0.5;
  blind.baseline_bytes = 52428800;
  limited.leak = {leaking, young};
  unlimited.leak = {flat, blind};
  snap->containers = {unlimited, limited};
  snap->passes = 7;
  snap->pass_end_seconds = kNow - 1;
  snap->pass_duration_seconds = 0.0025;
  return snap;
}

ExporterInfo Info() {
  ExporterInfo info;
  info.version = "1.2.3";
  info.revision = "abcdef";
  info.config =
      std::make_shared<ConfigStatus>(std::chrono::seconds(5), kNow - 7200);
  return info;
}

std::string RenderSnapshot(std::shared_ptr<Snapshot> snap, double now) {
  SnapshotBox box;
  box.Publish(std::move(snap));
  std::vector<std::shared_ptr<prometheus::Collectable>> c = {
      std::make_shared<ContainerCollector>(box),
      std::make_shared<ExporterCollector>(box, Info(), FixedClock(now))};
  return Render(c);
}

TEST(SnapshotExposition, RendersEveryContractSeriesSortedLikeTheGoldenFile) {
  leakwatch::testing::ExpectMatchesGolden(
      "collector.prom", RenderSnapshot(TwoContainers(), kNow));
}

TEST(SnapshotExposition, LeavesUnknownValuesOutRatherThanWritingZero) {
  std::string text = RenderSnapshot(TwoContainers(), kNow);
  const std::string unlimited = "id=\"" + std::string(64, '0') + "\"";
  EXPECT_THAT(text, Not(HasSubstr("leakwatch_container_memory_limit_bytes{" +
                                  unlimited)));
  EXPECT_THAT(text, Not(HasSubstr("leakwatch_container_memory_swap_bytes{" +
                                  unlimited)));
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_limit_bytes{id=\"" +
                              std::string(64, 'a') + "\"} 536870912\n"));
}

TEST(SnapshotExposition, WritesByteValuesExactly) {
  std::string text = RenderSnapshot(TwoContainers(), kNow);
  EXPECT_THAT(text, HasSubstr("} 209719296\n"));  // 200 MiB + 4096
  EXPECT_THAT(text,
              HasSubstr("leakwatch_container_cpu_usage_seconds_total{id=\"" +
                        std::string(64, 'a') + "\"} 123.456789012\n"));
}

TEST(SnapshotExposition, LeakSeriesCarryTheContainersIdentityAndWindow) {
  auto snap = TwoContainers();
  auto metadata = std::make_shared<ContainerMetadata>();
  metadata->name = "shop-cart-1";
  metadata->image = "shop/cart:3";
  metadata->compose_project = "shop";
  metadata->labels = {{"com.example.team", "payments"}};
  snap->containers[1].metadata = metadata;
  snap->label_keys = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"com.example.team"});
  const std::string text = RenderSnapshot(snap, kNow);
  const std::string labels =
      "{compose_project=\"shop\",container_label_com_example_team="
      "\"payments\",id=\"" +
      std::string(64, 'a') + "\",image=\"shop/cart:3\",name=\"shop-cart-1\",";
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_suspected" +
                              labels + "window=\"15m\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_time_to_limit_"
                              "seconds" +
                              labels + "window=\"15m\"} 153600\n"));
  // Not ready: score and suspected only, never the fit.
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_score" + labels +
                              "window=\"1h\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("window=\"1h\"} 99999")));
  // Ready says which windows judge: the judged one, not the young one.
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_ready" + labels +
                              "window=\"15m\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_ready" + labels +
                              "window=\"1h\"} 0\n"));
}

TEST(SnapshotExposition, ABlindWindowShowsItsFitButIsNotReady) {
  const std::string text = RenderSnapshot(TwoContainers(), kNow);
  const std::string flat = "{id=\"" + std::string(64, '0') + "\",";
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_slope_bytes_per_"
                              "second" +
                              flat + "window=\"1h\"} 256\n"));
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_ready" + flat +
                              "window=\"1h\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_ready" + flat +
                              "window=\"15m\"} 1\n"));
}

TEST(SnapshotExposition, WhatLeaksOnlyForSuspectedWindows) {
  const std::string text = RenderSnapshot(TwoContainers(), kNow);
  const std::string leaky = "id=\"" + std::string(64, 'a') + "\"";
  EXPECT_THAT(text, HasSubstr("leakwatch_container_memory_leak_info{" + leaky +
                              ",kind=\"anon\",pid=\"4711\",process=\"node\","
                              "window=\"15m\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("leakwatch_container_memory_leak_kind_slope_bytes_per_"
                        "second{" +
                        leaky + ",kind=\"slab\",window=\"15m\"} 96\n"));
  // Unknown kinds, the unsuspected window and the flat container: nothing.
  EXPECT_THAT(text, Not(HasSubstr("kind=\"sock\"")));
  EXPECT_THAT(text, Not(HasSubstr("window=\"1h\",kind")));
  // Series per suspected window: one leak_info, one slope per known kind.
  std::size_t info = 0, slopes = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("leakwatch_container_memory_leak_info{")) ++info;
    if (line.starts_with(
            "leakwatch_container_memory_leak_kind_slope_bytes_per_second{")) {
      ++slopes;
    }
  }
  EXPECT_EQ(info, 1u);
  EXPECT_EQ(slopes, 4u);  // anon, shmem, kernel, slab
  // A suspected window whose process is not known names none.
  auto snap = TwoContainers();
  snap->containers[1].leak[0].process.reset();
  EXPECT_THAT(
      RenderSnapshot(snap, kNow),
      HasSubstr("kind=\"anon\",pid=\"\",process=\"\",window=\"15m\"} 1"));
}

TEST(SnapshotExposition, UpFollowsTheAgeOfTheLastPass) {
  EXPECT_THAT(RenderSnapshot(TwoContainers(), kNow),
              HasSubstr("\nleakwatch_up 1\n"));
  // 11 s after a pass at a 5 s interval: more than two intervals.
  EXPECT_THAT(RenderSnapshot(TwoContainers(), kNow + 10),
              HasSubstr("\nleakwatch_up 0\n"));
  EXPECT_THAT(RenderSnapshot(std::make_shared<Snapshot>(), kNow),
              HasSubstr("\nleakwatch_up 0\n"));
}

TEST(SnapshotExposition, OmitsPerContainerFamiliesWithoutContainers) {
  std::string text = RenderSnapshot(std::make_shared<Snapshot>(), kNow);
  EXPECT_THAT(text, Not(HasSubstr("leakwatch_container_memory")));
  EXPECT_THAT(text, HasSubstr("\nleakwatch_containers 0\n"));
}

TEST(ProcessCollector, ExportsTheStandardSeriesForThisProcess) {
  std::vector<std::shared_ptr<prometheus::Collectable>> c = {
      std::make_shared<ProcessCollector>("/proc")};
  std::string text = Render(c);
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_start_time_seconds", "process_open_fds", "process_max_fds",
        "process_virtual_memory_bytes"}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name + " ")) << name;
  }
}

}  // namespace
}  // namespace leakwatch::exporter::detail
