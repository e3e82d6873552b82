// The daemon: wires the cgroup reader, the sample store, the collectors and
// the HTTP server, and runs them until SIGINT or SIGTERM.
#pragma once

#include "config/config.h"
#include "log/log.h"

namespace leakwatch::exporter {

// Runs until SIGINT or SIGTERM and returns the process exit status: 0 after
// a signal, 1 on a startup error (already logged: no cgroup memory
// controller under the root, an address that cannot be bound).
int Run(const config::Config& config, log::Logger& logger);

}  // namespace leakwatch::exporter
