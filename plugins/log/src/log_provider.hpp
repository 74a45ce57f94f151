#pragma once
// The smallest useful provider: writes each delivered notification as one JSON line to a file or stdout.
// The dev topology uses it, and it is the plugin guide's worked example.

#include <notify/log.hpp>
#include <notify/provider.hpp>
#include <notify/result.hpp>

#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace notify::logprovider {

struct LogProviderOptions {
  std::string output = "stdout";  // "stdout" or a file path (appended to)
  std::string instance = "log";
  /// Dev/test aids: recipients for which the provider answers rejected / retryable instead of writing.
  std::set<std::string> reject_user_ids;
  std::set<std::string> retry_user_ids;
  std::set<std::string> invalid_tokens;  // answered TokenOutcome::invalid_token
};

class LogProvider final : public Provider {
 public:
  /// Opens the output; fails with the path in the message.
  static Result<std::unique_ptr<LogProvider>> open(LogProviderOptions options, Log& log);

  std::vector<DeliveryResult> deliver(std::span<const Notification> batch) noexcept override;
  [[nodiscard]] ProviderHealth health() const noexcept override;

  /// The JSON line written for one notification (no trailing newline). Pure; unit-tested.
  static std::string to_json_line(const Notification& n, std::string_view instance);

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const noexcept {
      if (f != nullptr && f != stdout) std::fclose(f);
    }
  };
  LogProvider(LogProviderOptions options, std::unique_ptr<std::FILE, FileCloser> out, Log& log);

  LogProviderOptions options_;
  std::unique_ptr<std::FILE, FileCloser> out_;
  Log& log_;
  std::mutex mu_;
  std::uint64_t written_ = 0;
};

}  // namespace notify::logprovider
