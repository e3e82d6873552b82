// Run: the daemon's wiring, as the steps of a Daemon's life (prepare,
// start Docker, the first pass, serve, reload on SIGHUP, shut down).

#include <fmt/format.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "cgroup/cgroup.h"
#include "docker-api/docker.h"
#include "exporter/detail/api.h"
#include "exporter/detail/collectors.h"
#include "exporter/detail/container_labels.h"
#include "exporter/detail/docker_metadata.h"
#include "exporter/detail/landing_page.h"
#include "exporter/detail/reload.h"
#include "exporter/detail/routes.h"
#include "exporter/detail/sampler.h"
#include "exporter/detail/sampling_thread.h"
#include "exporter/exporter.h"
#include "proc/proc.h"
#include "store/store.h"
#include "web/security.h"
#include "web/web.h"

namespace leakwatch::exporter {
namespace {

namespace asio = boost::asio;

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

// The limit of containers without one, read once: --path.procfs is a
// restart-only setting, and the host's memory does not change.
double HostMemory(const config::Config& config, log::Logger& logger) {
  auto mem = proc::ReadHostMemory(config.procfs);
  if (mem) return static_cast<double>(*mem);
  logger.Warn(
      "Cannot read the host's memory; containers without a memory limit "
      "get no time to limit",
      {{"err", mem.error().message}});
  return estimator::kUnknown;
}

// Whether the containers' PIDs can be read through --path.procfs, checked
// once (a restart-only setting). Without the host's PID namespace the
// PIDs in cgroup.procs are not the processes procfs shows: attribution by
// process is off, and this says so once; the memory kinds still work.
bool ProcessesVisible(const config::Config& config, log::Logger& logger) {
  auto host = proc::InHostPidNamespace(config.procfs);
  if (host && *host) return true;
  const std::string reason =
      host ? "leakwatch does not run in the host's PID namespace (pid: host "
             "in docker-compose, hostPID: true in Kubernetes)"
           : host.error().message;
  logger.Info("Attribution by process is off; memory kinds still work",
              {{"reason", reason}});
  return false;
}

// One daemon, from startup to exit. Members are declared in the order
// they are needed, so they are destroyed in reverse: the server and the
// sampling thread before what they read.
//
// Thread-safety: Run and every handler run on the thread that called Run
// (the I/O thread); the sampling and Docker threads are the members'.
class Daemon {
 public:
  Daemon(const config::Config& config, log::Logger& logger)
      : config_(config), logger_(logger) {}

  int Run() {
    if (!Prepare() || !StartDocker()) return 1;
    FirstPass();
    status_ =
        std::make_shared<detail::ConfigStatus>(config_.sample_interval, Now());
    // Registered before the listener opens, so that a signal sent as soon
    // as "Listening on" is logged is handled, not fatal; it waits in the
    // set until its handler is armed.
    signals_.emplace(io_, SIGINT, SIGTERM);
    hangup_.emplace(io_, SIGHUP);
    server_.emplace(io_, MakeRouter(), logger_);
    if (!Listen()) return 1;
    sampling_.emplace(*sampler_, box_);
    sampling_->Start();
    ArmHangup();
    ArmShutdown();
    io_.run();
    sampling_->Stop();
    if (docker_watcher_ != nullptr) docker_watcher_->Stop();
    logger_.Info("Stopped");
    return 0;
  }

 private:
  // Logs the configuration, then builds and checks what it asks for before
  // anything starts: filters, the web config and its certificates, the
  // cgroup layout.
  bool Prepare() {
    logger_.Info("Starting leakwatch", {{"version", config::Version()},
                                        {"revision", config::Revision()}});
    // The effective configuration, once, as one line. Fields view their
    // text, so the description outlives them.
    const auto described = config::Describe(config_);
    std::vector<log::Field> fields;
    for (const auto& [key, value] : described) fields.push_back({key, value});
    logger_.LogFields(log::Level::kInfo, "Loaded configuration", fields);
    auto loaded = detail::Prepare(config_);
    if (!loaded) {
      logger_.Error("Invalid configuration", {{"err", loaded.error().message}});
      return false;
    }
    loaded_ = std::move(*loaded);
    current_ = loaded_.config;
    RaiseFileLimit(logger_);
    auto layout = cgroup::DetectLayout(config_.cgroup_root);
    if (!layout) {
      logger_.Error("Cannot find cgroups", {{"err", layout.error().message}});
      return false;
    }
    logger_.Info("Detected cgroup layout", {{"layout", layout->Describe()}});
    layout_ = std::move(*layout);
    detail::LogLabelCollisions(
        detail::LabelAllowList(config_.containers.labels), logger_);
    return true;
  }

  // Docker names the containers cgroups found. The watcher runs on its own
  // thread (see docker::Watcher): list+inspect decoding and a hung daemon
  // stay away from the I/O thread that serves scrapes. It feeds the
  // inventory; the sampler reads the inventory by container ID each pass.
  bool StartDocker() {
    if (!config_.docker_enabled()) return true;
    auto endpoint = docker::ParseHost(config_.docker_host);
    if (!endpoint) {
      logger_.Error("Invalid Docker host", {{"err", endpoint.error().message}});
      return false;
    }
    docker::Options options;
    options.endpoint = *endpoint;
    // Stats fallback readings are requested every pass; three intervals
    // without one means Docker is not answering for that container.
    docker_metadata_ = std::make_unique<detail::DockerMetadata>(
        3 * config_.sample_interval, logger_);
    docker_watcher_ =
        std::make_unique<docker::Watcher>(options, *docker_metadata_, logger_);
    docker_metadata_->SetStatsFetcher(
        [watcher = docker_watcher_.get()](
            std::string id, std::function<void(Result<docker::Stats>)> done) {
          watcher->FetchStats(std::move(id), std::move(done));
        });
    docker_watcher_->Start();
    // A moment for the first sync, so the first pass (and scrape) already
    // has names; an absent daemon answers at once, a hung one costs this.
    docker_metadata_->WaitFirstContact(std::chrono::seconds(2));
    return true;
  }

  // The first pass runs before the listener opens, so the first scrape
  // already sees every container.
  void FirstPass() {
    std::vector<std::chrono::milliseconds> windows;
    for (const auto& w : config_.leak_windows) windows.push_back(w.duration);
    const store::Geometry geometry =
        store::Geometry::For(config_.sample_interval, windows);
    host_memory_ = HostMemory(config_, logger_);
    sampler_.emplace(*layout_, geometry, clock_, logger_,
                     docker_metadata_.get());
    loaded_.sampler.host_memory_bytes = host_memory_;
    processes_visible_ = ProcessesVisible(config_, logger_);
    loaded_.sampler.processes_visible = processes_visible_;
    sampler_->Reconfigure(loaded_.sampler);
    box_.Publish(sampler_->RunPass());
    logger_.Info("First sampling pass done",
                 {{"containers", std::to_string(box_.Get()->containers.size())},
                  {"history_bytes_per_container",
                   std::to_string(geometry.BytesPerContainer())}});
  }

  double Now() const {
    return std::chrono::duration<double>(clock_().time_since_epoch()).count();
  }

  // The collectors behind /metrics and the handlers of every path; all of
  // them read the published snapshots, so none waits for a pass.
  web::Router MakeRouter() {
    detail::ExporterInfo info;
    info.version = config::Version();
    info.revision = config::Revision();
    info.config = status_;
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
        std::make_shared<detail::ContainerCollector>(box_),
        std::make_shared<detail::ExporterCollector>(box_, info, clock_),
        std::make_shared<detail::ProcessCollector>(config_.procfs)};
    if (docker_metadata_ != nullptr) {
      collectables.push_back(
          std::make_shared<detail::DockerCollector>(*docker_metadata_));
    }
    detail::Routes routes;
    routes.telemetry_path = config_.telemetry_path;
    routes.metrics = [collectables] { return detail::Render(collectables); };
    routes.healthy = [this] {
      return detail::SamplingCurrent(*box_.Get(), Now(),
                                     status_->sample_interval());
    };
    detail::Page page = detail::LandingPage(config_.telemetry_path);
    routes.landing_page = std::move(page.html);
    routes.landing_page_policy = std::move(page.content_security_policy);
    // The series endpoint copies one container's rings under that
    // container's own short lock.
    routes.api = [this](const web::Request& request) {
      return detail::ServeApi(request, *box_.Get(), Now());
    };
    return detail::MakeRouter(routes);
  }

  bool Listen() {
    server_->Secure(loaded_.web);
    auto bound = server_->Listen(config_.listen_address);
    if (!bound) {
      logger_.Error("Cannot listen", {{"address", config_.listen_address},
                                      {"err", bound.error().message}});
      return false;
    }
    logger_.Info("Listening on", {{"address", *bound}});
    // exporter-toolkit's words, so the same grep works for every exporter.
    logger_.Info(
        loaded_.web->tls() != nullptr ? "TLS is enabled." : "TLS is disabled.",
        {{"address", *bound}, {"web", loaded_.web->description()}});
    return true;
  }

  // SIGHUP: re-read the files; apply what changed, or keep everything if
  // anything is wrong.
  void ArmHangup() {
    hangup_->async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      Reload();
      ArmHangup();
    });
  }

  void Reload() {
    logger_.Info("Loading configuration file",
                 {{"file", current_.config_file},
                  {"web_config_file", current_.web_config_file}});
    auto next = detail::PrepareReload(current_);
    if (!next) {
      status_->ReloadFailed();
      logger_.Error("Error reloading configuration; the old one stays",
                    {{"err", next.error().message}});
      return;
    }
    const auto changed = detail::Changed(current_, next->config);
    next->sampler.host_memory_bytes = host_memory_;
    next->sampler.processes_visible = processes_visible_;
    sampling_->Reconfigure(next->sampler);
    server_->Secure(next->web);
    logger_.SetLevel(next->config.log_level);
    status_->ReloadSucceeded(next->config.sample_interval, Now());
    if (next->config.containers.labels != current_.containers.labels) {
      detail::LogLabelCollisions(
          detail::LabelAllowList(next->config.containers.labels), logger_);
    }
    current_ = std::move(next->config);
    if (!next->needs_restart.empty()) {
      logger_.Warn(
          "Some settings change only at restart; they keep their running "
          "values",
          {{"settings", Join(next->needs_restart)}});
    }
    logger_.Info("Completed loading of configuration file",
                 {{"file", current_.config_file},
                  {"changed", Join(changed)},
                  {"web", next->web->description()}});
  }

  // SIGINT/SIGTERM: stop accepting; scrapes already in flight get a moment
  // to finish, idle keep-alive connections do not hold the exit.
  void ArmShutdown() {
    signals_->async_wait(
        [this](const boost::system::error_code& ec, int signo) {
          if (ec) return;
          logger_.Info("Received signal, exiting gracefully",
                       {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
          server_->Stop();
          hangup_->cancel();
          grace_.expires_after(std::chrono::milliseconds(500));
          grace_.async_wait(
              [this](const boost::system::error_code&) { io_.stop(); });
        });
  }

  const config::Config& config_;
  log::Logger& logger_;
  const detail::WallClock clock_ = [] {
    return std::chrono::system_clock::now();
  };
  detail::Loaded loaded_;
  // The running configuration; SIGHUP replaces it.
  config::Config current_;
  std::optional<cgroup::Layout> layout_;
  std::unique_ptr<detail::DockerMetadata> docker_metadata_;
  std::unique_ptr<docker::Watcher> docker_watcher_;
  double host_memory_ = estimator::kUnknown;
  bool processes_visible_ = false;
  detail::SnapshotBox box_;
  std::optional<detail::Sampler> sampler_;
  // What scrapes read of the last (re)load; made once the first pass is
  // done, the time of the startup load.
  std::shared_ptr<detail::ConfigStatus> status_;
  asio::io_context io_{1};
  std::optional<asio::signal_set> signals_;
  std::optional<asio::signal_set> hangup_;
  std::optional<web::Server> server_;
  std::optional<detail::SamplingThread> sampling_;
  asio::steady_timer grace_{io_};
};

}  // namespace

int Run(const config::Config& config, log::Logger& logger) {
  Daemon daemon(config, logger);
  return daemon.Run();
}

}  // namespace leakwatch::exporter
