#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "cgroup/cgroup.h"
#include "exporter/detail/collector.h"
#include "exporter/detail/landing_page.h"
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
  SamplingThread(detail::Sampler& sampler, detail::SnapshotBox& box,
                 std::chrono::milliseconds interval)
      : sampler_(sampler), box_(box), interval_(interval) {}

  void Start() {
    thread_ = std::thread([this] { Loop(); });
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
    auto next = std::chrono::steady_clock::now() + interval_;
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
      }
      box_.Publish(sampler_.RunPass());
      // A pass that overran skips the ticks it missed rather than running
      // back to back: samples stay evenly spaced.
      const auto now = std::chrono::steady_clock::now();
      next += interval_;
      while (next <= now) next += interval_;
    }
  }

  detail::Sampler& sampler_;
  detail::SnapshotBox& box_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
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

}  // namespace

int Run(const config::Config& config, log::Logger& logger) {
  logger.Info("Starting leakwatch", {{"version", config::Version()},
                                     {"revision", config::Revision()}});
  for (const auto& [key, value] : config::Describe(config)) {
    logger.Debug("Configuration", {{"key", key}, {"value", value}});
  }

  RaiseFileLimit(logger);
  auto layout = cgroup::DetectLayout(config.cgroup_root);
  if (!layout) {
    logger.Error("Cannot find cgroups", {{"err", layout.error().message}});
    return 1;
  }
  logger.Info("Detected cgroup layout", {{"layout", layout->Describe()}});
  if (config.docker_enabled()) {
    // TODO(leakwatch): the Docker client arrives with issue #5; until then
    // containers are discovered from cgroups alone.
    logger.Warn(
        "Docker metadata is not implemented yet; discovering from cgroups only",
        {{"docker_host", config.docker_host}});
  }

  std::vector<std::chrono::milliseconds> windows;
  for (const auto& w : config.leak_windows) windows.push_back(w.duration);
  const store::Geometry geometry =
      store::Geometry::For(config.sample_interval, windows);

  const detail::WallClock clock = [] {
    return std::chrono::system_clock::now();
  };
  detail::SnapshotBox box;
  detail::Sampler sampler(*layout, geometry, clock, logger);
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
  info.sample_interval = config.sample_interval;
  info.config_reload_successful = true;
  info.config_reload_success_seconds = NowSeconds();

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      std::make_shared<detail::SnapshotCollector>(box, info, clock),
      std::make_shared<detail::ProcessCollector>(config.procfs)};

  Routes routes;
  routes.telemetry_path = config.telemetry_path;
  routes.metrics = [collectables] { return detail::Render(collectables); };
  routes.healthy = [&box, clock, interval = config.sample_interval] {
    return detail::SamplingCurrent(
        *box.Get(),
        std::chrono::duration<double>(clock().time_since_epoch()).count(),
        interval);
  };
  routes.landing_page = detail::LandingPage(config.telemetry_path);

  asio::io_context io(1);
  HttpServer server(io, routes, logger);
  auto bound = server.Listen(config.listen_address);
  if (!bound) {
    logger.Error("Cannot listen", {{"address", config.listen_address},
                                   {"err", bound.error().message}});
    return 1;
  }
  logger.Info("Listening on", {{"address", *bound}});

  SamplingThread sampling(sampler, box, config.sample_interval);
  sampling.Start();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer grace(io);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    logger.Info("Received signal, exiting gracefully",
                {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    server.Stop();
    // Scrapes already in flight get a moment to finish; idle keep-alive
    // connections do not hold the exit.
    grace.expires_after(std::chrono::milliseconds(500));
    grace.async_wait([&io](const boost::system::error_code&) { io.stop(); });
  });

  io.run();
  sampling.Stop();
  logger.Info("Stopped");
  return 0;
}

}  // namespace leakwatch::exporter
