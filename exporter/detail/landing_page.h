// The HTML served at "/".
#pragma once

#include <string>

namespace leakwatch::exporter::detail {

std::string LandingPage(const std::string& telemetry_path);

}  // namespace leakwatch::exporter::detail
