// The web configuration (--web.config.file) applied: an OpenSSL server
// context when TLS is on, basic auth against bcrypt hashes, and the extra
// response headers. config/web_config.h reads the file; this turns it into
// what the server (web/web.h) uses.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/web_config.h"

namespace boost::asio::ssl {
class context;
}

namespace leakwatch::web {

// Whether password matches a bcrypt hash ($2a$, $2b$, $2y$), through
// libcrypt's crypt_rn. Takes tens of milliseconds at cost 10: keep it off
// the I/O thread. Passwords over 72 bytes never match (bcrypt would ignore
// the rest), as in Go's bcrypt.
bool BcryptMatches(const std::string& password, const std::string& hash);

using HashVerifier =
    std::function<bool(const std::string& password, const std::string& hash)>;

// The user and password of an "Authorization: Basic ..." header value;
// nullopt when there is none or it is malformed.
std::optional<std::pair<std::string, std::string>> ParseBasicAuth(
    std::string_view authorization);

// Basic auth as exporter-toolkit does it: bcrypt hashes per user, verified
// credentials cached so that a scrape does not pay bcrypt each time, and
// unknown users checked against a fixed dummy hash so that the response
// time does not tell which users exist.
//
// The cache holds SHA-256 digests of (user, hash, password) for
// credentials that verified, never the passwords themselves, and only
// successes: a wrong password can never be found in it, and the hash being
// part of the key means a changed hash needs a fresh check.
//
// Thread-safety: every method may be called from any thread.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users,
                     HashVerifier verify = BcryptMatches);

  // No users: every request passes.
  bool enabled() const { return !users_.empty(); }

  enum class Verdict { kAllowed, kDenied, kNeedsCheck };
  // Cheap, for the I/O thread: allowed when auth is off or the credentials
  // are cached, denied when there are none, else a full Check is needed.
  Verdict Quick(std::string_view authorization) const;
  // The full check, bcrypt included; caches success.
  bool Check(std::string_view authorization) const;

  // The hash unknown users are checked against.
  static const std::string& DummyHash();
  static constexpr std::size_t kCacheSize = 100;

 private:
  using Digest = std::array<std::uint8_t, 32>;
  static Digest KeyOf(const std::string& user, const std::string& hash,
                      const std::string& password);

  std::map<std::string, std::string> users_;
  HashVerifier verify_;
  mutable std::mutex mu_;
  mutable std::set<Digest> verified_;
  mutable std::deque<Digest> order_;  // oldest first, for eviction
};

// Everything the server needs from one web config.
//
// Thread-safety: immutable after Make (BasicAuth's cache locks itself);
// shared by pointer between the server and its sessions.
class Security {
 public:
  // Loads certificates and keys, builds the TLS context. Errors name the
  // web config's file:line:column of the key concerned.
  static Result<std::shared_ptr<const Security>> Make(
      const config::WebConfig& web, HashVerifier verify = BcryptMatches);
  // Plain HTTP, no auth.
  static std::shared_ptr<const Security> None();

  ~Security();
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  // The server context for new connections; nullptr for plain HTTP.
  boost::asio::ssl::context* tls() const { return tls_.get(); }
  const BasicAuth& auth() const { return auth_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const {
    return headers_;
  }
  // "TLS (TLS12 to TLS13), client certificates RequireAndVerifyClientCert,
  // basic auth for 2 users", for the log.
  const std::string& description() const { return description_; }

 private:
  Security(std::map<std::string, std::string> users, HashVerifier verify);

  std::unique_ptr<boost::asio::ssl::context> tls_;
  BasicAuth auth_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string description_;
};

}  // namespace leakwatch::web
