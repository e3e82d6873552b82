// Docker's view of the containers, joined to cgroup samples by container ID:
// the inventory the docker::Watcher keeps current, served to the sampler as
// a MetadataSource (names, labels, and stats for containers whose cgroups
// cannot be read), and whether it is current (leakwatch_docker_up).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker-api/docker.h"
#include "exporter/detail/metadata.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::exporter::detail {

// Thread-safety: the docker::Listener methods run on the watcher's thread,
// the MetadataSource methods on the sampling thread, up() on any; all lock.
class DockerMetadata final : public MetadataSource, public docker::Listener {
 public:
  using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;
  // Starts a stats request; the callback may run on any thread, later.
  using StatsFetcher = std::function<void(
      std::string id, std::function<void(Result<docker::Stats>)> done)>;

  // A stats reading older than stats_max_age is not used (Docker went
  // away: the series end rather than freeze at their last value).
  DockerMetadata(std::chrono::milliseconds stats_max_age, log::Logger& logger,
                 SteadyClock clock = std::chrono::steady_clock::now);

  // Set before the watcher starts; without one, no stats fallback.
  void SetStatsFetcher(StatsFetcher fetcher);

  // MetadataSource.
  std::shared_ptr<const ContainerMetadata> Lookup(
      std::string_view id) const override;
  std::vector<std::pair<std::string, std::string>> Running() const override;
  std::optional<cgroup::Sample> FallbackSample(
      std::string_view id) const override;

  // docker::Listener.
  void OnSynced(std::vector<docker::Container> running) override;
  void OnChanged(docker::Container container) override;
  void OnDied(const std::string& id) override;
  void OnOom(const std::string& id) override;
  void OnDestroyed(const std::string& id) override;
  void OnUp(bool up) override;

  bool up() const { return up_; }

  // Waits until the watcher has reported its first attempt, either way, or
  // the timeout passes: at startup, so the first pass already has names.
  void WaitFirstContact(std::chrono::milliseconds timeout) const;

 private:
  struct Entry {
    std::shared_ptr<const ContainerMetadata> metadata;
    std::string state;
    std::string cgroup_path;
    std::optional<std::uint64_t> memory_limit_bytes;
  };
  // The fallback's state per container; mutable because a lookup also
  // asks for the next reading.
  struct Fallback {
    std::optional<cgroup::Sample> sample;
    std::chrono::steady_clock::time_point fetched_at;
    bool in_flight = false;
    bool logged = false;
  };

  Entry Build(const docker::Container& c,
              std::optional<std::uint64_t> oom_events) const;
  void StatsArrived(const std::string& id, Result<docker::Stats> stats) const;

  std::chrono::milliseconds stats_max_age_;
  log::Logger& logger_;
  SteadyClock clock_;
  StatsFetcher fetcher_;
  std::atomic<bool> up_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable contacted_cv_;
  bool contacted_ = false;  // guarded by mu_
  std::map<std::string, Entry, std::less<>> containers_;
  mutable std::map<std::string, Fallback, std::less<>> fallback_;
};

}  // namespace leakwatch::exporter::detail
