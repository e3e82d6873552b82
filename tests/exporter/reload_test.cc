// Prepare and Reload: a new configuration is fully built (filters, web
// config, certificates) before anything is applied.
#include "exporter/detail/reload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/collectable.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "exporter/detail/collectors.h"
#include "exporter/detail/metadata.h"

namespace leakwatch::exporter::detail {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kWeb = std::string(LEAKWATCH_FIXTURES_DIR) + "/config/web";

config::Config Parse(std::vector<std::string> args) {
  auto r = config::Parse(args, [](const char*) { return std::nullopt; });
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return std::get<config::Config>(*r);
}

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest() {
    path_ = (fs::temp_directory_path() /
             ("leakwatch-reload-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() +
              ".yml"))
                .string();
  }
  ~ReloadTest() override { fs::remove(path_); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(ReloadTest, PrepareBuildsFiltersAndTheWebConfig) {
  Write(
      "containers:\n  exclude: [db]\n  labels: [team]\nweb:\n  config:\n"
      "    file: " +
      kWeb + "/users.yml\n");
  auto loaded = Prepare(Parse({"--config.file", path_}));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_NE(loaded->sampler.filter, nullptr);
  ContainerMetadata db;
  db.name = "db";
  ContainerMetadata web;
  web.name = "web";
  EXPECT_FALSE(loaded->sampler.filter->Watches(std::string(64, 'a'), &db));
  EXPECT_TRUE(loaded->sampler.filter->Watches(std::string(64, 'a'), &web));
  EXPECT_EQ(loaded->sampler.label_keys, std::vector<std::string>{"team"});
  EXPECT_EQ(loaded->sampler.interval, std::chrono::seconds(5));
  ASSERT_EQ(loaded->sampler.windows.size(), 3u);
  EXPECT_TRUE(loaded->web->auth().enabled());
}

TEST_F(ReloadTest, ABadWebConfigFailsPrepareWithItsLine) {
  auto loaded =
      Prepare(Parse({"--web.config.file", kWeb + "/plaintext_password.yml"}));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_THAT(loaded.error().message,
              StartsWith(kWeb + "/plaintext_password.yml:2:10: "));
}

TEST_F(ReloadTest, ReloadAppliesTheFileUnderTheFlagsAndKeepsRestartOnlyKeys) {
  Write("sample:\n  interval: 5s\n");
  config::Config running = Parse({"--config.file", path_, "--log.level=error"});
  Write(
      "sample:\n  interval: 1s\nweb:\n  listen_address: 127.0.0.1:1\n"
      "log:\n  level: debug\n  format: json\ncontainers:\n"
      "  include: [web]\n");
  auto next = PrepareReload(running);
  ASSERT_TRUE(next.has_value()) << next.error().message;
  EXPECT_EQ(next->sampler.interval, std::chrono::seconds(1));
  EXPECT_EQ(next->config.log_level, log::Level::kError);  // the flag
  // The listener and the log format cannot change under a running daemon.
  EXPECT_EQ(next->config.listen_address, running.listen_address);
  EXPECT_EQ(next->config.log_format, running.log_format);
  EXPECT_THAT(next->needs_restart,
              ElementsAre("web.listen-address", "log.format"));
  EXPECT_THAT(Changed(running, next->config),
              ElementsAre("sample.interval", "containers.include"));
}

TEST_F(ReloadTest, AnInvalidReloadIsAnError) {
  Write("sample:\n  interval: 5s\n");
  config::Config running = Parse({"--config.file", path_});
  Write("sample:\n  interval: 5s\ncontainers:\n  include: [\"(\"]\n");
  auto next = PrepareReload(running);
  ASSERT_FALSE(next.has_value());
  EXPECT_THAT(next.error().message, StartsWith(path_ + ":4:13: "));
}

TEST(ConfigStatus, ScrapesSeeEachReloadOutcome) {
  const double now = 1'800'000'000;
  auto status = std::make_shared<ConfigStatus>(std::chrono::seconds(5), now);
  ExporterInfo info;
  info.config = status;
  SnapshotBox box;
  auto snap = std::make_shared<Snapshot>();
  snap->passes = 1;
  snap->pass_end_seconds = now - 30;  // 30 s ago: late at 5 s, fine at 1 m
  box.Publish(snap);
  std::vector<std::shared_ptr<prometheus::Collectable>> c = {
      std::make_shared<ExporterCollector>(box, info, [now] {
        return std::chrono::system_clock::time_point(
            std::chrono::seconds(static_cast<std::int64_t>(now)));
      })};
  auto has = [&](const std::string& line) {
    return Render(c).find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("leakwatch_config_last_reload_successful 1"));
  EXPECT_TRUE(has("leakwatch_up 0"));

  status->ReloadFailed();
  EXPECT_TRUE(has("leakwatch_config_last_reload_successful 0"));
  EXPECT_TRUE(
      has("leakwatch_config_last_reload_success_timestamp_seconds 1800000000"));

  status->ReloadSucceeded(std::chrono::minutes(1), now + 60);
  EXPECT_TRUE(has("leakwatch_config_last_reload_successful 1"));
  EXPECT_TRUE(
      has("leakwatch_config_last_reload_success_timestamp_seconds 1800000060"));
  // leakwatch_up judges by the interval now in force.
  EXPECT_TRUE(has("leakwatch_up 1"));
}

}  // namespace
}  // namespace leakwatch::exporter::detail
