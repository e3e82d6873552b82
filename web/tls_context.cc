// MakeTlsContext: the web config turned into an OpenSSL context
// (asio::ssl), step by step, each step's errors at its own key.

#include "web/detail/tls_context.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace leakwatch::web::detail {
namespace {

namespace ssl = boost::asio::ssl;
using config::ClientAuth;
using config::TlsVersion;

int OpenSslVersion(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// The newest OpenSSL error's reason, or fallback.
std::string OpenSslReason(std::string fallback) {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : fallback;
}

// Reads a file named by the web config, so that a missing or unreadable
// one says so in the operator's words rather than OpenSSL's.
Result<std::string> ReadNamedFile(const config::WebConfig& web,
                                  const std::string& key,
                                  const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kInvalid, web.Where(key) + ": " + key +
                                              ": cannot read \"" + path +
                                              "\": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The SANs of a certificate as exporter-toolkit compares them: DNS names,
// e-mail addresses, IP addresses (as text) and URIs.
std::vector<std::string> SubjectAltNames(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS:
      case GEN_EMAIL:
      case GEN_URI: {
        const ASN1_IA5STRING* s = name->d.ia5;
        out.emplace_back(
            reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
            static_cast<std::size_t>(ASN1_STRING_length(s)));
        break;
      }
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        const int len = ASN1_STRING_length(ip);
        char text[INET6_ADDRSTRLEN] = {};
        const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
        if (family != -1 &&
            inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) {
          out.emplace_back(text);
        }
        break;
      }
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Go's cipher suite names are IANA's, which OpenSSL knows as the
// "standard name" of each of its ciphers.
Result<std::string> CipherList(const config::WebConfig& web) {
  const std::string key = "tls_server_config.cipher_suites";
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> probe(
      SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!probe || SSL_CTX_set_cipher_list(probe.get(), "ALL:@SECLEVEL=0") != 1) {
    return MakeError(ErrorCode::kInvalid,
                     web.Where(key) + ": " + key + ": " +
                         OpenSslReason("cannot list OpenSSL's ciphers"));
  }
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(probe.get());
  std::string list;
  for (const std::string& wanted : web.tls->cipher_suites) {
    // TLS 1.3 suites are not configurable, in Go as here: skip them.
    if (wanted.rfind("TLS_AES_", 0) == 0 ||
        wanted.rfind("TLS_CHACHA20_", 0) == 0) {
      continue;
    }
    const char* found = nullptr;
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers) && found == nullptr; ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if (standard == nullptr) continue;
      // Go also accepts the CHACHA20 names without their "_SHA256".
      if (wanted == standard || wanted + "_SHA256" == standard) {
        found = SSL_CIPHER_get_name(c);
      }
    }
    if (found == nullptr) {
      return MakeError(ErrorCode::kInvalid, web.Where(key) + ": " + key +
                                                ": unknown cipher suite \"" +
                                                wanted + "\"");
    }
    if (!list.empty()) list += ":";
    list += found;
  }
  return list;
}

Result<std::string> GroupList(const config::WebConfig& web) {
  const std::string key = "tls_server_config.curve_preferences";
  std::string list;
  for (const std::string& curve : web.tls->curve_preferences) {
    std::string group;
    if (curve == "CurveP256") group = "P-256";
    if (curve == "CurveP384") group = "P-384";
    if (curve == "CurveP521") group = "P-521";
    if (curve == "X25519") group = "X25519";
    if (group.empty()) {
      return MakeError(ErrorCode::kInvalid,
                       web.Where(key) + ": " + key + ": unknown curve \"" +
                           curve +
                           "\" (want CurveP256, CurveP384, CurveP521 or "
                           "X25519)");
    }
    if (!list.empty()) list += ":";
    list += group;
  }
  return list;
}

// An error at one of the web config's keys.
auto KeyError(const config::WebConfig& web, const std::string& key,
              const std::string& message) {
  return MakeError(ErrorCode::kInvalid,
                   web.Where(key) + ": " + key + ": " + message);
}

void SetProtocol(ssl::context& ctx, const config::TlsServerConfig& tls) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::single_dh_use |
                  ssl::context::no_compression);
  SSL_CTX* native = ctx.native_handle();
  if (tls.min_version < TlsVersion::kTls12) {
    // OpenSSL 3 allows TLS 1.0 and 1.1 only at security level 0. The
    // operator asked for them explicitly; the default stays TLS 1.2.
    SSL_CTX_set_security_level(native, 0);
  }
  SSL_CTX_set_min_proto_version(native, OpenSslVersion(tls.min_version));
  SSL_CTX_set_max_proto_version(native, OpenSslVersion(tls.max_version));
  if (tls.prefer_server_cipher_suites) {
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_CTX_clear_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
}

// A PEM given inline (key) or by file (file_key, path): the file's text
// when a path is set, else the inline value.
Result<std::string> Pem(const config::WebConfig& web,
                        const std::string& file_key, const std::string& path,
                        const std::string& inline_pem) {
  if (path.empty()) return inline_pem;
  return ReadNamedFile(web, file_key, path);
}

// " \"<path>\"" for messages about a file, nothing for an inline PEM.
std::string Quoted(const std::string& path) {
  return path.empty() ? std::string() : " \"" + path + "\"";
}

Result<void> LoadCertificate(ssl::context& ctx, const config::WebConfig& web) {
  const config::TlsServerConfig& tls = *web.tls;
  const std::string key = tls.cert_file.empty() ? "tls_server_config.cert"
                                                : "tls_server_config.cert_file";
  auto pem = Pem(web, key, tls.cert_file, tls.cert);
  if (!pem) return PassOn(pem.error());
  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(*pem), ec);
  if (ec) {
    return KeyError(web, key,
                    "cannot load the certificate" + Quoted(tls.cert_file) +
                        ": " + OpenSslReason(ec.message()));
  }
  return {};
}

Result<void> LoadPrivateKey(ssl::context& ctx, const config::WebConfig& web) {
  const config::TlsServerConfig& tls = *web.tls;
  const std::string key = tls.key_file.empty() ? "tls_server_config.key"
                                               : "tls_server_config.key_file";
  auto pem = Pem(web, key, tls.key_file, tls.key);
  if (!pem) return PassOn(pem.error());
  boost::system::error_code ec;
  ctx.use_private_key(boost::asio::buffer(*pem), ssl::context::pem, ec);
  // The key is a secret: gone from our memory once OpenSSL has it.
  OPENSSL_cleanse(pem->data(), pem->size());
  if (ec) {
    return KeyError(web, key,
                    "cannot load the private key" + Quoted(tls.key_file) +
                        ": " + OpenSslReason(ec.message()));
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return KeyError(web, key,
                    "the private key does not match the certificate: " +
                        OpenSslReason("mismatch"));
  }
  return {};
}

Result<void> SetCiphersAndCurves(ssl::context& ctx,
                                 const config::WebConfig& web) {
  const config::TlsServerConfig& tls = *web.tls;
  SSL_CTX* native = ctx.native_handle();
  if (!tls.cipher_suites.empty()) {
    auto list = CipherList(web);
    if (!list) return PassOn(list.error());
    if (!list->empty() && SSL_CTX_set_cipher_list(native, list->c_str()) != 1) {
      return KeyError(web, "tls_server_config.cipher_suites",
                      OpenSslReason("OpenSSL refused the list"));
    }
  }
  if (!tls.curve_preferences.empty()) {
    auto list = GroupList(web);
    if (!list) return PassOn(list.error());
    if (SSL_CTX_set1_groups_list(native, list->c_str()) != 1) {
      return KeyError(web, "tls_server_config.curve_preferences",
                      OpenSslReason("OpenSSL refused the list"));
    }
  }
  return {};
}

Result<void> LoadClientCa(ssl::context& ctx, const config::WebConfig& web) {
  const config::TlsServerConfig& tls = *web.tls;
  const std::string key = tls.client_ca_file.empty()
                              ? "tls_server_config.client_ca"
                              : "tls_server_config.client_ca_file";
  auto pem = Pem(web, key, tls.client_ca_file, tls.client_ca);
  if (!pem) return PassOn(pem.error());
  if (pem->empty()) return {};
  boost::system::error_code ec;
  ctx.add_certificate_authority(boost::asio::buffer(*pem), ec);
  if (ec) {
    return KeyError(
        web, key, "cannot load the client CA: " + OpenSslReason(ec.message()));
  }
  // Tell clients which CAs we accept (curl picks its certificate by it).
  if (!tls.client_ca_file.empty()) {
    if (STACK_OF(X509_NAME)* names =
            SSL_load_client_CA_file(tls.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
    }
    ERR_clear_error();
  }
  return {};
}

// Accepts a client certificate whose chain OpenSSL verified only if one of
// its SANs is allowed.
void RequireAllowedSan(ssl::context& ctx, std::vector<std::string> allowed) {
  ctx.set_verify_callback(
      [sans = std::move(allowed)](bool preverified, ssl::verify_context& vc) {
        X509_STORE_CTX* store = vc.native_handle();
        // Only the client's own certificate (depth 0) carries the SANs that
        // matter; the chain is OpenSSL's to judge.
        if (!preverified || X509_STORE_CTX_get_error_depth(store) != 0) {
          return preverified;
        }
        for (const std::string& san :
             SubjectAltNames(X509_STORE_CTX_get_current_cert(store))) {
          if (std::find(sans.begin(), sans.end(), san) != sans.end())
            return true;
        }
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return false;
      });
}

void SetClientVerification(ssl::context& ctx,
                           const config::TlsServerConfig& tls) {
  // Session resumption with client certificates needs an id context.
  static constexpr unsigned char kSessionContext[] = "leakwatch";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext,
                                 sizeof kSessionContext - 1);
  switch (tls.client_auth) {
    case ClientAuth::kNone:
      ctx.set_verify_mode(ssl::verify_none);
      break;
    case ClientAuth::kRequest:
    case ClientAuth::kRequireAny:
      // A certificate is asked for (and required) but not checked.
      ctx.set_verify_mode(tls.client_auth == ClientAuth::kRequest
                              ? ssl::verify_peer
                              : ssl::verify_peer |
                                    ssl::verify_fail_if_no_peer_cert);
      ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
      break;
    case ClientAuth::kVerifyIfGiven:
    case ClientAuth::kRequireAndVerify:
      ctx.set_verify_mode(tls.client_auth == ClientAuth::kVerifyIfGiven
                              ? ssl::verify_peer
                              : ssl::verify_peer |
                                    ssl::verify_fail_if_no_peer_cert);
      if (!tls.client_allowed_sans.empty()) {
        RequireAllowedSan(ctx, tls.client_allowed_sans);
      }
      break;
  }
}

}  // namespace

Result<std::unique_ptr<ssl::context>> MakeTlsContext(
    const config::WebConfig& web) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SetProtocol(*ctx, *web.tls);
  for (auto step :
       {LoadCertificate, LoadPrivateKey, SetCiphersAndCurves, LoadClientCa}) {
    if (auto done = step(*ctx, web); !done) return PassOn(done.error());
  }
  SetClientVerification(*ctx, *web.tls);
  return ctx;
}

}  // namespace leakwatch::web::detail
