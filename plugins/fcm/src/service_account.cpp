#include "service_account.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace notify::fcm {

Result<ServiceAccount> parse_service_account(std::string_view json) {
  Poco::JSON::Object::Ptr root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    // Poco's message could quote the text, which holds the private key: say only what is wrong.
    return Error{Errc::invalid_argument, "the service account is not a JSON object"};
  }
  auto field = [&](const char* key, bool required) -> Result<std::string> {
    if (!root->has(key) || root->isNull(key)) {
      if (!required) return std::string();
      return Error{Errc::invalid_argument, std::string("the service account has no \"") + key + "\""};
    }
    const auto v = root->get(key);
    if (!v.isString() || (required && v.extract<std::string>().empty())) {
      return Error{Errc::invalid_argument,
                   std::string("the service account's \"") + key + "\" is not a non-empty string"};
    }
    return v.extract<std::string>();
  };
  ServiceAccount a;
  for (auto [key, out] : {std::pair{"client_email", &a.client_email}, std::pair{"token_uri", &a.token_uri},
                          std::pair{"project_id", &a.project_id}}) {
    auto v = field(key, true);
    if (!v) return v.error();
    *out = std::move(v.value());
  }
  auto kid = field("private_key_id", false);
  if (!kid) return kid.error();
  a.private_key_id = std::move(kid.value());
  auto key = field("private_key", true);
  if (!key) return key.error();
  a.private_key = Secret(key.value());
  explicit_bzero(key.value().data(), key.value().size());
  if (!a.token_uri.starts_with("https://")) {
    return Error{Errc::invalid_argument, "the service account's \"token_uri\" is not an https:// URL"};
  }
  return a;
}

}  // namespace notify::fcm
