#include "exporter/detail/reload.h"

#include <map>

#include "exporter/exporter.h"

namespace leakwatch::exporter {

Result<void> CheckConfig(const config::Config& config) {
  auto loaded = detail::Prepare(config);
  if (!loaded) return PassOn(loaded.error());
  return {};
}

namespace detail {

SamplerSettings SamplerSettingsFor(
    const config::Config& config,
    std::shared_ptr<const ContainerFilter> filter) {
  SamplerSettings settings;
  settings.interval = config.sample_interval;
  settings.windows = config.leak_windows;
  settings.filter = std::move(filter);
  settings.label_keys = config.containers.labels;
  settings.leak_params.healthy_growth_per_hour = config.leak_healthy_growth;
  settings.leak_params.leak_growth_per_hour = config.leak_min_growth;
  settings.leak_params.persistence = config.leak_persistence;
  settings.process_interval = config.leak_process_interval;
  settings.procfs = config.procfs;
  return settings;
}

Result<Loaded> Prepare(config::Config config, web::HashVerifier verify) {
  auto filter = ContainerFilter::Make(config.containers);
  if (!filter) {
    // config::Parse has compiled the same expressions already; this is the
    // same check with RE2 in this library.
    return PassOn(filter.error());
  }
  std::shared_ptr<const web::Security> web = web::Security::None();
  if (!config.web_config_file.empty()) {
    auto file = config::LoadWebConfig(config.web_config_file);
    if (!file) return PassOn(file.error());
    auto security = web::Security::Make(*file, std::move(verify));
    if (!security) {
      return PassOn(security.error());
    }
    web = std::move(*security);
  }
  Loaded loaded;
  loaded.sampler = SamplerSettingsFor(config, std::move(*filter));
  loaded.config = std::move(config);
  loaded.web = std::move(web);
  return loaded;
}

Result<Loaded> PrepareReload(const config::Config& running,
                             web::HashVerifier verify) {
  auto next = config::Reload(running);
  if (!next) return PassOn(next.error());
  std::vector<std::string> kept = KeepRestartOnly(running, *next);
  auto loaded = Prepare(std::move(*next), std::move(verify));
  if (loaded) loaded->needs_restart = std::move(kept);
  return loaded;
}

std::vector<std::string> KeepRestartOnly(const config::Config& running,
                                         config::Config& next) {
  std::vector<std::string> kept;
  auto keep = [&](const char* key, auto config::Config::*field) {
    if (next.*field != running.*field) {
      next.*field = running.*field;
      kept.emplace_back(key);
    }
  };
  keep("web.listen-address", &config::Config::listen_address);
  keep("web.telemetry-path", &config::Config::telemetry_path);
  keep("cgroup.root", &config::Config::cgroup_root);
  keep("path.procfs", &config::Config::procfs);
  keep("docker.host", &config::Config::docker_host);
  keep("log.format", &config::Config::log_format);
  return kept;
}

std::vector<std::string> Changed(const config::Config& before,
                                 const config::Config& after) {
  std::map<std::string, std::string> old_values;
  for (auto& [key, value] : config::Describe(before)) old_values[key] = value;
  std::vector<std::string> changed;
  for (const auto& [key, value] : config::Describe(after)) {
    if (old_values[key] != value) changed.push_back(key);
  }
  return changed;
}

}  // namespace detail
}  // namespace leakwatch::exporter
