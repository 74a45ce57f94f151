#pragma once
// One signed POST of a callback event over Poco's HTTP(S) client: TLS with chain and host-name verification (the
// toolkit's strict client context), a timeout on connect and on each read and write.

#include "parent/callbacks/callback_url.hpp"

#include <notify/result.hpp>

#include <Poco/Net/Context.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace notify::callbacks {

class CallbackClient {
 public:
  /// `tls` is the client context for https URLs; `key` the Standard Webhooks key the events are signed with.
  CallbackClient(Poco::Net::Context::Ptr tls, std::vector<std::byte> key, std::chrono::milliseconds timeout);
  CallbackClient(CallbackClient&&) noexcept = default;
  CallbackClient& operator=(CallbackClient&&) noexcept = default;
  CallbackClient(const CallbackClient&) = delete;
  CallbackClient& operator=(const CallbackClient&) = delete;
  ~CallbackClient();  // wipes the key

  /// POSTs `body` to `url` signed as event `id` at the current time. The receiver's HTTP status, or an error when
  /// no answer came (refused, timed out, TLS failure).
  Result<int> post(const CallbackUrl& url, std::string_view id, std::string_view body) const;

 private:
  Poco::Net::Context::Ptr tls_;
  std::vector<std::byte> key_;
  std::chrono::milliseconds timeout_;
};

}  // namespace notify::callbacks
