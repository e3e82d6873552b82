// What the basic-auth and server tests share: credentials as curl sends
// them, a verifier that records its calls, and a known bcrypt hash.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "web/security.h"

namespace leakwatch::web::fixtures {

// "Basic base64(user:password)", as curl -u sends it.
inline std::string Header(const std::string& user,
                          const std::string& password) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

// A verifier that records the hashes it was asked about.
struct CountingVerifier {
  std::shared_ptr<std::vector<std::string>> hashes =
      std::make_shared<std::vector<std::string>>();
  std::string good_password = "right";
  HashVerifier Fn() const {
    return [hashes = hashes, good = good_password](const std::string& password,
                                                   const std::string& hash) {
      hashes->push_back(hash);
      return password == good;
    };
  }
};

inline const std::string kAliceHash =
    "$2a$10$Ikkqr.CSgMqHC.bSUhyoSeVttoeqm6ZX/efwS6iocODOp7FbudTSK";

}  // namespace leakwatch::web::fixtures
