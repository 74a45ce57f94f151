#pragma once
// `secrets:` — the enclave's secret policy: whether plaintext may arrive over the link (dev only), the KMS the
// enclave fetches its own secrets from, which secrets it sources there, and the operator keys a sealed blob must be
// signed with. It builds nothing itself: serve reads it.

#include "aws/kms_client.hpp"
#include "enclave/kms_secret_loader.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

#include <optional>
#include <vector>

namespace notify::enclave {

/// secrets.kms and secrets.sources, checked.
struct KmsConfig {
  aws::KmsOptions options;
  std::vector<KmsSecretSource> sources;
};

/// nullopt without a secrets.kms block. Errors (sources without kms, kms without sources, a name listed twice, bad
/// options) name the key's file:line.
Result<std::optional<KmsConfig>> kms_config_from(const config::YamlConfigView& secrets);

services::ServiceFactory secrets_factory();

}  // namespace notify::enclave
