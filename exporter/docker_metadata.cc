#include "exporter/detail/docker_metadata.h"

#include "log/log.h"

namespace leakwatch::exporter::detail {
namespace {

cgroup::Sample ToSample(const docker::Stats& s,
                        std::optional<std::uint64_t> limit) {
  cgroup::Sample out;
  out.usage_bytes = s.usage_bytes;
  out.working_set_bytes = s.working_set_bytes;
  out.rss_bytes = s.rss_bytes;
  out.cache_bytes = s.cache_bytes;
  out.swap_bytes = s.swap_bytes;
  // The stats reply's own limit is the host's memory when none is set;
  // inspect's HostConfig.Memory tells unlimited apart.
  out.limit_bytes = limit;
  out.cpu_usage_ns = s.cpu_usage_ns;
  out.cpu_throttled_ns = s.cpu_throttled_ns;
  return out;
}

}  // namespace

DockerMetadata::DockerMetadata(std::chrono::milliseconds stats_max_age,
                               log::Logger& logger, SteadyClock clock)
    : stats_max_age_(stats_max_age),
      logger_(logger),
      clock_(std::move(clock)) {}

void DockerMetadata::SetStatsFetcher(StatsFetcher fetcher) {
  std::lock_guard lock(mu_);
  fetcher_ = std::move(fetcher);
}

DockerMetadata::Entry DockerMetadata::Build(
    const docker::Container& c, std::optional<std::uint64_t> oom_events) const {
  auto m = std::make_shared<ContainerMetadata>();
  m->name = c.name;
  m->image = c.image;
  m->compose_project = c.compose_project;
  m->compose_service = c.compose_service;
  m->labels = c.labels;
  m->started_at_seconds = c.started_at_seconds;
  m->oom_events = oom_events.value_or(0);
  return Entry{std::move(m), c.state, c.cgroup_path, c.memory_limit_bytes};
}

std::shared_ptr<const ContainerMetadata> DockerMetadata::Lookup(
    std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.metadata;
}

std::vector<std::pair<std::string, std::string>> DockerMetadata::Running()
    const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, e] : containers_) {
    if (e.state == "running") out.emplace_back(id, e.cgroup_path);
  }
  return out;
}

std::optional<cgroup::Sample> DockerMetadata::FallbackSample(
    std::string_view id) const {
  StatsFetcher fetcher;
  std::optional<cgroup::Sample> out;
  const std::string key(id);
  {
    std::lock_guard lock(mu_);
    auto known = containers_.find(id);
    if (known == containers_.end()) return std::nullopt;
    Fallback& f = fallback_[key];
    if (!f.logged) {
      logger_.Info(
          "No readable cgroup for container; sampling it through the Docker "
          "stats endpoint",
          {{"id", key},
           {"name", known->second.metadata->name},
           {"cgroup", known->second.cgroup_path}});
      f.logged = true;
    }
    if (f.sample && clock_() - f.fetched_at <= stats_max_age_) out = f.sample;
    // One request in flight per container: a slow daemon is not asked
    // again every pass.
    if (!f.in_flight && fetcher_) {
      f.in_flight = true;
      fetcher = fetcher_;
    }
  }
  // Outside the lock: a fetcher may answer at once, on this thread.
  if (fetcher) {
    fetcher(key, [this, key](Result<docker::Stats> stats) {
      StatsArrived(key, std::move(stats));
    });
  }
  return out;
}

void DockerMetadata::StatsArrived(const std::string& id,
                                  Result<docker::Stats> stats) const {
  std::lock_guard lock(mu_);
  auto f = fallback_.find(id);
  if (f == fallback_.end()) return;  // destroyed meanwhile
  f->second.in_flight = false;
  if (stats) {
    auto known = containers_.find(id);
    const auto limit = known != containers_.end()
                           ? known->second.memory_limit_bytes
                           : std::nullopt;
    f->second.sample = ToSample(*stats, limit);
    f->second.fetched_at = clock_();
  } else if (stats.error().code == ErrorCode::kNotFound) {
    f->second.sample.reset();  // stopped: its series end now
  } else {
    // Keep the last reading; it ages out after stats_max_age.
    logger_.Debug("Docker stats failed",
                  {{"id", id}, {"err", stats.error().message}});
  }
}

void DockerMetadata::OnSynced(std::vector<docker::Container> running) {
  std::lock_guard lock(mu_);
  std::map<std::string, Entry, std::less<>> next;
  for (const docker::Container& c : running) {
    // The OOM count survives a resync: it is ours, not Docker's.
    std::optional<std::uint64_t> oom;
    if (auto old = containers_.find(c.id); old != containers_.end()) {
      oom = old->second.metadata->oom_events;
    }
    logger_.Debug("Docker container", {{"id", c.id},
                                       {"name", c.name},
                                       {"image", c.image},
                                       {"cgroup", c.cgroup_path}});
    next.emplace(c.id, Build(c, oom));
  }
  // Gone after a resync: whatever Docker no longer lists.
  containers_ = std::move(next);
  for (auto it = fallback_.begin(); it != fallback_.end();) {
    it =
        containers_.count(it->first) != 0 ? std::next(it) : fallback_.erase(it);
  }
}

void DockerMetadata::OnChanged(docker::Container c) {
  std::lock_guard lock(mu_);
  std::optional<std::uint64_t> oom;
  if (auto old = containers_.find(c.id); old != containers_.end()) {
    oom = old->second.metadata->oom_events;
  }
  containers_.insert_or_assign(c.id, Build(c, oom));
}

void DockerMetadata::OnDied(const std::string& id) {
  std::lock_guard lock(mu_);
  // Kept (a restart brings the same ID back) but no longer running, so the
  // stats fallback stops asking for it.
  if (auto it = containers_.find(id); it != containers_.end()) {
    it->second.state = "exited";
  }
}

void DockerMetadata::OnOom(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  // Metadata is immutable once published: a scrape may hold the old one.
  auto next = std::make_shared<ContainerMetadata>(*it->second.metadata);
  next->oom_events = next->oom_events.value_or(0) + 1;
  logger_.Info("Docker reported an OOM kill",
               {{"id", id}, {"name", next->name}});
  it->second.metadata = std::move(next);
}

void DockerMetadata::OnDestroyed(const std::string& id) {
  std::lock_guard lock(mu_);
  containers_.erase(id);
  fallback_.erase(id);
}

void DockerMetadata::OnUp(bool up) {
  up_ = up;
  {
    std::lock_guard lock(mu_);
    contacted_ = true;
  }
  contacted_cv_.notify_all();
}

void DockerMetadata::WaitFirstContact(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  contacted_cv_.wait_for(lock, timeout, [this] { return contacted_; });
}

}  // namespace leakwatch::exporter::detail
