#pragma once
// `provision:` — the parent's half of the unattended KMS bootstrap. It holds only what cannot reveal a secret: each
// secret's KMS CiphertextBlob (a file, exactly what `aws kms encrypt` prints) and AWS credentials (from IMDSv2 or the
// environment). Whenever the enclave's health reports one of those secrets missing or failing — at first connect,
// after every enclave restart, after a failure (with backoff) — it hands the credentials and the blobs over the link,
// and the enclave asks KMS itself. Credentials are cached until shortly before they expire, and dropped when the
// enclave reports them expired.

#include "aws/credential_source.hpp"
#include "link/link_client.hpp"
#include "runtime/service.hpp"

#include <notify/log.hpp>
#include <notify/toolkit/backoff.hpp>
#include <notify/toolkit/stoppable_thread.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace notify::parent {

struct KmsProvisionerOptions {
  struct Entry {
    std::string name;                       ///< the enclave's secret name, e.g. "braze.api_key"
    std::filesystem::path ciphertext_file;  ///< base64 CiphertextBlob
    std::string location;                   ///< file:line of the entry, for errors
  };
  std::vector<Entry> secrets;
  std::chrono::milliseconds check_interval{10000};   ///< how often the enclave's secret state is checked
  std::chrono::milliseconds retry_initial{1000};     ///< first retry after a failed fetch
  std::chrono::milliseconds retry_max{300000};       ///< retry cap (KMS refusals are not hammered)
  std::chrono::milliseconds refresh_before{300000};  ///< refresh credentials this long before they expire
};

/// Reads a CiphertextBlob file: base64 (whitespace ignored), at most KMS's 6,144 bytes decoded.
Result<std::vector<std::byte>> read_ciphertext_file(const std::filesystem::path& file);

class KmsProvisioner final : public services::Service {
 public:
  KmsProvisioner(link::LinkClient& link, std::unique_ptr<aws::CredentialSource> credentials,
                 KmsProvisionerOptions options, std::shared_ptr<Log> log);
  ~KmsProvisioner() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "provision"; }
  /// Reads every ciphertext file (a bad one fails the start, naming the file), then starts watching.
  Status start() override;
  void stop() override;

 private:
  struct Tracked {
    KmsProvisionerOptions::Entry entry;
    std::vector<std::byte> blob;
    toolkit::Backoff backoff;
    std::chrono::steady_clock::time_point next_attempt{};
    bool warned_not_sourced = false;
  };

  void run();
  void check_once();
  Result<aws::Credentials> credentials();

  link::LinkClient& link_;
  std::unique_ptr<aws::CredentialSource> source_;
  KmsProvisionerOptions options_;
  std::shared_ptr<Log> log_;
  std::vector<Tracked> tracked_;
  std::optional<aws::Credentials> cached_;
  toolkit::StoppableThread thread_;  // last: stopped and joined before the members its loop uses go
};

}  // namespace notify::parent
