// Loading and reloading the configuration: everything a new configuration
// needs is built (filters compiled, web config read, certificates loaded)
// before anything is applied, so a bad file changes nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "exporter/detail/sampler.h"
#include "web/security.h"

namespace leakwatch::exporter::detail {

// A configuration ready to apply.
struct Loaded {
  config::Config config;
  SamplerSettings sampler;
  // web::Security::None() when there is no web config.
  std::shared_ptr<const web::Security> web;
  // Reload only: settings the file changed that only a restart applies;
  // config holds their running values.
  std::vector<std::string> needs_restart;
};

// From a parsed configuration: compiles the container filters, reads the
// web config (--web.config.file) and loads its certificates. Errors name
// the file, line and column concerned.
Result<Loaded> Prepare(config::Config config,
                       web::HashVerifier verify = web::BcryptMatches);

// SIGHUP: re-reads the configuration file under the flags and environment
// the daemon started with, then Prepare. Settings only a restart changes
// keep their running values (see KeepRestartOnly).
Result<Loaded> PrepareReload(const config::Config& running,
                             web::HashVerifier verify = web::BcryptMatches);

// The settings a reload cannot change (the listener, the paths read at
// startup, the Docker client, the log format): where next differs from
// running, puts running's value back into next and returns the keys, so
// the caller can say a restart is needed.
std::vector<std::string> KeepRestartOnly(const config::Config& running,
                                         config::Config& next);

// The settings whose values differ, spelled as flags.
std::vector<std::string> Changed(const config::Config& before,
                                 const config::Config& after);

// The sampler's part of a configuration (the filter must already be
// compiled; Prepare does it).
SamplerSettings SamplerSettingsFor(
    const config::Config& config,
    std::shared_ptr<const ContainerFilter> filter);

}  // namespace leakwatch::exporter::detail
