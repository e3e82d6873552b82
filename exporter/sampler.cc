#include "exporter/detail/sampler.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "log/log.h"
#include "proc/proc.h"

namespace leakwatch::exporter::detail {
namespace {

double ToSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

store::Millis ToMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}

}  // namespace

Sampler::Sampler(cgroup::Layout layout, store::Geometry geometry,
                 WallClock clock, log::Logger& logger,
                 const MetadataSource* metadata)
    : layout_(std::move(layout)),
      geometry_(geometry),
      clock_(std::move(clock)),
      logger_(logger),
      metadata_(metadata),
      scratch_(cgroup::ContainerReader::kScratchSize) {}

Sampler::Watched Sampler::NewWatched(cgroup::Container container,
                                     double now) const {
  return Watched{
      .container = std::move(container),
      .reader = std::nullopt,
      .history = std::make_shared<SharedHistory>(geometry_),
      .estimator = estimator::Estimator(window_durations_, leak_params_),
      .processes = estimator::ProcessTrends(window_durations_),
      .last = std::nullopt,
      .first_seen_seconds = now};
}

bool Sampler::Selected(const std::string& id) const {
  if (filter_ == nullptr || filter_->WatchesAll()) return true;
  std::shared_ptr<const ContainerMetadata> known =
      metadata_ != nullptr ? metadata_->Lookup(id) : nullptr;
  return filter_->Watches(id, known.get());
}

void Sampler::Reconcile(const std::vector<cgroup::Container>& found,
                        double now) {
  std::set<std::string> present;
  std::set<std::string> excluded;
  for (const cgroup::Container& c : found) {
    // A filtered container is not watched at all: no reader, no history.
    // Its name may arrive later (Docker answering), so it is asked again
    // every pass; the log says so only when the verdict changes.
    if (!Selected(c.id)) {
      excluded.insert(c.id);
      if (excluded_.count(c.id) == 0) {
        logger_.Debug("Container excluded by filter", {{"id", c.id}});
      }
      continue;
    }
    present.insert(c.id);
    auto it = containers_.find(c.id);
    if (it != containers_.end() && it->second.container.path == c.path &&
        !it->second.stats_fallback) {
      continue;
    }
    if (it != containers_.end()) containers_.erase(it);  // a moved cgroup
    // The history is allocated here, at discovery, at its full size, so
    // memory is steady from the first pass.
    logger_.Debug("Container appeared", {{"id", c.id}, {"cgroup", c.path}});
    containers_.emplace(c.id, NewWatched(c, now));
  }
  excluded_ = std::move(excluded);
  for (auto it = containers_.begin(); it != containers_.end();) {
    // Containers sampled through the runtime come and go with the
    // runtime's list (ReconcileFallback), not with discovery.
    if (present.count(it->first) == 0 && !it->second.stats_fallback) {
      if (!it->second.vanished && excluded_.count(it->first) == 0) {
        logger_.Debug("Container gone", {{"id", it->first}});
      }
      it = containers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Sampler::ReconcileFallback(double now) {
  std::set<std::string> running;
  std::set<std::string> missing;
  for (auto& [id, path] : metadata_->Running()) {
    running.insert(id);
    if (containers_.count(id) != 0 || !Selected(id)) continue;
    // A container that started between Discover and this call is not
    // missing: it gets one more pass to show up in cgroups.
    missing.insert(id);
    if (missing_.count(id) == 0) continue;
    logger_.Debug("Container missing from cgroups; sampled via the runtime",
                  {{"id", id}, {"cgroup", path}});
    auto added =
        containers_.emplace(id, NewWatched(cgroup::Container{id, path}, now));
    added.first->second.stats_fallback = true;
  }
  missing_ = std::move(missing);
  for (auto it = containers_.begin(); it != containers_.end();) {
    if (it->second.stats_fallback && running.count(it->first) == 0) {
      it = containers_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Sampler::SampleFallback(Watched& w, store::Millis t_ms) {
  // The reading fetched since the last pass; the next is requested now, so
  // the pass never waits on the runtime.
  auto sample = metadata_->FallbackSample(w.container.id);
  if (!sample) {
    w.last.reset();  // none yet, or stale: no series rather than old ones
    return true;
  }
  Record(w, *sample, t_ms);
  return true;
}

void Sampler::Record(Watched& w, const cgroup::Sample& sample,
                     store::Millis t_ms) {
  w.last = sample;
  // O(windows) per sample, plus one bounded evaluation of a window when one
  // of its buckets closes (docs/performance.md).
  estimator::Observation o;
  o.t_ms = t_ms;
  o.working_set = static_cast<double>(sample.working_set_bytes);
  o.rss = static_cast<double>(sample.rss_bytes);
  o.cache = static_cast<double>(sample.cache_bytes);
  o.usage = static_cast<double>(sample.usage_bytes);
  // What a leak runs into: the cgroup limit, else the host's memory.
  o.limit = sample.limit_bytes ? static_cast<double>(*sample.limit_bytes)
                               : host_memory_bytes_;
  auto known = [](const std::optional<std::uint64_t>& v) {
    return v ? static_cast<double>(*v) : estimator::kUnknown;
  };
  o.swap = known(sample.swap_bytes);
  o.shmem = known(sample.shmem_bytes);
  o.kernel = known(sample.kernel_bytes);
  o.sock = known(sample.sock_bytes);
  o.slab = known(sample.slab_bytes);
  o.kernel_stack = known(sample.kernel_stack_bytes);
  o.pagetables = known(sample.pagetables_bytes);
  const double signal = estimator::SignalOf(o);
  store::Point p;
  p.t_ms = t_ms;
  p.bytes = {sample.working_set_bytes, sample.rss_bytes, sample.cache_bytes,
             std::isfinite(signal) && signal > 0
                 ? static_cast<std::uint64_t>(signal)
                 : 0};
  w.history->Push(p);
  w.estimator.Update(o);
  ReadProcesses(w, t_ms);
}

void Sampler::ReadProcesses(Watched& w, store::Millis t_ms) {
  if (!processes_visible_ || w.stats_fallback ||
      t_ms < w.next_process_read_ms) {
    return;
  }
  // Never less often than 1/8 of the shortest window, so that a short
  // window still holds enough readings to fit a process's trend.
  std::chrono::milliseconds every = process_interval_;
  for (auto d : window_durations_) every = std::min(every, d / 8);
  w.next_process_read_ms = t_ms + std::max<store::Millis>(1, every.count());
  auto pids = cgroup::ReadProcesses(layout_, w.container);
  if (!pids) return;  // gone: the next sample ends the container
  // A container of thousands of processes costs a bounded read: the
  // largest are almost always among the first listed (the oldest).
  constexpr std::size_t kMaxProcessesRead = 256;
  process_scratch_.clear();
  for (std::size_t i = 0; i < pids->size() && i < kMaxProcessesRead; ++i) {
    auto memory = proc::ReadProcessMemory(procfs_, (*pids)[i]);
    if (!memory) continue;  // exited since, or a kernel thread
    process_scratch_.push_back({(*pids)[i], std::move(memory->comm),
                                static_cast<double>(memory->anon_bytes),
                                static_cast<double>(memory->shmem_bytes)});
  }
  w.processes.Update(t_ms, process_scratch_);
}

std::vector<LeakVerdict> Sampler::LeakVerdicts(const Watched& w) const {
  std::vector<LeakVerdict> out;
  out.reserve(w.estimator.verdicts().size());
  std::size_t window = 0;
  for (const estimator::Verdict& v : w.estimator.verdicts()) {
    LeakVerdict leak;
    leak.ready = v.ready;
    leak.troughs_seen = v.troughs_seen;
    leak.suspected = v.suspected;
    leak.score = v.score;
    leak.slope_bytes_per_second = v.slope_bytes_per_second;
    leak.r_squared = v.r_squared;
    leak.time_to_limit_seconds = v.time_to_limit_seconds;
    leak.baseline_bytes = v.baseline_bytes;
    leak.baseline_at_ms = v.baseline_at_ms;
    if (v.suspected && v.kind) {
      leak.kind = v.kind;
      leak.kind_slopes = v.kind_slopes_bytes_per_second;
      leak.process = w.processes.Attribute(
          window, *v.kind,
          v.kind_slopes_bytes_per_second[static_cast<std::size_t>(*v.kind)]);
    }
    out.push_back(std::move(leak));
    ++window;
  }
  return out;
}

bool Sampler::Sample(Watched& w, store::Millis t_ms) {
  if (w.stats_fallback) return SampleFallback(w, t_ms);
  auto vanish = [&](const Error& e) {
    if (!w.vanished) {
      logger_.Debug("Container gone",
                    {{"id", w.container.id}, {"reason", e.message}});
    }
    w.vanished = true;
    w.reader.reset();  // closes its descriptors
    w.last.reset();    // its series end
    return false;
  };
  auto report = [&](const char* what, const Error& e) {
    if (!w.reported_error) {
      logger_.Warn(what, {{"id", w.container.id}, {"err", e.message}});
      w.reported_error = true;
    }
  };

  if (!w.reader) {
    auto opened = cgroup::ContainerReader::Open(layout_, w.container);
    if (!opened) {
      if (opened.error().code == ErrorCode::kNotFound) {
        return vanish(opened.error());
      }
      report("Cannot open container cgroup", opened.error());
      // Listed but not ours to read (rootless Docker): the runtime's stats
      // endpoint reads it for us.
      if (metadata_ != nullptr && metadata_->Lookup(w.container.id)) {
        w.stats_fallback = true;
        return SampleFallback(w, t_ms);
      }
      return true;
    }
    w.reader.emplace(std::move(*opened));
  }
  auto sample = w.reader->Read(scratch_);
  if (!sample) {
    if (sample.error().code == ErrorCode::kNotFound) {
      return vanish(sample.error());
    }
    // A malformed file: keep the last good sample rather than lose the
    // container, and say so once, not every pass.
    report("Cannot read container cgroup", sample.error());
    return true;
  }
  if (w.vanished) {
    logger_.Debug("Container reappeared", {{"id", w.container.id}});
    w.vanished = false;
    // Its cgroup was made anew (a restart): the memory it starts from
    // has nothing to do with the trend before.
    w.estimator.Reset();
    w.processes.Clear();
  }
  if (w.reported_error) {
    logger_.Info("Container cgroup readable again", {{"id", w.container.id}});
    w.reported_error = false;
  }
  Record(w, *sample, t_ms);
  return true;
}

void Sampler::Reconfigure(const SamplerSettings& settings) {
  filter_ = settings.filter;
  label_keys_ =
      std::make_shared<const std::vector<std::string>>(settings.label_keys);
  windows_ = settings.windows;
  std::vector<std::chrono::milliseconds> durations;
  std::vector<std::string> labels;
  for (const config::Window& w : settings.windows) {
    durations.push_back(w.duration);
    labels.push_back(w.label);
  }
  const store::Geometry geometry =
      store::Geometry::For(settings.interval, durations);
  const bool windows_changed = durations != window_durations_;
  const bool params_changed = settings.leak_params != leak_params_;
  window_durations_ = durations;
  window_labels_ =
      std::make_shared<const std::vector<std::string>>(std::move(labels));
  window_durations_shared_ =
      std::make_shared<const std::vector<std::chrono::milliseconds>>(
          window_durations_);
  leak_params_ = settings.leak_params;
  host_memory_bytes_ = settings.host_memory_bytes;
  process_interval_ = settings.process_interval;
  procfs_ = settings.procfs;
  processes_visible_ = settings.processes_visible;
  for (auto it = containers_.begin(); it != containers_.end();) {
    if (!Selected(it->first)) {
      logger_.Debug("Container excluded by filter", {{"id", it->first}});
      excluded_.insert(it->first);
      it = containers_.erase(it);
      continue;
    }
    // A no-op when the geometry is unchanged.
    it->second.history->Resize(geometry);
    if (windows_changed) {
      it->second.estimator.SetWindows(window_durations_);
      it->second.processes.SetWindows(window_durations_);
    }
    if (params_changed) it->second.estimator.SetParams(leak_params_);
    ++it;
  }
  geometry_ = geometry;
}

void Sampler::Submit(SamplerSettings settings) {
  std::lock_guard lock(pending_mu_);
  pending_ = std::move(settings);
}

std::shared_ptr<const Snapshot> Sampler::RunPass() {
  std::optional<SamplerSettings> pending;
  {
    std::lock_guard lock(pending_mu_);
    pending.swap(pending_);
  }
  if (pending) Reconfigure(*pending);

  const auto started = std::chrono::steady_clock::now();
  const auto wall = clock_();
  const double now = ToSeconds(wall);

  auto found = cgroup::Discover(layout_);
  if (found) {
    if (discovery_failing_) {
      logger_.Info("Container discovery recovered");
      discovery_failing_ = false;
    }
    Reconcile(*found, now);
    // Only after a discovery that worked: after a failed one, every
    // container would look missing from cgroups.
    if (metadata_ != nullptr) ReconcileFallback(now);
  } else if (!discovery_failing_) {
    // Keep the containers we know: a failure to walk the tree must not end
    // every series at once.
    logger_.Error("Container discovery failed",
                  {{"err", found.error().message}});
    discovery_failing_ = true;
  }

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->containers.reserve(containers_.size());
  for (auto& [id, w] : containers_) {
    if (Sample(w, ToMillis(wall)) && w.last) {
      snapshot->containers.push_back(ContainerSnapshot{
          w.container.id, w.container.path, *w.last, w.first_seen_seconds,
          metadata_ != nullptr ? metadata_->Lookup(w.container.id) : nullptr,
          LeakVerdicts(w), w.history});
    }
  }

  ++passes_;
  snapshot->passes = passes_;
  snapshot->label_keys = label_keys_;
  snapshot->window_labels = window_labels_;
  snapshot->window_durations = window_durations_shared_;
  snapshot->sample_interval = interval();
  snapshot->pass_end_seconds = ToSeconds(clock_());
  snapshot->pass_duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  return snapshot;
}

const store::History* Sampler::HistoryOf(const std::string& id) const {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : &it->second.history->owned();
}

}  // namespace leakwatch::exporter::detail
