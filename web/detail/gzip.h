// Content coding for the router: whether a client takes gzip, and the
// compression itself (zlib stays in gzip.cc).
#pragma once

#include <string>
#include <string_view>

namespace leakwatch::web::detail {

// Whether an Accept-Encoding value (RFC 9110 section 12.5.3) accepts gzip:
// an explicit "gzip" (or the legacy "x-gzip") entry decides by its weight;
// otherwise a "*" entry decides; otherwise gzip is not acceptable.
bool AcceptsGzip(std::string_view header);

// Compresses into the gzip format (RFC 1952). Throws on a zlib failure.
std::string Gzip(std::string_view input);

}  // namespace leakwatch::web::detail
