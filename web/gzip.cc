// AcceptsGzip and Gzip: which coding a client takes, and the compression,
// on zlib.

#include "web/detail/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <climits>
#include <stdexcept>

namespace leakwatch::web::detail {
namespace {

namespace beast = boost::beast;

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
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

}  // namespace

bool AcceptsGzip(std::string_view header) {
  int gzip = -1;  // -1 unmentioned, 0 refused, 1 accepted
  int any = -1;
  // Beast's ext_list reads this grammar, but Boost 1.74's gives an entry
  // without parameters the previous entry's ("x;q=0, gzip" reads as gzip
  // refused), so the list is split here; codings are tokens and weights
  // are never quoted, so a comma or a semicolon always separates.
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
      if (beast::iequals(TrimOws(param.substr(0, eq)), "q")) {
        accepted = PositiveQValue(TrimOws(param.substr(eq + 1)));
      }
    }
    if (beast::iequals(coding, "gzip") || beast::iequals(coding, "x-gzip")) {
      // Of repeated entries the most favourable wins.
      gzip = std::max(gzip, accepted ? 1 : 0);
    } else if (coding == "*") {
      any = std::max(any, accepted ? 1 : 0);
    }
  }
  if (gzip != -1) return gzip == 1;
  return any == 1;
}

// windowBits 15 + 16 makes zlib write the gzip header and CRC trailer
// instead of the zlib wrapper, which is what "Content-Encoding: gzip"
// promises.
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

}  // namespace leakwatch::web::detail
