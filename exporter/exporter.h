// The daemon: wires the cgroup reader, the sample store, the collectors and
// the HTTP server, and runs them until SIGINT or SIGTERM.
#pragma once

#include "config/config.h"
#include "log/log.h"

namespace leakwatch::exporter {

// Runs until SIGINT or SIGTERM and returns the process exit status: 0 after
// a signal, 1 on a startup error (already logged: no cgroup memory
// controller under the root, an address that cannot be bound, a web config
// that does not load). SIGHUP reloads the configuration files.
int Run(const config::Config& config, log::Logger& logger);

// What --config.check adds to parsing: compiles the container filters and
// reads the web config with its certificates, as Run would at startup.
// Errors name the file, line and column concerned.
Result<void> CheckConfig(const config::Config& config);

}  // namespace leakwatch::exporter
