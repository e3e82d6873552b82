// The web configuration (--web.config.file): TLS and basic auth in
// exporter-toolkit's format, the file every official Prometheus exporter
// reads
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md).
//
// This is the file's content as values; exporter/ turns it into an
// OpenSSL context and an authenticator. Certificates are not read here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace leakwatch::config {

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

// exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType).
enum class ClientAuth {
  kNone,              // NoClientCert
  kRequest,           // RequestClientCert: asked for, not checked
  kRequireAny,        // RequireAnyClientCert: required, not checked
  kVerifyIfGiven,     // VerifyClientCertIfGiven
  kRequireAndVerify,  // RequireAndVerifyClientCert
};

// tls_server_config. Relative file paths are resolved against the web
// config file's directory, as exporter-toolkit does.
struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string cert;  // inline PEM, instead of cert_file
  std::string key;   // inline PEM, instead of key_file
  std::string client_ca_file;
  std::string client_ca;  // inline PEM, instead of client_ca_file
  ClientAuth client_auth = ClientAuth::kNone;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // IANA names as Go spells them ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  // TLS 1.2 and below only, as in Go. Empty: OpenSSL's defaults.
  std::vector<std::string> cipher_suites;
  // CurveP256, CurveP384, CurveP521, X25519. Empty: OpenSSL's defaults.
  std::vector<std::string> curve_preferences;
  bool prefer_server_cipher_suites = true;
  // When set, a client certificate must carry one of these SANs (DNS name,
  // e-mail, IP address or URI).
  std::vector<std::string> client_allowed_sans;
};

// Thread-safety: a plain value.
struct WebConfig {
  std::string path;  // the file it came from
  // nullopt: plain HTTP (no tls_server_config, or one with nothing set).
  std::optional<TlsServerConfig> tls;
  // User name -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no auth.
  std::map<std::string, std::string> users;
  // http_server_config.headers, added to every response.
  std::vector<std::pair<std::string, std::string>> headers;
  // "tls_server_config.cert_file" -> "file:line:column", for errors found
  // when exporter/ loads what the keys name.
  std::map<std::string, std::string> locations;

  // Where a key was written, or the file's name when it was not.
  std::string Where(const std::string& key) const;
};

// Reads and validates a web config file. Errors (kInvalid; kIo or
// kNotFound when unreadable) start with "file:line:column: ", and unknown
// keys get a "did you mean" hint, as for the main configuration.
Result<WebConfig> LoadWebConfig(const std::string& path);

// True for a bcrypt hash leakwatch can verify: $2a$, $2b$ or $2y$, a cost
// of 04..31, and 53 characters of salt and hash.
bool IsBcryptHash(const std::string& hash);

}  // namespace leakwatch::config
