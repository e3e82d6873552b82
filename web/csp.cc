// CspHashSource: SHA-256 and base64 through OpenSSL.

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "web/web.h"

namespace leakwatch::web {

std::string CspHashSource(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(),
                 nullptr) != 1) {
    throw std::runtime_error("SHA-256 of the page failed");
  }
  // Base64 of 32 bytes is 44 characters, plus EVP_EncodeBlock's NUL.
  std::array<unsigned char, 64> encoded{};
  const int n =
      EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(length));
  return "'sha256-" +
         std::string(reinterpret_cast<const char*>(encoded.data()),
                     static_cast<std::size_t>(n)) +
         "'";
}

}  // namespace leakwatch::web
