#include "exporter/detail/landing_page.h"

#include "config/config.h"

namespace leakwatch::exporter::detail {

std::string LandingPage(const std::string& telemetry_path) {
  // The telemetry path comes from the operator's own flag; it is still
  // escaped so a quote cannot break the attribute.
  std::string path;
  for (char c : telemetry_path) {
    switch (c) {
      case '&':
        path += "&amp;";
        break;
      case '<':
        path += "&lt;";
        break;
      case '>':
        path += "&gt;";
        break;
      case '"':
        path += "&quot;";
        break;
      default:
        path += c;
    }
  }
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
         "<title>leakwatch</title></head>\n<body>\n<h1>leakwatch</h1>\n"
         "<p>Finds memory leaks in running containers. Version " +
         config::Version() + " (" + config::Revision() +
         ").</p>\n<ul>\n<li><a href=\"" + path +
         "\">Metrics</a></li>\n"
         "<li><a href=\"/healthz\">Health</a></li>\n</ul>\n</body>\n</html>\n";
}

}  // namespace leakwatch::exporter::detail
