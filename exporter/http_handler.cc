// HandleRequest and ParseListenAddress: the socket-free half of the HTTP
// side, so every route can be tested without a network.

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "exporter/http.h"

namespace leakwatch::exporter {
namespace {

// The text exposition format's content type, as client_golang sends it.
constexpr std::string_view kMetricsContentType =
    "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";
constexpr std::string_view kHtmlContentType = "text/html; charset=utf-8";
constexpr std::string_view kHealthPath = "/healthz";
constexpr std::string_view kLandingPath = "/";
constexpr std::string_view kApiPrefix = "/api/";

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Reads a qvalue (RFC 9110 section 12.4.2: "0", "0.5", "1.000") and reports
// whether it is above zero. A malformed weight makes the entry count as not
// acceptable: identity is always a safe answer, a coding the client cannot
// decode is not.
bool PositiveQValue(std::string_view q) {
  if (q.empty() || (q.front() != '0' && q.front() != '1')) return false;
  bool positive = q.front() == '1';
  q.remove_prefix(1);
  if (q.empty()) return positive;
  if (q.front() != '.' || q.size() > 4) return false;
  for (char c : q.substr(1)) {
    if (c < '0' || c > '9') return false;
    if (c != '0') positive = true;
  }
  return positive;
}

// Whether an Accept-Encoding value (RFC 9110 section 12.5.3) accepts gzip:
// an explicit "gzip" (or the legacy "x-gzip") entry decides by its weight;
// otherwise a "*" entry decides; otherwise gzip is not acceptable.
bool AcceptsGzip(std::string_view header) {
  int gzip = -1;  // -1 unmentioned, 0 refused, 1 accepted
  int any = -1;
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view entry = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view()
                                             : header.substr(comma + 1);
    std::size_t semi = entry.find(';');
    std::string_view coding = TrimOws(entry.substr(0, semi));
    if (coding.empty()) continue;
    bool accepted = true;
    while (semi != std::string_view::npos) {
      entry = entry.substr(semi + 1);
      semi = entry.find(';');
      std::string_view param = TrimOws(entry.substr(0, semi));
      std::size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      if (EqualsIgnoreCase(TrimOws(param.substr(0, eq)), "q")) {
        accepted = PositiveQValue(TrimOws(param.substr(eq + 1)));
      }
    }
    if (EqualsIgnoreCase(coding, "gzip") ||
        EqualsIgnoreCase(coding, "x-gzip")) {
      // Of repeated entries the most favourable wins.
      gzip = std::max(gzip, accepted ? 1 : 0);
    } else if (coding == "*") {
      any = std::max(any, accepted ? 1 : 0);
    }
  }
  if (gzip != -1) return gzip == 1;
  return any == 1;
}

// Ends a deflate stream however Gzip leaves.
class DeflateGuard {
 public:
  explicit DeflateGuard(z_stream& stream) : stream_(stream) {}
  ~DeflateGuard() { deflateEnd(&stream_); }
  DeflateGuard(const DeflateGuard&) = delete;
  DeflateGuard& operator=(const DeflateGuard&) = delete;

 private:
  z_stream& stream_;
};

// Compresses into the gzip format (RFC 1952): windowBits 15 + 16 makes zlib
// write the gzip header and CRC trailer instead of the zlib wrapper, which
// is what "Content-Encoding: gzip" promises. Throws on a zlib failure.
std::string Gzip(std::string_view input) {
  z_stream stream{};
  // Level 1: a scrape is on the daemon's own CPU budget, and the text
  // exposition's repetitive label sets compress well even at the fastest
  // level.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  DeflateGuard guard(stream);
  std::string out;
  out.resize(deflateBound(&stream, input.size()) + 64);
  // zlib's next_in is not const unless ZLIB_CONST; it never writes through
  // it.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  std::size_t left = input.size();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    // avail_in is a 32-bit uInt: feed a larger input in slices.
    std::size_t slice = std::min<std::size_t>(left, UINT_MAX);
    stream.avail_in = static_cast<uInt>(slice);
    if (stream.total_out == out.size()) out.resize(out.size() * 2);
    std::size_t room =
        std::min<std::size_t>(out.size() - stream.total_out, UINT_MAX);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + stream.total_out);
    stream.avail_out = static_cast<uInt>(room);
    rc = deflate(&stream, slice == left ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      throw std::runtime_error("gzip: deflate failed");
    }
    left -= slice - stream.avail_in;
  }
  out.resize(stream.total_out);
  return out;
}

HttpResponse TextResponse(unsigned status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = kTextContentType;
  response.body = std::move(body);
  return response;
}

// Compresses a 200 answer when the client takes gzip. Bodies under a
// kilobyte are left alone: the gzip framing would eat the gain.
void CompressIfAccepted(const HttpRequest& request, HttpResponse& response) {
  if (response.status != 200) return;
  // The body depends on Accept-Encoding, so caches must key on it whichever
  // encoding this answer has.
  response.headers.emplace_back("Vary", "Accept-Encoding");
  if (response.body.size() < 1024 || !AcceptsGzip(request.accept_encoding)) {
    return;
  }
  response.body = Gzip(response.body);
  response.headers.emplace_back("Content-Encoding", "gzip");
}

HttpResponse MetricsResponse(const HttpRequest& request, const Routes& routes) {
  if (!routes.metrics) {
    return TextResponse(500, "no metrics source configured\n");
  }
  std::string text;
  try {
    text = routes.metrics();
  } catch (const std::exception& e) {
    return TextResponse(
        500, std::string("error gathering metrics: ") + e.what() + "\n");
  } catch (...) {
    return TextResponse(500, "error gathering metrics: unknown exception\n");
  }
  HttpResponse response;
  response.content_type = kMetricsContentType;
  // The body depends on Accept-Encoding, so caches must key on it whichever
  // encoding this answer has.
  response.headers.emplace_back("Vary", "Accept-Encoding");
  if (AcceptsGzip(request.accept_encoding)) {
    response.body = Gzip(text);
    response.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    response.body = std::move(text);
  }
  return response;
}

HttpResponse HealthResponse(const Routes& routes) {
  // No health callback means nothing can go stale.
  if (!routes.healthy || routes.healthy()) return TextResponse(200, "ok");
  return TextResponse(503, "unhealthy: sampling is not current\n");
}

HttpResponse Route(const HttpRequest& request, const Routes& routes) {
  // Routing looks at the path alone; the query string is the handler's.
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  // The API knows its own paths and methods, so it answers 404 and 405
  // itself, as JSON. The telemetry path is the operator's choice and wins,
  // even under /api/.
  if (path.starts_with(kApiPrefix) && path != routes.telemetry_path &&
      routes.api) {
    HttpResponse response = routes.api(request);
    CompressIfAccepted(request, response);
    return response;
  }
  bool telemetry = path == routes.telemetry_path;
  bool health = !telemetry && path == kHealthPath;
  bool landing = !telemetry && !health && path == kLandingPath;
  if (!telemetry && !health && !landing) {
    return TextResponse(404, "404 page not found\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse response = TextResponse(405, "405 method not allowed\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  if (telemetry) return MetricsResponse(request, routes);
  if (health) return HealthResponse(routes);
  HttpResponse response;
  response.content_type = kHtmlContentType;
  response.body = routes.landing_page;
  if (!routes.landing_page_policy.empty()) {
    response.headers.emplace_back("Content-Security-Policy",
                                  routes.landing_page_policy);
  }
  // After an upgrade, a cached page's script would read the new daemon's
  // API; "no-cache" makes the browser fetch the page again each time.
  response.headers.emplace_back("Cache-Control", "no-cache");
  CompressIfAccepted(request, response);
  return response;
}

}  // namespace

HttpResponse HandleRequest(const HttpRequest& request, const Routes& routes) {
  HttpResponse response;
  try {
    response = Route(request, routes);
  } catch (const std::exception& e) {
    // Gzip's or a callback's failure, or an allocation: an answer that says
    // so beats a dropped connection.
    response =
        TextResponse(500, std::string("internal error: ") + e.what() + "\n");
  } catch (...) {
    response = TextResponse(500, "internal error\n");
  }
  if (request.method == "HEAD") {
    // HEAD answers with GET's headers, Content-Length included (RFC 9110
    // section 9.3.2), and no body; the server keeps this Content-Length.
    response.headers.emplace_back("Content-Length",
                                  std::to_string(response.body.size()));
    response.body.clear();
  }
  return response;
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  auto invalid = [text](std::string_view why) {
    return MakeError(ErrorCode::kInvalid, "invalid listen address \"" +
                                              std::string(text) +
                                              "\": " + std::string(why));
  };
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("missing ']'");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (rest.empty()) return invalid("missing port");
    if (rest.front() != ':') return invalid("unexpected text after ']'");
    rest.remove_prefix(1);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid("missing port");
    host = text.substr(0, colon);
    rest = text.substr(colon + 1);
    // An IPv6 address needs brackets to be told apart from its port.
    if (host.find(':') != std::string_view::npos) {
      return invalid("too many colons (write an IPv6 address as [addr]:port)");
    }
  }
  if (host.find_first_of("[]") != std::string_view::npos) {
    return invalid("unexpected '[' or ']'");
  }
  if (rest.empty()) return invalid("missing port");
  unsigned value = 0;
  const char* end = rest.data() + rest.size();
  auto [ptr, ec] = std::from_chars(rest.data(), end, value);
  // from_chars takes no sign or spaces but accepts a numeric prefix; the
  // whole port must be digits.
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && ptr == end && value > 65535)) {
    return invalid("port out of range (0-65535)");
  }
  if (ec != std::errc() || ptr != end) return invalid("port is not a number");
  return ListenAddress{std::string(host), static_cast<unsigned short>(value)};
}

}  // namespace leakwatch::exporter
