#pragma once
// A Google service account key (the JSON file the Firebase console hands out), read from the secret store: who signs
// the OAuth assertion, with which key, where to exchange it, and which project messages go to.

#include <notify/result.hpp>
#include <notify/secret.hpp>

#include <string>
#include <string_view>

namespace notify::fcm {

struct ServiceAccount {
  std::string client_email;
  std::string private_key_id;  ///< the JWT's "kid" (may be empty)
  Secret private_key;          ///< PEM (PKCS#8 RSA)
  std::string token_uri;       ///< e.g. https://oauth2.googleapis.com/token
  std::string project_id;
};

/// Parses the service account JSON. Errors name the missing or malformed field and never quote a value.
Result<ServiceAccount> parse_service_account(std::string_view json);

}  // namespace notify::fcm
