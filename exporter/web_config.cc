// WebSecurity: the web config turned into an OpenSSL context (asio::ssl)
// and a basic-auth checker. Behaviour follows exporter-toolkit's
// web/tls_config.go and web/handler.go.

#include "exporter/detail/web_config.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace leakwatch::exporter::detail {
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

const char* VersionName(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10:
      return "TLS10";
    case TlsVersion::kTls11:
      return "TLS11";
    case TlsVersion::kTls12:
      return "TLS12";
    case TlsVersion::kTls13:
      return "TLS13";
  }
  return "?";
}

const char* ClientAuthName(ClientAuth a) {
  switch (a) {
    case ClientAuth::kNone:
      return "NoClientCert";
    case ClientAuth::kRequest:
      return "RequestClientCert";
    case ClientAuth::kRequireAny:
      return "RequireAnyClientCert";
    case ClientAuth::kVerifyIfGiven:
      return "VerifyClientCertIfGiven";
    case ClientAuth::kRequireAndVerify:
      return "RequireAndVerifyClientCert";
  }
  return "?";
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

Result<std::unique_ptr<ssl::context>> MakeContext(
    const config::WebConfig& web, std::vector<std::string> allowed_sans) {
  const config::TlsServerConfig& tls = *web.tls;
  auto fail = [&](const std::string& key, const std::string& message) {
    return MakeError(ErrorCode::kInvalid,
                     web.Where(key) + ": " + key + ": " + message);
  };
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::single_dh_use |
                   ssl::context::no_compression);
  SSL_CTX* native = ctx->native_handle();
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

  boost::system::error_code ec;
  const std::string cert_key = tls.cert_file.empty()
                                   ? "tls_server_config.cert"
                                   : "tls_server_config.cert_file";
  std::string cert_pem = tls.cert;
  if (!tls.cert_file.empty()) {
    auto text = ReadNamedFile(web, cert_key, tls.cert_file);
    if (!text) return tl::unexpected(text.error());
    cert_pem = std::move(*text);
  }
  ctx->use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (ec) {
    return fail(cert_key,
                "cannot load the certificate" +
                    (tls.cert_file.empty() ? std::string()
                                           : " \"" + tls.cert_file + "\"") +
                    ": " + OpenSslReason(ec.message()));
  }
  const std::string key_key = tls.key_file.empty()
                                  ? "tls_server_config.key"
                                  : "tls_server_config.key_file";
  std::string key_pem = tls.key;
  if (!tls.key_file.empty()) {
    auto text = ReadNamedFile(web, key_key, tls.key_file);
    if (!text) return tl::unexpected(text.error());
    key_pem = std::move(*text);
  }
  ctx->use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  // The key is a secret: gone from our memory once OpenSSL has it.
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (ec) {
    return fail(key_key,
                "cannot load the private key" +
                    (tls.key_file.empty() ? std::string()
                                          : " \"" + tls.key_file + "\"") +
                    ": " + OpenSslReason(ec.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return fail(key_key, "the private key does not match the certificate: " +
                             OpenSslReason("mismatch"));
  }

  if (!tls.cipher_suites.empty()) {
    auto list = CipherList(web);
    if (!list) return tl::unexpected(list.error());
    if (!list->empty() && SSL_CTX_set_cipher_list(native, list->c_str()) != 1) {
      return fail("tls_server_config.cipher_suites",
                  OpenSslReason("OpenSSL refused the list"));
    }
  }
  if (!tls.curve_preferences.empty()) {
    auto list = GroupList(web);
    if (!list) return tl::unexpected(list.error());
    if (SSL_CTX_set1_groups_list(native, list->c_str()) != 1) {
      return fail("tls_server_config.curve_preferences",
                  OpenSslReason("OpenSSL refused the list"));
    }
  }

  const std::string ca_key = tls.client_ca_file.empty()
                                 ? "tls_server_config.client_ca"
                                 : "tls_server_config.client_ca_file";
  std::string ca_pem = tls.client_ca;
  if (!tls.client_ca_file.empty()) {
    auto text = ReadNamedFile(web, ca_key, tls.client_ca_file);
    if (!text) return tl::unexpected(text.error());
    ca_pem = std::move(*text);
  }
  if (!ca_pem.empty()) {
    ctx->add_certificate_authority(boost::asio::buffer(ca_pem), ec);
    if (ec) {
      return fail(ca_key,
                  "cannot load the client CA: " + OpenSslReason(ec.message()));
    }
    // Tell clients which CAs we accept (curl picks its certificate by it).
    if (!tls.client_ca_file.empty()) {
      if (STACK_OF(X509_NAME)* names =
              SSL_load_client_CA_file(tls.client_ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(native, names);
      }
      ERR_clear_error();
    }
  }

  // Session resumption with client certificates needs an id context.
  static constexpr unsigned char kSessionContext[] = "leakwatch";
  SSL_CTX_set_session_id_context(native, kSessionContext,
                                 sizeof kSessionContext - 1);
  switch (tls.client_auth) {
    case ClientAuth::kNone:
      ctx->set_verify_mode(ssl::verify_none);
      break;
    case ClientAuth::kRequest:
    case ClientAuth::kRequireAny:
      // A certificate is asked for (and required) but not checked.
      ctx->set_verify_mode(tls.client_auth == ClientAuth::kRequest
                               ? ssl::verify_peer
                               : ssl::verify_peer |
                                     ssl::verify_fail_if_no_peer_cert);
      ctx->set_verify_callback([](bool, ssl::verify_context&) { return true; });
      break;
    case ClientAuth::kVerifyIfGiven:
    case ClientAuth::kRequireAndVerify:
      ctx->set_verify_mode(tls.client_auth == ClientAuth::kVerifyIfGiven
                               ? ssl::verify_peer
                               : ssl::verify_peer |
                                     ssl::verify_fail_if_no_peer_cert);
      if (!allowed_sans.empty()) {
        ctx->set_verify_callback(
            [sans = std::move(allowed_sans)](bool preverified,
                                             ssl::verify_context& vc) {
              X509_STORE_CTX* store = vc.native_handle();
              // Only the client's own certificate (depth 0) carries the
              // SANs that matter; the chain is OpenSSL's to judge.
              if (!preverified || X509_STORE_CTX_get_error_depth(store) != 0) {
                return preverified;
              }
              for (const std::string& san :
                   SubjectAltNames(X509_STORE_CTX_get_current_cert(store))) {
                if (std::find(sans.begin(), sans.end(), san) != sans.end()) {
                  return true;
                }
              }
              X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
              return false;
            });
      }
      break;
  }
  return ctx;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding (RFC 4648), as browsers and curl send it.
std::optional<std::string> DecodeBase64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[j] = Base64Value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned bits = (static_cast<unsigned>(v[0]) << 18) |
                          (static_cast<unsigned>(v[1]) << 12) |
                          (static_cast<unsigned>(v[2]) << 6) |
                          static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((bits >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return out;
}

}  // namespace

bool BcryptMatches(const std::string& password, const std::string& hash) {
  if (password.size() > 72 || password.find('\0') != std::string::npos) {
    return false;
  }
  // crypt_data is about 32 KiB: on the heap, zeroed as crypt_rn wants.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(),
                             static_cast<int>(sizeof(crypt_data)));
  // A failure is NULL or a string starting with '*'.
  if (out == nullptr || out[0] == '*') return false;
  const std::size_t len = std::strlen(out);
  return len == hash.size() && CRYPTO_memcmp(out, hash.data(), len) == 0;
}

std::optional<std::pair<std::string, std::string>> ParseBasicAuth(
    std::string_view authorization) {
  constexpr std::string_view kScheme = "basic ";
  if (authorization.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                  [](char a, char b) {
                    return a == std::tolower(static_cast<unsigned char>(b));
                  })) {
    return std::nullopt;
  }
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  auto decoded = DecodeBase64(encoded);
  if (!decoded) return std::nullopt;
  // RFC 7617: the user name cannot contain ':', the password may.
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users,
                     HashVerifier verify)
    : users_(std::move(users)), verify_(std::move(verify)) {}

const std::string& BasicAuth::DummyHash() {
  // bcrypt, cost 10 (htpasswd's default), of a random password nobody
  // knows; only its cost matters.
  static const std::string kDummy =
      "$2b$10$tV52Kn78qIQvv9pweugsWONwH0na5tEUph5.OtSdofamRyR0dJ0NG";
  return kDummy;
}

BasicAuth::Digest BasicAuth::KeyOf(const std::string& user,
                                   const std::string& hash,
                                   const std::string& password) {
  // Each part length-prefixed, so that no two (user, hash, password)
  // triples feed the digest the same bytes.
  std::string message;
  for (const std::string* part : {&user, &hash, &password}) {
    message += std::to_string(part->size()) + ":" + *part + ";";
  }
  Digest digest{};
  unsigned int len = 0;
  EVP_Digest(message.data(), message.size(), digest.data(), &len, EVP_sha256(),
             nullptr);
  OPENSSL_cleanse(message.data(), message.size());
  return digest;
}

BasicAuth::Verdict BasicAuth::Quick(std::string_view authorization) const {
  if (!enabled()) return Verdict::kAllowed;
  auto credentials = ParseBasicAuth(authorization);
  if (!credentials) return Verdict::kDenied;
  auto user = users_.find(credentials->first);
  if (user != users_.end()) {
    const Digest key = KeyOf(user->first, user->second, credentials->second);
    std::lock_guard lock(mu_);
    if (verified_.count(key) != 0) return Verdict::kAllowed;
  }
  return Verdict::kNeedsCheck;
}

bool BasicAuth::Check(std::string_view authorization) const {
  if (!enabled()) return true;
  auto credentials = ParseBasicAuth(authorization);
  if (!credentials) return false;
  auto user = users_.find(credentials->first);
  const bool known = user != users_.end();
  // An unknown user costs a bcrypt too, against a hash nobody's password
  // matches, so that timing does not reveal who exists.
  const std::string& hash = known ? user->second : DummyHash();
  const bool ok = verify_(credentials->second, hash) && known;
  if (ok) {
    const Digest key = KeyOf(user->first, user->second, credentials->second);
    std::lock_guard lock(mu_);
    if (verified_.insert(key).second) {
      order_.push_back(key);
      if (order_.size() > kCacheSize) {
        verified_.erase(order_.front());
        order_.pop_front();
      }
    }
  }
  return ok;
}

WebSecurity::WebSecurity(std::map<std::string, std::string> users,
                         HashVerifier verify)
    : auth_(std::move(users), std::move(verify)) {}

WebSecurity::~WebSecurity() = default;

std::shared_ptr<const WebSecurity> WebSecurity::None() {
  std::shared_ptr<WebSecurity> none(new WebSecurity({}, BcryptMatches));
  none->description_ = "plain HTTP";
  return none;
}

Result<std::shared_ptr<const WebSecurity>> WebSecurity::Make(
    const config::WebConfig& web, HashVerifier verify) {
  std::shared_ptr<WebSecurity> security(
      new WebSecurity(web.users, std::move(verify)));
  security->headers_ = web.headers;
  std::vector<std::string> parts;
  if (web.tls) {
    auto ctx = MakeContext(web, web.tls->client_allowed_sans);
    if (!ctx) return tl::unexpected(ctx.error());
    security->tls_ = std::move(*ctx);
    parts.push_back(std::string("TLS ") + VersionName(web.tls->min_version) +
                    " to " + VersionName(web.tls->max_version));
    if (web.tls->client_auth != ClientAuth::kNone) {
      parts.push_back(std::string("client certificates ") +
                      ClientAuthName(web.tls->client_auth));
    }
  } else {
    parts.push_back("plain HTTP");
  }
  if (!web.users.empty()) {
    parts.push_back("basic auth for " + std::to_string(web.users.size()) +
                    (web.users.size() == 1 ? " user" : " users"));
  }
  for (const std::string& part : parts) {
    if (!security->description_.empty()) security->description_ += ", ";
    security->description_ += part;
  }
  return std::shared_ptr<const WebSecurity>(std::move(security));
}

}  // namespace leakwatch::exporter::detail
