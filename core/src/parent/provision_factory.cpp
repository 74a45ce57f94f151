#include "parent/provision_factory.hpp"

#include "parent/forward_service.hpp"

namespace notify::parent {
namespace {

using FT = FieldType;

constexpr FieldSpec kProvisionKms[] = {
    {"name", FT::string, true, nullptr, "the enclave's secret name, e.g. braze.api_key"},
    {"ciphertext_file", FT::string, true, nullptr,
     "base64 CiphertextBlob (aws kms encrypt output); empty: this entry is off"},
};
constexpr FieldSpec kProvision[] = {
    {"kms", FT::object_list, false, nullptr, "ciphertexts the enclave fetches from KMS itself", kProvisionKms,
     std::size(kProvisionKms)},
    {"aws_credentials", FT::string, false, "imds", "imds (IMDSv2 instance role) or env (AWS_ACCESS_KEY_ID, ...)"},
    {"imds_endpoint", FT::string, false, "http://169.254.169.254", "instance metadata service"},
    {"imds_role", FT::string, false, "", "instance role; empty: the one IMDS lists"},
    {"check_interval", FT::duration, false, "10s", "how often the enclave's secret state is checked"},
    {"retry_initial", FT::duration, false, "1s", "first retry after a failed fetch"},
    {"retry_max", FT::duration, false, "5m", "retry delay cap"},
    {"refresh_before", FT::duration, false, "5m", "refresh AWS credentials this long before they expire"},
};

Status build(services::ServiceContext& ctx, const config::YamlConfigView& provision) {
  auto cfg = provision_config_from(provision);
  if (!cfg) return cfg.error();
  if (cfg->provisioner.secrets.empty()) {
    ctx.log().info("provision.kms: no ciphertext file configured; KMS provisioning is off");
    return {};
  }
  if (ctx.checking()) return {};
  auto* forward = ctx.find<services::ForwardService>();
  if (forward == nullptr) return Error{Errc::internal, "provision: built before forward"};
  auto credentials =
      cfg->aws_credentials == "env" ? aws::make_env_credential_source() : aws::make_imds_credential_source(cfg->imds);
  ctx.add(std::make_unique<KmsProvisioner>(forward->client(), std::move(credentials), std::move(cfg->provisioner),
                                           ctx.logger("provision")));
  return {};
}

}  // namespace

Result<ProvisionConfig> provision_config_from(const config::YamlConfigView& provision) {
  ProvisionConfig c;
  auto& po = c.provisioner;
  for (const auto& e : provision.object_list("kms")) {
    auto file = e->string_value("ciphertext_file");
    if (file.empty()) continue;  // e.g. ${BRAZE_KEY_CIPHERTEXT_FILE:-} unset: this entry is off
    po.secrets.push_back({e->string_value("name"), std::move(file), e->location("ciphertext_file")});
  }
  po.check_interval = provision.duration_value("check_interval");
  po.retry_initial = provision.duration_value("retry_initial");
  po.retry_max = provision.duration_value("retry_max");
  po.refresh_before = provision.duration_value("refresh_before");
  c.aws_credentials = provision.string_value("aws_credentials");
  if (c.aws_credentials != "imds" && c.aws_credentials != "env") {
    return Error{Errc::invalid_argument, provision.location("aws_credentials") + ": provision.aws_credentials: '" +
                                             c.aws_credentials + "' is not one of imds, env"};
  }
  c.imds.endpoint = provision.string_value("imds_endpoint");
  c.imds.role = provision.string_value("imds_role");
  return c;
}

services::ServiceFactory provision_factory() {
  return {{"provision", FT::object, false, nullptr,
           "parent side: hand KMS ciphertexts and AWS credentials to the enclave (needs forward)", kProvision,
           std::size(kProvision)},
          {"forward"},
          nullptr,
          build};
}

}  // namespace notify::parent
