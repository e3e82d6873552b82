// `leakwatch analyze`: the daemon's leak estimator run offline over
// recorded samples (CSV, or a Prometheus query_range reply), as specified
// in docs/interface.md.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace leakwatch::analyze {

// Runs the subcommand. args are the arguments after "analyze". Returns the
// exit status: 0 on success, 2 on bad flags or unreadable or malformed
// input (with a message on err naming the file and line). stdout_is_tty
// picks the default format (table for a terminal, else JSON lines).
int Run(const std::vector<std::string>& args, std::istream& in,
        std::ostream& out, std::ostream& err, bool stdout_is_tty);

}  // namespace leakwatch::analyze
