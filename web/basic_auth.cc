// Basic auth as exporter-toolkit's web/handler.go does it: bcrypt through
// libcrypt, a cache of verified credentials, a dummy check for unknown
// users.

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "web/security.h"

namespace leakwatch::web {
namespace {

// Standard base64 with padding (RFC 4648), as browsers and curl send it.
// OpenSSL's EVP_DecodeBlock decodes, but it is lax where a credential
// should not be (it skips whitespace at either end and reads '=' anywhere
// as zero bits), so the shape is checked first: whole quads of the
// alphabet, '=' only as the last one or two characters. It writes three
// bytes per quad, padding included, so the padding is taken off after.
std::optional<std::string> DecodeBase64(std::string_view in) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (in.size() % 4 != 0) return std::nullopt;
  const std::size_t last = in.find_last_not_of('=');
  const std::size_t data = last == std::string_view::npos ? 0 : last + 1;
  const std::size_t padding = in.size() - data;
  if (padding > 2 || in.substr(0, data).find_first_not_of(kAlphabet) !=
                         std::string_view::npos) {
    return std::nullopt;
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int written =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()),
                      static_cast<int>(in.size()));
  if (written < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(written) - padding);
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

}  // namespace leakwatch::web
