#include "config/web_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <string_view>

#include "config/detail/yaml.h"

namespace leakwatch::config {
namespace {

using detail::Leaf;
using detail::Shape;

constexpr std::string_view kTls = "tls_server_config.";

// The headers exporter-toolkit lets a web config add, and their allowed
// values (empty: any value).
struct AllowedHeader {
  std::string_view name;
  std::vector<std::string_view> values;
};
const std::array<AllowedHeader, 5>& AllowedHeaders() {
  static const std::array<AllowedHeader, 5> kHeaders = {{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  }};
  return kHeaders;
}

std::vector<Leaf> Leaves() {
  auto scalar = [](std::string path, std::string expected) {
    return Leaf{std::move(path), Shape::kScalar, std::move(expected), ""};
  };
  auto list = [](std::string path, std::string expected) {
    return Leaf{std::move(path), Shape::kList, std::move(expected), ""};
  };
  std::vector<Leaf> leaves = {
      scalar("tls_server_config.cert_file", "a file name"),
      scalar("tls_server_config.key_file", "a file name"),
      scalar("tls_server_config.cert", "a PEM certificate"),
      scalar("tls_server_config.key", "a PEM key"),
      scalar("tls_server_config.client_ca_file", "a file name"),
      scalar("tls_server_config.client_ca", "PEM certificates"),
      scalar("tls_server_config.client_auth_type",
             "a client auth type such as RequireAndVerifyClientCert"),
      scalar("tls_server_config.min_version", "a TLS version such as TLS12"),
      scalar("tls_server_config.max_version", "a TLS version such as TLS13"),
      list("tls_server_config.cipher_suites", "a list of cipher suite names"),
      list("tls_server_config.curve_preferences", "a list of curve names"),
      scalar("tls_server_config.prefer_server_cipher_suites", "true or false"),
      list("tls_server_config.client_allowed_sans", "a list of SANs"),
      scalar("http_server_config.http2", "true or false"),
      Leaf{"http_server_config.headers", Shape::kMap,
           "a mapping of header names to values", ""},
      Leaf{"basic_auth_users", Shape::kMap,
           "a mapping of user names to bcrypt hashes", ""},
  };
  for (const char* key : {"rate_limit.burst", "rate_limit.interval"}) {
    leaves.push_back(Leaf{key, Shape::kScalar, "",
                          "leakwatch does not implement rate limiting; "
                          "remove the rate_limit section"});
  }
  return leaves;
}

Result<bool> YamlBool(const detail::Item& item, const std::string& key) {
  std::string lower = item.text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return MakeError(
      ErrorCode::kInvalid,
      item.where + ": " + key + ": \"" + item.text + "\" is not true or false");
}

template <typename T, std::size_t N>
Result<T> OneOf(const detail::Item& item, const std::string& key,
                const std::array<std::pair<std::string_view, T>, N>& names) {
  std::vector<std::string> known;
  for (const auto& [name, value] : names) {
    if (item.text == name) return value;
    known.emplace_back(name);
  }
  std::string message =
      item.where + ": " + key + ": unknown value \"" + item.text + "\"";
  if (auto close = detail::ClosestMatch(item.text, known)) {
    message += " (did you mean \"" + *close + "\"?)";
  } else {
    std::string all;
    for (const std::string& k : known) all += (all.empty() ? "" : ", ") + k;
    message += " (want one of " + all + ")";
  }
  return MakeError(ErrorCode::kInvalid, message);
}

constexpr std::array<std::pair<std::string_view, TlsVersion>, 4> kVersions = {{
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
}};

constexpr std::array<std::pair<std::string_view, ClientAuth>, 6> kClientAuth = {
    {
        {"NoClientCert", ClientAuth::kNone},
        {"RequestClientCert", ClientAuth::kRequest},
        {"RequireAnyClientCert", ClientAuth::kRequireAny},
        // exporter-toolkit keeps this older name for RequireAnyClientCert.
        {"RequireClientCert", ClientAuth::kRequireAny},
        {"VerifyClientCertIfGiven", ClientAuth::kVerifyIfGiven},
        {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerify},
    }};

bool IsBase64Bcrypt(char c) {
  return c == '.' || c == '/' || std::isalnum(static_cast<unsigned char>(c));
}

}  // namespace

std::string WebConfig::Where(const std::string& key) const {
  auto it = locations.find(key);
  return it == locations.end() ? path : it->second;
}

bool IsBcryptHash(const std::string& hash) {
  // $2b$10$ + 22 characters of salt + 31 of hash.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' ||
      hash[6] != '$') {
    return false;
  }
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), IsBase64Bcrypt);
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  auto text = detail::ReadWholeFile(path, "web config file");
  if (!text) return PassOn(text.error());
  auto tree = detail::ReadYaml(*text, path, Leaves());
  if (!tree) return PassOn(tree.error());

  WebConfig web;
  web.path = path;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto item = [&](const std::string& key) -> const detail::Item* {
    auto it = tree->find(key);
    if (it == tree->end() || it->second.items.empty()) return nullptr;
    return &it->second.items.front();
  };
  auto invalid = [&](const std::string& key, const std::string& message) {
    return MakeError(ErrorCode::kInvalid, web.Where(key) + ": " + message);
  };
  for (const auto& [key, value] : *tree) web.locations[key] = value.where;

  TlsServerConfig tls;
  bool tls_enabled = false;
  auto text_field = [&](const char* name, std::string& field, bool is_path) {
    const std::string key = std::string(kTls) + name;
    if (const detail::Item* i = item(key)) {
      field = i->text;
      if (is_path && !field.empty() && field.front() != '/' && !dir.empty()) {
        field = (dir / field).lexically_normal().string();
      }
      // exporter-toolkit's IsEnabled: any of these turns TLS on.
      tls_enabled = tls_enabled || !i->text.empty();
    }
  };
  text_field("cert_file", tls.cert_file, true);
  text_field("key_file", tls.key_file, true);
  text_field("cert", tls.cert, false);
  text_field("key", tls.key, false);
  text_field("client_ca_file", tls.client_ca_file, true);
  text_field("client_ca", tls.client_ca, false);
  if (const detail::Item* i = item("tls_server_config.client_auth_type")) {
    auto auth = OneOf(*i, "tls_server_config.client_auth_type", kClientAuth);
    if (!auth) return PassOn(auth.error());
    tls.client_auth = *auth;
    tls_enabled = true;
  }
  for (auto [name, field] : {std::pair{"min_version", &tls.min_version},
                             std::pair{"max_version", &tls.max_version}}) {
    const std::string key = std::string(kTls) + name;
    if (const detail::Item* i = item(key)) {
      auto version = OneOf(*i, key, kVersions);
      if (!version) return PassOn(version.error());
      *field = *version;
    }
  }
  for (auto [name, field] :
       {std::pair{"cipher_suites", &tls.cipher_suites},
        std::pair{"curve_preferences", &tls.curve_preferences},
        std::pair{"client_allowed_sans", &tls.client_allowed_sans}}) {
    auto it = tree->find(std::string(kTls) + name);
    if (it == tree->end()) continue;
    for (const detail::Item& i : it->second.items) field->push_back(i.text);
  }
  if (const detail::Item* i =
          item("tls_server_config.prefer_server_cipher_suites")) {
    auto b = YamlBool(*i, "tls_server_config.prefer_server_cipher_suites");
    if (!b) return PassOn(b.error());
    tls.prefer_server_cipher_suites = *b;
  }
  if (const detail::Item* i = item("http_server_config.http2")) {
    // leakwatch speaks HTTP/1.1 only; either value is accepted, as a file
    // written for another exporter should load unchanged.
    auto b = YamlBool(*i, "http_server_config.http2");
    if (!b) return PassOn(b.error());
  }

  if (tls_enabled) {
    // exporter-toolkit's rules (tls_config.go), checked before any file is
    // read so that the message points at the file.
    if (tls.cert_file.empty() && tls.cert.empty()) {
      return invalid("tls_server_config",
                     "tls_server_config: missing one of cert or cert_file");
    }
    if (tls.key_file.empty() && tls.key.empty()) {
      return invalid("tls_server_config",
                     "tls_server_config: missing one of key or key_file");
    }
    const bool has_ca = !tls.client_ca_file.empty() || !tls.client_ca.empty();
    if (has_ca && tls.client_auth == ClientAuth::kNone) {
      return invalid(
          "tls_server_config",
          "tls_server_config: a client CA is configured without a client "
          "auth policy (set client_auth_type, e.g. "
          "RequireAndVerifyClientCert)");
    }
    if (!has_ca && (tls.client_auth == ClientAuth::kVerifyIfGiven ||
                    tls.client_auth == ClientAuth::kRequireAndVerify)) {
      return invalid("tls_server_config.client_auth_type",
                     "tls_server_config.client_auth_type: verifying client "
                     "certificates needs client_ca_file or client_ca");
    }
    if (!tls.client_allowed_sans.empty() &&
        tls.client_auth != ClientAuth::kRequireAndVerify &&
        tls.client_auth != ClientAuth::kVerifyIfGiven) {
      return invalid("tls_server_config.client_allowed_sans",
                     "tls_server_config.client_allowed_sans: needs "
                     "client_auth_type RequireAndVerifyClientCert or "
                     "VerifyClientCertIfGiven");
    }
    if (tls.min_version > tls.max_version) {
      return invalid("tls_server_config.min_version",
                     "tls_server_config: min_version is above max_version");
    }
    web.tls = std::move(tls);
  }

  if (auto it = tree->find("basic_auth_users"); it != tree->end()) {
    const detail::Value& users = it->second;
    for (std::size_t i = 0; i < users.keys.size(); ++i) {
      const std::string& user = users.keys[i].text;
      if (user.find(':') != std::string::npos) {
        return MakeError(ErrorCode::kInvalid,
                         users.keys[i].where + ": basic_auth_users: \"" + user +
                             "\": a user name cannot contain \":\" in basic "
                             "auth");
      }
      if (!IsBcryptHash(users.items[i].text)) {
        // The hash itself stays out of the message: it is a secret.
        return MakeError(ErrorCode::kInvalid,
                         users.items[i].where + ": basic_auth_users." + user +
                             ": not a bcrypt hash (want $2a$, $2b$ or $2y$, a "
                             "cost of 04 to 31 and 53 characters after it, "
                             "60 in all; e.g. from htpasswd -nBC 10 " +
                             user + ")");
      }
      web.users[user] = users.items[i].text;
    }
  }

  if (auto it = tree->find("http_server_config.headers"); it != tree->end()) {
    const detail::Value& headers = it->second;
    for (std::size_t i = 0; i < headers.keys.size(); ++i) {
      const std::string& name = headers.keys[i].text;
      const std::string& value = headers.items[i].text;
      const auto& allowed = AllowedHeaders();
      auto found =
          std::find_if(allowed.begin(), allowed.end(),
                       [&](const AllowedHeader& h) { return h.name == name; });
      if (found == allowed.end()) {
        std::vector<std::string> names;
        for (const AllowedHeader& h : allowed) names.emplace_back(h.name);
        std::string message = headers.keys[i].where +
                              ": http_server_config.headers: header \"" + name +
                              "\" cannot be configured";
        if (auto close = detail::ClosestMatch(name, names)) {
          message += " (did you mean \"" + *close + "\"?)";
        }
        return MakeError(ErrorCode::kInvalid, message);
      }
      if (!found->values.empty() &&
          std::find(found->values.begin(), found->values.end(), value) ==
              found->values.end()) {
        std::string want;
        for (std::string_view v : found->values) {
          want += (want.empty() ? "" : " or ") + std::string(v);
        }
        return MakeError(ErrorCode::kInvalid,
                         headers.items[i].where + ": http_server_config." +
                             "headers." + name + ": \"" + value +
                             "\" is not allowed (want " + want + ")");
      }
      web.headers.emplace_back(name, value);
    }
  }
  return web;
}

}  // namespace leakwatch::config
