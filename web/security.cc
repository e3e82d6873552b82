// Security: what the server takes from one web config, and how it is
// described in the log.

#include "web/security.h"

#include <boost/asio/ssl/context.hpp>

#include "web/detail/tls_context.h"

namespace leakwatch::web {
namespace {

using config::ClientAuth;
using config::TlsVersion;

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

// "TLS TLS12 to TLS13, client certificates RequireAndVerifyClientCert,
// basic auth for 2 users".
std::string Describe(const config::WebConfig& web) {
  std::vector<std::string> parts;
  if (web.tls) {
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
  std::string description;
  for (const std::string& part : parts) {
    if (!description.empty()) description += ", ";
    description += part;
  }
  return description;
}

}  // namespace

Security::Security(std::map<std::string, std::string> users,
                   HashVerifier verify)
    : auth_(std::move(users), std::move(verify)) {}

Security::~Security() = default;

std::shared_ptr<const Security> Security::None() {
  std::shared_ptr<Security> none(new Security({}, BcryptMatches));
  none->description_ = "plain HTTP";
  return none;
}

Result<std::shared_ptr<const Security>> Security::Make(
    const config::WebConfig& web, HashVerifier verify) {
  std::shared_ptr<Security> security(
      new Security(web.users, std::move(verify)));
  security->headers_ = web.headers;
  if (web.tls) {
    auto ctx = detail::MakeTlsContext(web);
    if (!ctx) return PassOn(ctx.error());
    security->tls_ = std::move(*ctx);
  }
  security->description_ = Describe(web);
  return std::shared_ptr<const Security>(std::move(security));
}

}  // namespace leakwatch::web
