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
  // TODO(leakwatch): YAML configuration and the web config (TLS, basic
  // auth) arrive with issue #6. Serving without the TLS or auth that was
  // asked for would be worse than not starting.
  for (const auto& [flag, value] :
       {std::pair{"--config.file", cfg.config_file},
        std::pair{"--web.config.file", cfg.web_config_file}}) {
    if (!value.empty()) {
      std::fprintf(stderr, "leakwatch: error: %s: not supported yet\n", flag);
      return 1;
    }
  }
  log::Logger logger(cfg.log_level, cfg.log_format);
  if (cfg.config_check) {
    logger.Info("Configuration is valid");
    return 0;
  }
  return exporter::Run(cfg, logger);
}
