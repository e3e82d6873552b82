// The page served at "/": a leak overview and per-container charts, drawn
// in plain SVG by the page's own script from the JSON API (api.h). One
// self-contained file, exporter/page/index.html, embedded in the binary at
// build time (cmake/embed.cmake): no CDN, nothing fetched but the API.
#pragma once

#include <string>
#include <string_view>

namespace leakwatch::exporter::detail {

// exporter/page/index.html, as built in.
extern const std::string_view kPageTemplate;

struct Page {
  std::string html;
  // Lets the page run its own inline script and style (by their SHA-256)
  // and talk to this daemon alone: nothing else loads even if a
  // container's name were to sneak markup past the script's escaping.
  std::string content_security_policy;
};

// The page from a template with {{metrics_path}}, {{version}} and
// {{revision}} placeholders, filled in (HTML-escaped), and its policy.
// The template holds exactly one <style> and one <script> element.
Page LandingPage(std::string_view page_template,
                 const std::string& telemetry_path);

// The built-in page for this telemetry path.
inline Page LandingPage(const std::string& telemetry_path) {
  return LandingPage(kPageTemplate, telemetry_path);
}

}  // namespace leakwatch::exporter::detail
