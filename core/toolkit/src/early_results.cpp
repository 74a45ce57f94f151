#include <notify/toolkit/early_results.hpp>

namespace notify::toolkit {

EarlyResults::EarlyResults(std::span<DeliveryResult> results, ResultSink* sink)
    : results_(results), sink_(sink), decided_(results.size(), false) {}

void EarlyResults::decide(std::size_t i, DeliveryResult result) {
  if (i >= decided_.size() || decided_[i]) return;
  decided_[i] = true;
  results_[i] = std::move(result);
  if (sink_ != nullptr) unreported_.push_back(i);
}

void EarlyResults::flush() noexcept {
  if (sink_ == nullptr || unreported_.empty()) return;
  try {
    std::vector<DeliveryResult> decided;
    decided.reserve(unreported_.size());
    for (auto i : unreported_) decided.push_back(results_[i]);
    sink_->report(unreported_, decided);
  } catch (const std::exception&) {
    // Out of memory: these results still go back with the deliver's return value.
  }
  unreported_.clear();
}

}  // namespace notify::toolkit
