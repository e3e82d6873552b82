#include <atomic>
#include <exception>
#include <thread>

#include "docker-api/detail/decode.h"
#include "docker-api/detail/http.h"
#include "docker-api/docker.h"
#include "log/log.h"

namespace leakwatch::docker {
namespace {

namespace asio = boost::asio;
using detail::ApiVersion;
using detail::DaemonInfo;

std::string Versioned(ApiVersion version, std::string_view path) {
  return "/v" + version.ToString() + std::string(path);
}

// {"type":["container"],"event":["start","die","oom","destroy","rename",
// "update"]}, URL-encoded. Filtering by event keeps exec_* and health
// events (one per healthcheck run) off the wire.
constexpr std::string_view kEventsQuery =
    "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22%3A%5B"
    "%22start%22%2C%22die%22%2C%22oom%22%2C%22destroy%22%2C%22rename%22%2C"
    "%22update%22%5D%7D";

// GET with the status checked, the body returned.
asio::awaitable<Result<std::string>> GetBody(const Options& options,
                                             std::string target,
                                             std::size_t max_body) {
  auto response =
      co_await detail::Get(options.endpoint, target, options.timeout, max_body);
  if (!response) co_return PassOn(response.error());
  auto ok = detail::CheckStatus(*response, target);
  if (!ok) co_return PassOn(ok.error());
  co_return std::move(response->body);
}

// /_ping's Api-Version header, or /version's ApiVersion when an old daemon
// sends no header.
asio::awaitable<Result<ApiVersion>> NegotiateVersion(const Options& options) {
  auto ping = co_await detail::Get(options.endpoint, "/_ping", options.timeout,
                                   detail::kSmallBody);
  if (!ping) co_return PassOn(ping.error());
  auto ok = detail::CheckStatus(*ping, "/_ping");
  if (!ok) co_return PassOn(ok.error());
  if (!ping->api_version.empty()) {
    auto daemon = detail::ParseApiVersion(ping->api_version);
    if (!daemon) co_return PassOn(daemon.error());
    co_return detail::Negotiate(*daemon);
  }
  auto body = co_await GetBody(options, "/version", detail::kSmallBody);
  if (!body) co_return PassOn(body.error());
  auto daemon = detail::DecodeVersion(*body);
  if (!daemon) co_return PassOn(daemon.error());
  co_return detail::Negotiate(*daemon);
}

asio::awaitable<Result<DaemonInfo>> FetchInfo(const Options& options,
                                              ApiVersion version) {
  auto body = co_await GetBody(options, Versioned(version, "/info"),
                               detail::kInspectBody);
  if (!body) co_return PassOn(body.error());
  co_return detail::DecodeInfo(*body);
}

asio::awaitable<Result<Container>> Inspect(const Options& options,
                                           ApiVersion version,
                                           const DaemonInfo& info,
                                           const std::string& id) {
  auto body = co_await GetBody(
      options, Versioned(version, "/containers/" + id + "/json"),
      detail::kInspectBody);
  if (!body) co_return PassOn(body.error());
  co_return detail::DecodeInspect(*body, info);
}

// Lists the running containers and inspects each. A container removed
// between the list and its inspect (404) is skipped: that is a race, not
// a failure.
asio::awaitable<Result<std::vector<Container>>> ListAndInspect(
    const Options& options, ApiVersion version, const DaemonInfo& info) {
  auto body = co_await GetBody(options, Versioned(version, "/containers/json"),
                               detail::kListBody);
  if (!body) co_return PassOn(body.error());
  auto ids = detail::DecodeList(*body);
  if (!ids) co_return PassOn(ids.error());
  std::vector<Container> out;
  out.reserve(ids->size());
  for (const std::string& id : *ids) {
    auto c = co_await Inspect(options, version, info, id);
    if (!c) {
      if (c.error().code == ErrorCode::kNotFound) continue;
      co_return PassOn(c.error());
    }
    out.push_back(std::move(*c));
  }
  co_return out;
}

}  // namespace

struct Watcher::Impl {
  Impl(Options o, Listener& l, log::Logger& lg)
      : options(std::move(o)), listener(l), logger(lg) {}

  // Everything below `io` is touched only on the watcher's thread.
  asio::awaitable<void> Run();
  asio::awaitable<Error> Session(bool& reached_up);
  asio::awaitable<Result<void>> Apply(const detail::Event& event);
  asio::awaitable<void> HealthLoop(std::uint64_t generation);
  asio::awaitable<void> Stats(std::string id,
                              std::function<void(Result<docker::Stats>)> done);
  void SetUp(bool value, std::size_t containers = 0);

  Options options;
  Listener& listener;
  log::Logger& logger;
  std::optional<ApiVersion> version;
  DaemonInfo info;
  detail::LineStream* events = nullptr;  // the open events stream, if any
  std::uint64_t generation = 0;          // bumped per session
  std::optional<Error> health_error;     // why the health check closed it
  bool up = false;
  bool reported_any = false;  // OnUp called at least once
  bool reported_down = false;

  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::thread thread;
  // Last, so it is destroyed first: the coroutine frames it still holds
  // refer to the members above.
  asio::io_context io{1};
};

void Watcher::Impl::SetUp(bool value, std::size_t containers) {
  if (value == up && reported_any) return;
  reported_any = true;
  up = value;
  if (value) {
    logger.Info("Connected to Docker",
                {{"docker_host", options.endpoint.Describe()},
                 {"api_version", version ? version->ToString() : ""},
                 {"cgroup_driver", info.cgroup_driver},
                 {"containers", std::to_string(containers)}});
    reported_down = false;
  }
  listener.OnUp(value);
}

asio::awaitable<void> Watcher::Impl::Run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto backoff = options.backoff_min;
  while (true) {
    bool reached_up = false;
    Error error{ErrorCode::kUnavailable, ""};
    const auto session_start = std::chrono::steady_clock::now();
    try {
      error = co_await Session(reached_up);
    } catch (const std::exception& e) {
      // Nothing in a session should throw; if something does, it is one
      // more reason to start over, not to stop watching.
      error = Error{ErrorCode::kUnavailable, std::string("error: ") + e.what()};
    }
    events = nullptr;
    ++generation;
    version.reset();
    SetUp(false);
    // Only a session that lasted resets the delay: a daemon whose events
    // stream breaks right after each sync must not be re-listed in a loop.
    if (reached_up && std::chrono::steady_clock::now() - session_start >
                          options.backoff_max) {
      backoff = options.backoff_min;
    }
    if (!reported_down) {
      // Once per outage: a daemon that stays away must not fill the log.
      logger.Warn(
          "Docker unavailable; serving cgroup metrics, names kept from the "
          "last contact",
          {{"docker_host", options.endpoint.Describe()},
           {"err", error.message},
           {"retry_in", std::to_string(backoff.count()) + "ms"}});
      reported_down = true;
    } else {
      logger.Debug("Docker still unavailable",
                   {{"err", error.message},
                    {"retry_in", std::to_string(backoff.count()) + "ms"}});
    }
    boost::system::error_code ec;
    timer.expires_after(backoff);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(backoff * 2, options.backoff_max);
  }
}

asio::awaitable<Error> Watcher::Impl::Session(bool& reached_up) {
  auto negotiated = co_await NegotiateVersion(options);
  if (!negotiated) co_return negotiated.error();
  version = *negotiated;
  auto daemon = co_await FetchInfo(options, *version);
  if (!daemon) co_return daemon.error();
  info = *daemon;

  // The stream opens before the list is taken, so nothing that happens
  // while we list is missed: those events wait in the socket and are
  // applied after the list, in order (a start re-inspects, a destroy
  // removes).
  detail::LineStream stream(co_await asio::this_coro::executor);
  auto opened = co_await stream.Open(
      options.endpoint, Versioned(*version, kEventsQuery), options.timeout);
  if (!opened) co_return opened.error();

  auto containers = co_await ListAndInspect(options, *version, info);
  if (!containers) co_return containers.error();
  const std::size_t count = containers->size();
  listener.OnSynced(std::move(*containers));

  events = &stream;
  health_error.reset();
  const std::uint64_t session = ++generation;
  SetUp(true, count);
  reached_up = true;
  asio::co_spawn(co_await asio::this_coro::executor, HealthLoop(session),
                 asio::detached);

  while (true) {
    auto line = co_await stream.NextLine();
    if (!line) {
      events = nullptr;
      co_return health_error ? *health_error : line.error();
    }
    if (line->empty()) continue;
    auto event = detail::DecodeEvent(*line);
    // A malformed event means we cannot know what we missed: resync.
    if (!event) {
      events = nullptr;
      co_return event.error();
    }
    auto applied = co_await Apply(*event);
    if (!applied) {
      events = nullptr;
      co_return applied.error();
    }
  }
}

asio::awaitable<Result<void>> Watcher::Impl::Apply(const detail::Event& event) {
  using Action = detail::Event::Action;
  switch (event.action) {
    case Action::kStart:
    case Action::kRename:
    case Action::kUpdate: {
      auto c = co_await Inspect(options, *version, info, event.id);
      if (!c) {
        // Removed again before we asked: its destroy event follows.
        if (c.error().code == ErrorCode::kNotFound) co_return Result<void>();
        co_return PassOn(c.error());
      }
      logger.Debug("Docker container changed", {{"id", c->id},
                                                {"name", c->name},
                                                {"state", c->state},
                                                {"cgroup", c->cgroup_path}});
      listener.OnChanged(std::move(*c));
      break;
    }
    case Action::kDie:
      listener.OnDied(event.id);
      break;
    case Action::kOom:
      listener.OnOom(event.id);
      break;
    case Action::kDestroy:
      logger.Debug("Docker container destroyed", {{"id", event.id}});
      listener.OnDestroyed(event.id);
      break;
    case Action::kOther:
      break;
  }
  co_return Result<void>();
}

asio::awaitable<void> Watcher::Impl::HealthLoop(std::uint64_t session) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (session == generation) {
    boost::system::error_code ec;
    timer.expires_after(options.health_interval);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (session != generation) co_return;
    auto ping = co_await detail::Get(options.endpoint, "/_ping",
                                     options.timeout, detail::kSmallBody);
    if (session != generation) co_return;
    Result<void> ok = ping ? detail::CheckStatus(*ping, "/_ping")
                           : Result<void>(PassOn(ping.error()));
    if (!ok) {
      health_error =
          Error{ok.error().code, "health check failed: " + ok.error().message};
      if (events != nullptr) events->Close();
      co_return;
    }
  }
}

asio::awaitable<void> Watcher::Impl::Stats(
    std::string id, std::function<void(Result<docker::Stats>)> done) {
  if (!version) {
    done(MakeError(ErrorCode::kUnavailable, "Docker is not connected"));
    co_return;
  }
  // one-shot (API 1.41) answers at once instead of waiting a second for a
  // second CPU sample we do not need.
  std::string target =
      Versioned(*version, "/containers/" + id + "/stats?stream=false");
  if (*version >= ApiVersion{1, 41}) target += "&one-shot=true";
  auto body = co_await GetBody(options, target, detail::kStatsBody);
  if (!body) {
    done(PassOn(body.error()));
    co_return;
  }
  done(detail::DecodeStats(*body));
}

Watcher::Watcher(Options options, Listener& listener, log::Logger& logger)
    : impl_(std::make_unique<Impl>(std::move(options), listener, logger)) {}

Watcher::~Watcher() { Stop(); }

void Watcher::Start() {
  if (impl_->started.exchange(true)) return;
  Impl* impl = impl_.get();
  asio::co_spawn(impl->io, impl->Run(), asio::detached);
  impl->thread = std::thread([impl] {
    try {
      impl->io.run();
    } catch (const std::exception& e) {
      impl->logger.Error("Docker client stopped",
                         {{"err", std::string("error: ") + e.what()}});
    }
  });
}

void Watcher::Stop() {
  if (!impl_->started || impl_->stopped.exchange(true)) return;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Watcher::FetchStats(std::string id,
                         std::function<void(Result<docker::Stats>)> done) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, id = std::move(id), done = std::move(done)] {
    asio::co_spawn(impl->io, impl->Stats(id, done), asio::detached);
  });
}

Result<std::vector<Container>> ListRunning(const Options& options) {
  asio::io_context io(1);
  Result<std::vector<Container>> result =
      MakeError(ErrorCode::kUnavailable, "not run");
  auto work = [&]() -> asio::awaitable<void> {
    auto version = co_await NegotiateVersion(options);
    if (!version) {
      result = PassOn(version.error());
      co_return;
    }
    auto info = co_await FetchInfo(options, *version);
    if (!info) {
      result = PassOn(info.error());
      co_return;
    }
    result = co_await ListAndInspect(options, *version, *info);
  };
  asio::co_spawn(io, work(), asio::detached);
  io.run();
  return result;
}

}  // namespace leakwatch::docker
