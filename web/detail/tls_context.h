// The web config's tls_server_config as an OpenSSL server context,
// following exporter-toolkit's web/tls_config.go.
#pragma once

#include <memory>

#include "common/result.h"
#include "config/web_config.h"

namespace boost::asio::ssl {
class context;
}

namespace leakwatch::web::detail {

// Loads the certificate, key and client CA (inline or from files), sets
// versions, cipher suites and curves, and the client-certificate policy
// with its allowed SANs. Errors name the web config's file:line:column of
// the key concerned. web.tls must be set.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(
    const config::WebConfig& web);

}  // namespace leakwatch::web::detail
