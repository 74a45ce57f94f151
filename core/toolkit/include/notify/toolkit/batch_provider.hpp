#pragma once
// A provider written as one loop over a batch: deliver(), deliver_by() and deliver_streaming() all run it, with the
// caller's deadline (none for deliver()) and its sink (none unless it streams). The plugins that call a service with
// retries (Braze, FCM, APNs, the webhook) derive from it and implement run() only.

#include <notify/provider.hpp>

#include <chrono>
#include <span>
#include <vector>

namespace notify::toolkit {

class BatchProvider : public Provider {
 public:
  std::vector<DeliveryResult> deliver(std::span<const Notification> batch) noexcept final {
    return run(batch, std::chrono::steady_clock::time_point::max(), nullptr);
  }
  std::vector<DeliveryResult> deliver_by(std::span<const Notification> batch,
                                         std::chrono::steady_clock::time_point deadline) noexcept final {
    return run(batch, deadline, nullptr);
  }
  std::vector<DeliveryResult> deliver_streaming(std::span<const Notification> batch,
                                                std::chrono::steady_clock::time_point deadline,
                                                ResultSink& sink) noexcept final {
    return run(batch, deadline, &sink);
  }

 protected:
  /// One result per notification, in order; each reported to `sink` (when not null) as soon as it is final.
  virtual std::vector<DeliveryResult> run(std::span<const Notification> batch,
                                          std::chrono::steady_clock::time_point deadline,
                                          ResultSink* sink) noexcept = 0;
};

}  // namespace notify::toolkit
