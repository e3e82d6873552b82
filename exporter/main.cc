// leakwatch's entry point: parse the configuration, then run the daemon.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "analyze/analyze.h"
#include "config/config.h"
#include "exporter/exporter.h"
#include "log/log.h"

int main(int argc, char** argv) {
  using namespace leakwatch;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "analyze") {
    args.erase(args.begin());
    return analyze::Run(args, std::cin, std::cout, std::cerr,
                        isatty(STDOUT_FILENO) != 0);
  }
  auto command = config::Parse(args, config::ProcessEnvironment());
  if (!command) {
    std::fprintf(stderr, "leakwatch: error: %s\n",
                 command.error().message.c_str());
    return 1;
  }
  if (auto* exit = std::get_if<config::Exit>(&*command)) {
    std::fputs(exit->output.c_str(), stdout);
    return exit->code;
  }
  const config::Config& cfg = std::get<config::Config>(*command);
  log::Logger logger(cfg.log_level, cfg.log_format);
  if (cfg.config_check) {
    // Parsing checked the flags, the environment and the file; this checks
    // what the daemon would build from them (filters, web config,
    // certificates), as exporter-toolkit's Validate does.
    if (auto checked = exporter::CheckConfig(cfg); !checked) {
      std::fprintf(stderr, "leakwatch: error: %s\n",
                   checked.error().message.c_str());
      return 1;
    }
    logger.Info("Configuration is valid",
                {{"config_file", cfg.config_file},
                 {"web_config_file", cfg.web_config_file}});
    return 0;
  }
  return exporter::Run(cfg, logger);
}
