#include "parent/kms_provisioner.hpp"

#include "aws/kms_client.hpp"

#include <notify/toolkit/base64.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace notify::parent {
namespace {

constexpr std::size_t kMaxCiphertextFileBytes = 64 * 1024;

bool mentions_expired_credentials(std::string_view detail) {
  return detail.find("ExpiredToken") != std::string_view::npos ||
         detail.find("credentials from the parent expired") != std::string_view::npos;
}

}  // namespace

Result<std::vector<std::byte>> read_ciphertext_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{Errc::not_found, file.string() + ": cannot read the ciphertext file"};
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxCiphertextFileBytes) {
      return Error{Errc::invalid_argument, file.string() + ": larger than " + std::to_string(kMaxCiphertextFileBytes) +
                                               " bytes; expected a base64 KMS CiphertextBlob"};
    }
  }
  auto decoded = toolkit::base64_decode(toolkit::strip_whitespace(text));
  if (!decoded) {
    return Error{
        Errc::invalid_argument,
        file.string() + ": not base64 (expected what `aws kms encrypt --output text --query CiphertextBlob` prints)"};
  }
  auto out = std::move(*decoded);
  if (out.empty()) return Error{Errc::invalid_argument, file.string() + ": empty ciphertext"};
  if (out.size() > aws::kMaxKmsCiphertextBlobBytes) {
    return Error{Errc::invalid_argument, file.string() + ": " + std::to_string(out.size()) +
                                             " bytes, more than a KMS CiphertextBlob can be (6144)"};
  }
  return out;
}

KmsProvisioner::KmsProvisioner(link::LinkClient& link, std::unique_ptr<aws::CredentialSource> credentials,
                               KmsProvisionerOptions options, std::shared_ptr<Log> log)
    : link_(link), source_(std::move(credentials)), options_(std::move(options)), log_(std::move(log)) {}

KmsProvisioner::~KmsProvisioner() { stop(); }

Status KmsProvisioner::start() {
  for (const auto& e : options_.secrets) {
    auto blob = read_ciphertext_file(e.ciphertext_file);
    if (!blob) return Error{blob.error().code, e.location + ": provision.kms[" + e.name + "]: " + blob.error().message};
    tracked_.push_back(
        {e, std::move(blob.value()), toolkit::Backoff(options_.retry_initial, options_.retry_max), {}, false});
  }
  log_->info("KMS provisioning of " + std::to_string(tracked_.size()) +
             " secret(s) to the enclave, AWS credentials from " + source_->describe());
  thread_.start([this] { run(); });
  return {};
}

void KmsProvisioner::stop() { thread_.stop(); }

void KmsProvisioner::run() {
  // Checks at once after every (re)connect — an enclave that restarted has lost its secrets — and every
  // check_interval otherwise; the short tick only watches for reconnects.
  const auto tick = std::min<std::chrono::milliseconds>(options_.check_interval, std::chrono::milliseconds(250));
  std::uint64_t seen_connects = 0;
  auto next_check = std::chrono::steady_clock::now();
  while (!thread_.stopping()) {
    const auto connects = link_.stats().connects;
    const auto now = std::chrono::steady_clock::now();
    if (link_.connected() && (connects != seen_connects || now >= next_check)) {
      seen_connects = connects;
      check_once();
      next_check = std::chrono::steady_clock::now() + options_.check_interval;
    }
    if (!thread_.wait_for(tick)) return;
  }
}

Result<aws::Credentials> KmsProvisioner::credentials() {
  const auto now = std::chrono::system_clock::now();
  if (cached_ && (!cached_->expiration || *cached_->expiration - options_.refresh_before > now)) return *cached_;
  auto fresh = source_->fetch();
  if (!fresh) return fresh.error();
  cached_ = fresh.value();
  return fresh;
}

void KmsProvisioner::check_once() {
  auto health = link_.health();
  if (!health) {
    log_->debug("enclave health unavailable: " + health.error().message);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  link::KmsProvisionRequest request;
  std::vector<Tracked*> sent;
  for (auto& t : tracked_) {
    const auto it = std::find_if(health->secrets.begin(), health->secrets.end(),
                                 [&](const auto& s) { return s.name == t.entry.name && s.source == "kms"; });
    if (it == health->secrets.end()) {
      if (!t.warned_not_sourced) {
        log_->warning("the enclave '" + health->node + "' does not source '" + t.entry.name +
                      "' from KMS (no secrets.sources entry): not sending its ciphertext");
        t.warned_not_sourced = true;
      }
      continue;
    }
    if (it->state == link::SecretState::installed) {
      t.backoff.reset();
      t.next_attempt = {};
      continue;
    }
    if (now < t.next_attempt) continue;
    request.ciphertexts.push_back({t.entry.name, t.blob});
    sent.push_back(&t);
  }
  if (sent.empty()) return;

  auto creds = credentials();
  if (!creds) {
    log_->warning("cannot hand KMS ciphertexts to the enclave: AWS credentials (" + source_->describe() +
                  "): " + creds.error().message);
    for (auto* t : sent) t->next_attempt = now + t->backoff.next();
    return;
  }
  request.access_key_id = creds->access_key_id;
  request.secret_access_key = creds->secret_access_key;
  request.session_token = creds->session_token;
  if (creds->expiration) {
    request.expiration_unix =
        std::chrono::duration_cast<std::chrono::seconds>(creds->expiration->time_since_epoch()).count();
  }
  log_->info("handing " + std::to_string(sent.size()) + " KMS ciphertext(s) and AWS credentials (" +
             source_->describe() + ") to the enclave");
  auto reply = link_.kms_provision(request);
  if (!reply) {
    log_->warning("kms_provision to the enclave failed: " + reply.error().message);
    for (auto* t : sent) t->next_attempt = now + t->backoff.next();
    return;
  }
  bool expired = false;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto& o = reply->outcomes[i];
    auto* t = sent[i];
    if (o.installed) {
      log_->info("enclave installed '" + o.name + "' from AWS KMS");
      t->backoff.reset();
      t->next_attempt = {};
    } else {
      log_->warning("enclave could not fetch '" + o.name + "' from AWS KMS: " + o.detail);
      expired = expired || mentions_expired_credentials(o.detail);
      t->next_attempt = now + t->backoff.next();
    }
  }
  if (expired) {
    log_->info("the enclave reports expired AWS credentials: fetching fresh ones for the next attempt");
    cached_.reset();
  }
}

}  // namespace notify::parent
