#include <fmt/format.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "cgroup/cgroup.h"
#include "docker-api/docker.h"
#include "exporter/detail/api.h"
#include "exporter/detail/collector.h"
#include "exporter/detail/container_labels.h"
#include "exporter/detail/docker_metadata.h"
#include "exporter/detail/landing_page.h"
#include "exporter/detail/process_metrics.h"
#include "exporter/detail/reload.h"
#include "exporter/detail/sampler.h"
#include "exporter/exporter.h"
#include "exporter/http.h"
#include "store/store.h"

namespace leakwatch::exporter {
namespace {

namespace asio = boost::asio;

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs sampling passes on its own thread, one per interval, so a slow
// scrape never delays a sample and a slow pass never blocks a scrape.
class SamplingThread {
 public:
  SamplingThread(detail::Sampler& sampler, detail::SnapshotBox& box)
      : sampler_(sampler), box_(box) {}

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }

  // A reload: the settings go through the sampler's slot, and the thread
  // wakes to apply them in a pass right away; the new interval counts
  // from that pass.
  void Reconfigure(detail::SamplerSettings settings) {
    sampler_.Submit(std::move(settings));
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_all();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  ~SamplingThread() { Stop(); }

 private:
  void Loop() {
    auto next = std::chrono::steady_clock::now() + sampler_.interval();
    while (true) {
      bool woken = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, next, [this] { return stopping_ || wake_; });
        if (stopping_) return;
        woken = std::exchange(wake_, false);
      }
      // RunPass applies submitted settings first, so the interval is read
      // after it.
      box_.Publish(sampler_.RunPass());
      const auto interval = sampler_.interval();
      const auto now = std::chrono::steady_clock::now();
      if (woken) {
        next = now + interval;
        continue;
      }
      // A pass that overran skips the ticks it missed rather than running
      // back to back: samples stay evenly spaced.
      next += interval;
      while (next <= now) next += interval;
    }
  }

  detail::Sampler& sampler_;
  detail::SnapshotBox& box_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool wake_ = false;
  std::thread thread_;
};

// Each container keeps about seven cgroup files open; 1000 containers
// would exhaust the usual soft limit of 1024 descriptors. The hard limit is
// ours to take.
void RaiseFileLimit(log::Logger& logger) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur >= limit.rlim_max) {
    return;
  }
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    logger.Debug("Raised the open file limit",
                 {{"from", std::to_string(before)},
                  {"to", std::to_string(limit.rlim_cur)}});
  }
}

std::string Join(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ","));
}

}  // namespace

int Run(const config::Config& config, log::Logger& logger) {
  logger.Info("Starting leakwatch", {{"version", config::Version()},
                                     {"revision", config::Revision()}});
  // The effective configuration, once, as one line.
  const auto described = config::Describe(config);
  std::vector<log::Field> fields;
  for (const auto& [key, value] : described) fields.push_back({key, value});
  logger.LogFields(log::Level::kInfo, "Loaded configuration", fields);

  // Filters and the web config (certificates included) are checked before
  // anything starts.
  auto loaded = detail::Prepare(config);
  if (!loaded) {
    logger.Error("Invalid configuration", {{"err", loaded.error().message}});
    return 1;
  }

  RaiseFileLimit(logger);
  auto layout = cgroup::DetectLayout(config.cgroup_root);
  if (!layout) {
    logger.Error("Cannot find cgroups", {{"err", layout.error().message}});
    return 1;
  }
  logger.Info("Detected cgroup layout", {{"layout", layout->Describe()}});
  detail::LogLabelCollisions(detail::LabelAllowList(config.containers.labels),
                             logger);

  // Docker names the containers cgroups found. The watcher runs on its own
  // thread (see docker::Watcher): list+inspect decoding and a hung daemon
  // stay away from the I/O thread that serves scrapes. It feeds the
  // inventory; the sampler reads the inventory by container ID each pass.
  std::unique_ptr<detail::DockerMetadata> docker_metadata;
  std::unique_ptr<docker::Watcher> docker_watcher;
  if (config.docker_enabled()) {
    auto endpoint = docker::ParseHost(config.docker_host);
    if (!endpoint) {
      logger.Error("Invalid Docker host", {{"err", endpoint.error().message}});
      return 1;
    }
    docker::Options options;
    options.endpoint = *endpoint;
    // Stats fallback readings are requested every pass; three intervals
    // without one means Docker is not answering for that container.
    docker_metadata = std::make_unique<detail::DockerMetadata>(
        3 * config.sample_interval, logger);
    docker_watcher =
        std::make_unique<docker::Watcher>(options, *docker_metadata, logger);
    docker_metadata->SetStatsFetcher(
        [watcher = docker_watcher.get()](
            std::string id, std::function<void(Result<docker::Stats>)> done) {
          watcher->FetchStats(std::move(id), std::move(done));
        });
    docker_watcher->Start();
    // A moment for the first sync, so the first pass (and scrape) already
    // has names; an absent daemon answers at once, a hung one costs this.
    docker_metadata->WaitFirstContact(std::chrono::seconds(2));
  }

  std::vector<std::chrono::milliseconds> windows;
  for (const auto& w : config.leak_windows) windows.push_back(w.duration);
  const store::Geometry geometry =
      store::Geometry::For(config.sample_interval, windows);
  // The running configuration; SIGHUP replaces it.
  config::Config current = loaded->config;

  const detail::WallClock clock = [] {
    return std::chrono::system_clock::now();
  };
  // The limit of containers without one, read once: --path.procfs is a
  // restart-only setting, and the host's memory does not change.
  double host_memory = estimator::kUnknown;
  if (auto mem = detail::ReadHostMemory(config.procfs)) {
    host_memory = static_cast<double>(*mem);
  } else {
    logger.Warn(
        "Cannot read the host's memory; containers without a memory limit "
        "get no time to limit",
        {{"err", mem.error().message}});
  }
  detail::SnapshotBox box;
  detail::Sampler sampler(*layout, geometry, clock, logger,
                          docker_metadata.get());
  loaded->sampler.host_memory_bytes = host_memory;
  sampler.Reconfigure(loaded->sampler);
  // The first pass runs before the listener opens, so the first scrape
  // already sees every container.
  box.Publish(sampler.RunPass());
  logger.Info("First sampling pass done",
              {{"containers", std::to_string(box.Get()->containers.size())},
               {"history_bytes_per_container",
                std::to_string(geometry.BytesPerContainer())}});

  detail::ExporterInfo info;
  info.version = config::Version();
  info.revision = config::Revision();
  auto status = std::make_shared<detail::ConfigStatus>(config.sample_interval,
                                                       NowSeconds());
  info.config = status;

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      std::make_shared<detail::SnapshotCollector>(box, info, clock),
      std::make_shared<detail::ProcessCollector>(config.procfs)};
  if (docker_metadata != nullptr) {
    collectables.push_back(
        std::make_shared<detail::DockerCollector>(*docker_metadata));
  }

  Routes routes;
  routes.telemetry_path = config.telemetry_path;
  routes.metrics = [collectables] { return detail::Render(collectables); };
  routes.healthy = [&box, clock, status] {
    return detail::SamplingCurrent(
        *box.Get(),
        std::chrono::duration<double>(clock().time_since_epoch()).count(),
        status->sample_interval());
  };
  detail::Page page = detail::LandingPage(config.telemetry_path);
  routes.landing_page = std::move(page.html);
  routes.landing_page_policy = std::move(page.content_security_policy);
  // The API reads the same published snapshots as a scrape, so it never
  // waits for a pass; the series endpoint copies one container's rings
  // under that container's own short lock.
  routes.api = [&box, clock](const HttpRequest& request) {
    return detail::ServeApi(
        request, *box.Get(),
        std::chrono::duration<double>(clock().time_since_epoch()).count());
  };

  asio::io_context io(1);
  // Registered before the listener opens, so that a signal sent as soon as
  // "Listening on" is logged is handled, not fatal; it waits in the set
  // until its handler is armed.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::signal_set hangup(io, SIGHUP);
  HttpServer server(io, routes, logger);
  server.Secure(loaded->web);
  auto bound = server.Listen(config.listen_address);
  if (!bound) {
    logger.Error("Cannot listen", {{"address", config.listen_address},
                                   {"err", bound.error().message}});
    return 1;
  }
  logger.Info("Listening on", {{"address", *bound}});
  // exporter-toolkit's words, so the same grep works for every exporter.
  logger.Info(
      loaded->web->tls() != nullptr ? "TLS is enabled." : "TLS is disabled.",
      {{"address", *bound}, {"web", loaded->web->description()}});

  SamplingThread sampling(sampler, box);
  sampling.Start();

  // SIGHUP: re-read the files; apply what changed, or keep everything if
  // anything is wrong.
  std::function<void(const boost::system::error_code&, int)> on_hangup =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        logger.Info("Loading configuration file",
                    {{"file", current.config_file},
                     {"web_config_file", current.web_config_file}});
        auto next = detail::PrepareReload(current);
        if (!next) {
          status->ReloadFailed();
          logger.Error("Error reloading configuration; the old one stays",
                       {{"err", next.error().message}});
        } else {
          const auto changed = detail::Changed(current, next->config);
          next->sampler.host_memory_bytes = host_memory;
          sampling.Reconfigure(next->sampler);
          server.Secure(next->web);
          logger.SetLevel(next->config.log_level);
          status->ReloadSucceeded(next->config.sample_interval, NowSeconds());
          if (next->config.containers.labels != current.containers.labels) {
            detail::LogLabelCollisions(
                detail::LabelAllowList(next->config.containers.labels), logger);
          }
          current = std::move(next->config);
          if (!next->needs_restart.empty()) {
            logger.Warn(
                "Some settings change only at restart; they keep "
                "their running values",
                {{"settings", Join(next->needs_restart)}});
          }
          logger.Info("Completed loading of configuration file",
                      {{"file", current.config_file},
                       {"changed", Join(changed)},
                       {"web", next->web->description()}});
        }
        hangup.async_wait(on_hangup);
      };
  hangup.async_wait(on_hangup);

  asio::steady_timer grace(io);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    logger.Info("Received signal, exiting gracefully",
                {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    server.Stop();
    hangup.cancel();
    // Scrapes already in flight get a moment to finish; idle keep-alive
    // connections do not hold the exit.
    grace.expires_after(std::chrono::milliseconds(500));
    grace.async_wait([&io](const boost::system::error_code&) { io.stop(); });
  });

  io.run();
  sampling.Stop();
  if (docker_watcher != nullptr) docker_watcher->Stop();
  logger.Info("Stopped");
  return 0;
}

}  // namespace leakwatch::exporter
