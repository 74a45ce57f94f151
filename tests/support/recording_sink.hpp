#pragma once
// A ResultSink that keeps every report in order, with what `probe` said at that moment (e.g. how many requests a
// fake server had answered), so a test can tell when each result was reported, not only that it was.
#include <notify/provider.hpp>

#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace notify::testing {

class RecordingSink final : public ResultSink {
 public:
  struct Report {
    std::size_t index = 0;
    DeliveryResult result;
    std::size_t probe = 0;  ///< probe() when it was reported
  };
  explicit RecordingSink(std::function<std::size_t()> probe = [] { return std::size_t{0}; })
      : probe_(std::move(probe)) {}

  void report(std::span<const std::size_t> indexes, std::span<const DeliveryResult> results) noexcept override {
    std::lock_guard lock(mu_);
    const auto at = probe_();
    for (std::size_t k = 0; k < indexes.size() && k < results.size(); ++k) {
      reports_.push_back({indexes[k], results[k], at});
    }
  }
  [[nodiscard]] std::vector<Report> reports() const {
    std::lock_guard lock(mu_);
    return reports_;
  }

 private:
  std::function<std::size_t()> probe_;
  mutable std::mutex mu_;
  std::vector<Report> reports_;
};

}  // namespace notify::testing
