#include "enclave/secrets_factory.hpp"

namespace notify::enclave {
namespace {

using FT = FieldType;

constexpr FieldSpec kKmsEgress[] = {
    {"transport", FT::string, false, "tcp", "transport to reach KMS: vsock (to the parent's relay) or tcp (dev)"},
    {"address", FT::string, false, nullptr,
     "where the transport connects, e.g. 3:8000; default: the endpoint's host:port"},
};
constexpr FieldSpec kKms[] = {
    {"region", FT::string, true, nullptr, "AWS region of the key, e.g. us-east-1"},
    {"key_id", FT::string, true, nullptr,
     "the KMS key (ARN or key id; not an alias): an answer naming another key is refused"},
    {"endpoint", FT::string, false, "", "KMS endpoint; empty: https://kms.<region>.amazonaws.com"},
    {"ca_file", FT::string, false, "/etc/ssl/certs/ca-certificates.crt", "CA bundle the KMS certificate must chain to"},
    {"egress", FT::object, false, nullptr, "how the enclave's TLS bytes leave it", kKmsEgress, std::size(kKmsEgress)},
    {"connect_timeout", FT::duration, false, "5s", nullptr},
    {"request_timeout", FT::duration, false, "15s", "one Decrypt call, TLS included"},
};
constexpr FieldSpec kSourceKms[] = {
    {"encryption_context", FT::string_map, false, nullptr,
     "the context the ciphertext was encrypted with (binds it to this secret), e.g. {secret: braze.api_key}"},
};
constexpr FieldSpec kSource[] = {
    {"name", FT::string, true, nullptr, "secret name in the store, e.g. braze.api_key"},
    {"kms", FT::object, true, nullptr, "fetch it from KMS with the parent's ciphertext", kSourceKms,
     std::size(kSourceKms)},
};
constexpr FieldSpec kProvisioner[] = {
    {"name", FT::string, true, nullptr, "the operator, as logs name the signer, e.g. ops-1"},
    {"public_key", FT::string, false, nullptr, "PEM public key (ECDSA P-256 or Ed25519); or public_key_file"},
    {"public_key_file", FT::string, false, nullptr, "file holding the PEM public key"},
};
constexpr FieldSpec kSecrets[] = {
    {"allow_plaintext", FT::boolean, false, "false",
     "accept secrets sent in plaintext over the link (the seed's Initialize). INSECURE: dev only"},
    {"kms", FT::object, false, nullptr, "enclave side: AWS KMS for secrets.sources (needs serve.attestation)", kKms,
     std::size(kKms)},
    {"sources", FT::object_list, false, nullptr, "enclave side: secrets fetched unattended (from KMS)", kSource,
     std::size(kSource)},
    {"provisioners", FT::object_list, false, nullptr,
     "enclave side: operator keys; when listed, a sealed blob must be signed by one of them", kProvisioner,
     std::size(kProvisioner)},
};

}  // namespace

Result<std::optional<KmsConfig>> kms_config_from(const config::YamlConfigView& secrets) {
  const auto listed = secrets.object_list("sources");
  if (!secrets.has("kms")) {
    if (!listed.empty()) {
      return Error{Errc::invalid_argument,
                   secrets.location("sources") + ": secrets.sources: needs a secrets.kms block"};
    }
    return std::optional<KmsConfig>{};
  }
  const auto kms = secrets.object("kms");
  KmsConfig out;
  auto& o = out.options;
  o.region = kms->string_value("region");
  o.key_id = kms->string_value("key_id");
  o.endpoint = kms->string_value("endpoint");
  o.ca_file = kms->string_value("ca_file");
  const auto egress = kms->object("egress");
  o.egress_transport = egress->string_value("transport");
  o.egress_address = egress->get_string("address").value_or("");  // absent: the endpoint's host:port
  o.connect_timeout = kms->duration_value("connect_timeout");
  o.request_timeout = kms->duration_value("request_timeout");
  if (auto st = aws::validate_kms_options(o); !st) {
    return Error{Errc::invalid_argument, kms->location("") + ": secrets.kms: " + st.message()};
  }
  for (const auto& src : listed) {
    KmsSecretSource source;
    source.name = src->string_value("name");
    if (source.name.empty()) {
      return Error{Errc::invalid_argument, src->location("name") + ": secrets.sources.name: empty"};
    }
    for (const auto& s : out.sources) {
      if (s.name == source.name) {
        return Error{Errc::invalid_argument,
                     src->location("name") + ": secrets.sources: '" + source.name + "' listed twice"};
      }
    }
    source.encryption_context = src->object("kms")->get_string_map("encryption_context");
    out.sources.push_back(std::move(source));
  }
  if (out.sources.empty()) {
    return Error{Errc::invalid_argument, kms->location("") + ": secrets.kms: no secrets.sources entry uses it"};
  }
  return std::optional<KmsConfig>{std::move(out)};
}

services::ServiceFactory secrets_factory() {
  return {{"secrets", FT::object, false, nullptr, "secret policy", kSecrets, std::size(kSecrets)}, {}, nullptr, {}};
}

}  // namespace notify::enclave
