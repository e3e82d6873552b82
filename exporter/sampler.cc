#include "exporter/detail/sampler.h"

#include <algorithm>
#include <set>

#include "log/log.h"

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

void SnapshotBox::Publish(std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snapshot);
}

std::shared_ptr<const Snapshot> SnapshotBox::Get() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

Sampler::Sampler(cgroup::Layout layout, store::Geometry geometry,
                 WallClock clock, log::Logger& logger,
                 const MetadataSource* metadata)
    : layout_(std::move(layout)),
      geometry_(geometry),
      clock_(std::move(clock)),
      logger_(logger),
      metadata_(metadata),
      scratch_(cgroup::ContainerReader::kScratchSize) {}

void Sampler::Reconcile(const std::vector<cgroup::Container>& found,
                        double now) {
  std::set<std::string> present;
  for (const cgroup::Container& c : found) {
    present.insert(c.id);
    auto it = containers_.find(c.id);
    if (it != containers_.end() && it->second.container.path == c.path) {
      continue;
    }
    if (it != containers_.end()) containers_.erase(it);  // a moved cgroup
    // The history is allocated here, at discovery, at its full size, so
    // memory is steady from the first pass.
    logger_.Debug("Container appeared", {{"id", c.id}, {"cgroup", c.path}});
    containers_.emplace(
        c.id, Watched{c, std::nullopt, store::History(geometry_), std::nullopt,
                      now, false, false});
  }
  for (auto it = containers_.begin(); it != containers_.end();) {
    if (present.count(it->first) == 0) {
      if (!it->second.vanished) {
        logger_.Debug("Container gone", {{"id", it->first}});
      }
      it = containers_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Sampler::Sample(Watched& w, store::Millis t_ms) {
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
  }
  if (w.reported_error) {
    logger_.Info("Container cgroup readable again", {{"id", w.container.id}});
    w.reported_error = false;
  }
  w.last = *sample;
  store::Point p;
  p.t_ms = t_ms;
  p.bytes = {sample->working_set_bytes, sample->rss_bytes, sample->cache_bytes,
             sample->usage_bytes};
  w.history.Push(p);
  return true;
}

std::shared_ptr<const Snapshot> Sampler::RunPass() {
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
          metadata_ != nullptr ? metadata_->Lookup(w.container.id) : nullptr});
    }
  }

  ++passes_;
  snapshot->passes = passes_;
  snapshot->pass_end_seconds = ToSeconds(clock_());
  snapshot->pass_duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  return snapshot;
}

const store::History* Sampler::HistoryOf(const std::string& id) const {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : &it->second.history;
}

}  // namespace leakwatch::exporter::detail
