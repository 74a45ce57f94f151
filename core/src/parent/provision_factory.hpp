#pragma once
// `provision:` — the parent's half of the KMS bootstrap: its schema, its settings, and the factory that builds the
// KmsProvisioner on the forward link.

#include "aws/credential_source.hpp"
#include "parent/kms_provisioner.hpp"
#include "runtime/config/yaml_config_view.hpp"
#include "runtime/service_registry.hpp"

#include <notify/result.hpp>

#include <string>

namespace notify::parent {

struct ProvisionConfig {
  KmsProvisionerOptions provisioner;  ///< entries with an empty ciphertext_file are left out (turned off)
  std::string aws_credentials;        ///< imds or env
  aws::ImdsOptions imds;
};

/// Reads a validated `provision:` block (schema defaults filled in); an unknown credential source names its file:line.
Result<ProvisionConfig> provision_config_from(const config::YamlConfigView& provision);

services::ServiceFactory provision_factory();

}  // namespace notify::parent
