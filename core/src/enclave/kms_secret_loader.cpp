#include "enclave/kms_secret_loader.hpp"

#include <algorithm>

namespace notify::enclave {

KmsSecretLoader::KmsSecretLoader(std::unique_ptr<aws::KmsClient> client, std::vector<KmsSecretSource> sources,
                                 RecipientIdentity& identity, secrets::MemorySecretStore& store, Log& log, Clock clock,
                                 AttestationCounter attested)
    : client_(std::move(client)),
      sources_(std::move(sources)),
      identity_(identity),
      store_(store),
      log_(log),
      clock_(std::move(clock)),
      attested_(std::move(attested)) {}

bool KmsSecretLoader::is_source(std::string_view name) const {
  return std::any_of(sources_.begin(), sources_.end(), [&](const auto& s) { return s.name == name; });
}

void KmsSecretLoader::set_failure(const std::string& name, std::string detail) {
  std::lock_guard lock(state_mu_);
  failures_[name] = std::move(detail);
}

link::KmsProvisionReply KmsSecretLoader::provision(const link::KmsProvisionRequest& request) {
  std::lock_guard call(call_mu_);
  aws::Credentials credentials;
  credentials.access_key_id = request.access_key_id;
  credentials.secret_access_key = request.secret_access_key;
  credentials.session_token = request.session_token;
  if (request.expiration_unix > 0) {
    credentials.expiration = std::chrono::system_clock::time_point(std::chrono::seconds(request.expiration_unix));
  }
  link::KmsProvisionReply reply;
  for (const auto& c : request.ciphertexts) {
    const auto it = std::find_if(sources_.begin(), sources_.end(), [&](const auto& s) { return s.name == c.name; });
    if (it == sources_.end()) {
      // Not ours to fetch: a parent cannot make the enclave install a secret its config does not source from KMS.
      reply.outcomes.push_back({c.name, false,
                                "'" + c.name +
                                    "' is not a KMS source in this enclave's config "
                                    "(secrets.sources)"});
      log_.warning("kms: refused a ciphertext for '" + c.name + "': not listed in secrets.sources");
      continue;
    }
    reply.outcomes.push_back(fetch(*it, c.blob, credentials));
  }
  return reply;
}

link::KmsProvisionOutcome KmsSecretLoader::fetch(const KmsSecretSource& source, std::span<const std::byte> blob,
                                                 const aws::Credentials& credentials) {
  auto failed = [&](std::string detail) {
    log_.warning("kms: secret '" + source.name + "' not installed: " + detail);
    set_failure(source.name, detail);
    return link::KmsProvisionOutcome{source.name, false, std::move(detail)};
  };
  const auto now = clock_();
  if (credentials.expiration && *credentials.expiration <= now) {
    return failed("the AWS credentials from the parent expired before the call (ExpiredTokenException avoided)");
  }
  auto document = identity_.recipient_document();
  if (attested_) attested_(document.ok());
  if (!document) return failed("attestation for the KMS Recipient failed: " + document.error().message);

  aws::DecryptForRecipientRequest req;
  req.ciphertext_blob.assign(blob.begin(), blob.end());
  req.encryption_context = source.encryption_context;
  req.attestation_document = std::move(document.value());
  auto answer = client_->decrypt_for_recipient(req, credentials, now);
  if (!answer) return failed(answer.error().message);

  auto secret = identity_.open_for_recipient(answer->ciphertext_for_recipient);
  if (!secret) return failed("KMS's answer did not open: " + secret.error().message);
  if (secret->empty()) return failed("KMS returned an empty value; refused");
  const auto size = secret->size();
  if (auto st = store_.put(source.name, std::move(secret.value()), SecretOrigin::kms); !st) {
    return failed("secret store refused it: " + st.message());
  }
  {
    std::lock_guard lock(state_mu_);
    failures_.erase(source.name);
  }
  log_.info("secret '" + source.name + "' installed from AWS KMS (" + answer->key_arn + ", " + std::to_string(size) +
            " bytes, attested Recipient)");
  return {source.name, true, {}};
}

std::vector<link::SecretStatus> KmsSecretLoader::status() const {
  std::vector<link::SecretStatus> out;
  const auto installed = store_.list();
  std::lock_guard lock(state_mu_);
  for (const auto& s : sources_) {
    link::SecretStatus st;
    st.name = s.name;
    st.source = "kms";
    const auto it = std::find_if(installed.begin(), installed.end(), [&](const auto& i) { return i.name == s.name; });
    if (it != installed.end()) {
      st.state = link::SecretState::installed;
      st.origin = secret_origin_name(it->origin);
    } else if (auto f = failures_.find(s.name); f != failures_.end()) {
      st.state = link::SecretState::failing;
      st.detail = f->second;
    } else {
      st.state = link::SecretState::missing;
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace notify::enclave
