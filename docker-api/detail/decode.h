// Pure decoding of Docker Engine API replies into the module's value types.
// No I/O: tests feed these the replies recorded from a real daemon
// (tests/fixtures/docker/). A reply that is not JSON, has a field of the
// wrong type or lacks a required field is kParse; nothing here throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "docker-api/docker.h"

namespace leakwatch::docker::detail {

// "1.41" as numbers, so 1.9 < 1.41.
struct ApiVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const ApiVersion&) const = default;
  std::string ToString() const;  // "1.41"
};

// The oldest API whose replies have every field we read (Docker 1.12), and
// the newest we ask for; newer daemons answer older versions.
inline constexpr ApiVersion kMinApiVersion{1, 24};
inline constexpr ApiVersion kMaxApiVersion{1, 45};

Result<ApiVersion> ParseApiVersion(std::string_view text);

// The version both sides speak: the daemon's, capped at kMaxApiVersion.
// kUnavailable when the daemon is older than kMinApiVersion.
Result<ApiVersion> Negotiate(ApiVersion daemon);

// GET /version: ApiVersion (for daemons whose /_ping has no Api-Version
// header).
Result<ApiVersion> DecodeVersion(std::string_view body);

// GET /info, the two fields that say where containers' cgroups are.
struct DaemonInfo {
  std::string cgroup_driver = "cgroupfs";  // "cgroupfs" or "systemd"
  std::string cgroup_version = "1";        // "1" or "2"
};
Result<DaemonInfo> DecodeInfo(std::string_view body);

// GET /containers/json: the IDs of the running containers.
Result<std::vector<std::string>> DecodeList(std::string_view body);

// GET /containers/{id}/json.
Result<Container> DecodeInspect(std::string_view body, const DaemonInfo& info);

// The cgroup Docker puts a container in, relative to a hierarchy root.
// cgroupfs: <parent or /docker>/<id>. systemd: the parent slice ("a-b.slice"
// expands to /a.slice/a-b.slice; default system.slice) and
// docker-<id>.scope. The path is the same on cgroup v1 and v2.
std::string CgroupPath(const DaemonInfo& info, std::string_view cgroup_parent,
                       std::string_view id);

// RFC 3339 with optional fraction and offset ("2026-11-25T00:12:49.1005Z"),
// as Go writes times. Docker's zero time (year 1) is nullopt.
Result<std::optional<double>> ParseTime(std::string_view text);

// One line of GET /events.
struct Event {
  enum class Action { kStart, kDie, kOom, kDestroy, kRename, kUpdate, kOther };
  Action action = Action::kOther;
  std::string id;
};
Result<Event> DecodeEvent(std::string_view line);

// GET /containers/{id}/stats?stream=false. kNotFound when the container is
// not running (dockerd then sends empty memory stats).
Result<Stats> DecodeStats(std::string_view body);

// The "message" of a Docker error reply, or the start of the body.
std::string ErrorMessage(std::string_view body);

}  // namespace leakwatch::docker::detail
