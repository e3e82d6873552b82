#include "exporter/detail/landing_page.h"

#include <stdexcept>

#include "config/config.h"
#include "web/web.h"

namespace leakwatch::exporter::detail {
namespace {

std::string EscapeHtml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The text of the one <tag>...</tag> element in the page, exactly as a
// browser hashes it for a CSP source (CSP 3, "hash-source").
std::string_view ElementText(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const std::size_t start = html.find(open);
  const std::size_t end = html.find(close);
  if (start == std::string_view::npos || end == std::string_view::npos ||
      end < start || html.find(open, start + 1) != std::string_view::npos) {
    // The template is part of the binary: a test catches this, so it is a
    // programming error, not a run-time condition.
    throw std::logic_error("the page template needs exactly one <" +
                           std::string(tag) + "> element");
  }
  return html.substr(start + open.size(), end - start - open.size());
}

}  // namespace

Page LandingPage(std::string_view page_template,
                 const std::string& telemetry_path) {
  Page page;
  page.html = std::string(page_template);
  // The telemetry path comes from the operator's own flag; it is still
  // escaped so a quote cannot break the attribute.
  ReplaceAll(page.html, "{{metrics_path}}", EscapeHtml(telemetry_path));
  ReplaceAll(page.html, "{{version}}", EscapeHtml(config::Version()));
  ReplaceAll(page.html, "{{revision}}", EscapeHtml(config::Revision()));
  page.content_security_policy =
      "default-src 'none'; script-src " +
      web::CspHashSource(ElementText(page.html, "script")) + "; style-src " +
      web::CspHashSource(ElementText(page.html, "style")) +
      "; connect-src 'self'; img-src data:; base-uri 'none'; "
      "form-action 'none'; frame-ancestors 'none'";
  return page;
}

}  // namespace leakwatch::exporter::detail
