// The Docker Engine API client: what Docker knows about each running
// container (name, image, compose labels, limits), kept live through the
// events stream, and one-shot stats for containers whose cgroups cannot be
// read.
//
// Only GET requests: leakwatch never changes anything in Docker. Every call
// has a deadline and a body cap; a malformed, truncated or endless reply is
// an error value, never a crash. Boost.Asio/Beast and nlohmann_json are
// private to this module.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace leakwatch::log {
class Logger;
}

namespace leakwatch::docker {

// Where the Engine API listens, from --docker.host / $DOCKER_HOST:
// unix:///var/run/docker.sock, tcp://host:port (or http://host:port).
//
// Thread-safety: a plain value.
struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;              // kUnix: the socket's path
  std::string host;              // kTcp: a name or an address
  std::uint16_t port = 0;        // kTcp
  std::string Describe() const;  // as the user would write it
};

// Parses a DOCKER_HOST-style address. Schemes that need what this client
// does not speak (ssh://, npipe://, fd://, https://) are kInvalid.
Result<Endpoint> ParseHost(std::string_view host);

// One container as inspect describes it. Only the fields below are read
// from the reply: environment variables, command lines, mounts and the
// rest of the inspect document (where secrets live) never leave the
// decoder.
//
// Thread-safety: a plain value.
struct Container {
  std::string id;               // 64 hex digits
  std::string name;             // without Docker's leading '/'
  std::string image;            // Config.Image, as the user asked for it
  std::string compose_project;  // label com.docker.compose.project
  std::string compose_service;  // label com.docker.compose.service
  std::map<std::string, std::string> labels;  // Config.Labels, all of them
  std::optional<std::uint64_t> memory_limit_bytes;  // HostConfig.Memory; 0
                                                    // (unlimited) is nullopt
  std::optional<double> started_at_seconds;  // State.StartedAt, Unix time
  std::int64_t restart_count = 0;            // RestartCount
  std::string state;                         // State.Status: "running", ...
  // The container's cgroup relative to a hierarchy root ("/docker/<id>",
  // "/system.slice/docker-<id>.scope"), derived from the daemon's cgroup
  // driver and HostConfig.CgroupParent.
  std::string cgroup_path;
};

// A container's memory and CPU from the stats endpoint (stream=false), the
// values dockerd read from the cgroup files for us.
//
// Thread-safety: a plain value.
struct Stats {
  std::uint64_t usage_bytes = 0;        // memory_stats.usage
  std::uint64_t working_set_bytes = 0;  // usage - inactive file, floored at 0
  std::uint64_t rss_bytes = 0;          // v1 total_rss, v2 anon
  std::uint64_t cache_bytes = 0;        // v1 total_cache, v2 file
  std::optional<std::uint64_t> swap_bytes;        // v1 total_swap
  std::optional<std::uint64_t> cpu_usage_ns;      // cpu_usage.total_usage
  std::optional<std::uint64_t> cpu_throttled_ns;  // throttling_data
};

// What the watcher learns, delivered on the watcher's thread in the order
// Docker reported it.
//
// Thread-safety: implementations are called from the watcher's thread only,
// but usually share their state with other threads and must lock.
class Listener {
 public:
  virtual ~Listener() = default;
  // The full list of running containers, after every (re)connection.
  // Anything not in it is gone.
  virtual void OnSynced(std::vector<Container> running) = 0;
  // A fresh inspect after a start, rename or update event.
  virtual void OnChanged(Container container) = 0;
  virtual void OnDied(const std::string& id) = 0;
  virtual void OnOom(const std::string& id) = 0;
  virtual void OnDestroyed(const std::string& id) = 0;
  // True once synced with the events stream open; false when the stream,
  // a health check or a resync fails. Reported after the first attempt
  // (either way) and on every change.
  virtual void OnUp(bool up) = 0;
};

// Thread-safety: a plain value.
struct Options {
  Endpoint endpoint;
  // Deadline of each call: connect, request and the whole reply (for the
  // events stream: up to its headers).
  std::chrono::milliseconds timeout{5000};
  // How often an open events stream is checked with /_ping: a hung daemon
  // or a half-open TCP connection sends no events and no error.
  std::chrono::milliseconds health_interval{10000};
  // Reconnection delay: doubles from min to max while Docker stays away.
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{5000};
};

// Keeps a Listener in step with Docker: negotiates the API version, opens
// the events stream (type=container), lists and inspects every running
// container, then applies events as they come. On any failure it reports
// OnUp(false), waits (backoff) and starts over with a full resync.
//
// It runs on its own thread with its own io_context: decoding a list of a
// thousand inspect replies takes tens of milliseconds of CPU, which must
// not stall the HTTP server's single thread, and a hostile or hung daemon
// then cannot delay a scrape at all.
//
// Thread-safety: Start, Stop and FetchStats may be called from any thread.
class Watcher {
 public:
  Watcher(Options options, Listener& listener, log::Logger& logger);
  ~Watcher();  // Stop()s
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  void Start();
  // Ends the thread; pending calls are abandoned and their callbacks never
  // run. Idempotent.
  void Stop();

  // One container's stats (stream=false, and one-shot=true from API 1.41,
  // which skips dockerd's one-second wait for a second CPU sample). Never
  // blocks: done runs later on the watcher's thread, with kUnavailable at
  // once while Docker is down.
  void FetchStats(std::string id, std::function<void(Result<Stats>)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Pings, lists and inspects every running container once, on a private
// io_context, blocking the caller (for tools and measurements, not the
// daemon).
Result<std::vector<Container>> ListRunning(const Options& options);

}  // namespace leakwatch::docker
