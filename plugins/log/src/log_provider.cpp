#include "log_provider.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace notify::logprovider {

Result<std::unique_ptr<LogProvider>> LogProvider::open(LogProviderOptions options, Log& log) {
  std::unique_ptr<std::FILE, FileCloser> out;
  if (options.output == "stdout" || options.output.empty()) {
    out.reset(stdout);
  } else {
    out.reset(std::fopen(options.output.c_str(), "a"));
    if (!out) {
      return Error{Errc::invalid_argument,
                   "log provider: cannot open output " + options.output + ": " + std::strerror(errno)};
    }
  }
  return std::unique_ptr<LogProvider>(new LogProvider(std::move(options), std::move(out), log));
}

LogProvider::LogProvider(LogProviderOptions options, std::unique_ptr<std::FILE, FileCloser> out, Log& log)
    : options_(std::move(options)), out_(std::move(out)), log_(log) {}

std::string LogProvider::to_json_line(const Notification& n, std::string_view instance) {
  Poco::JSON::Object obj(Poco::JSON_PRESERVE_KEY_ORDER);
  obj.set("provider", std::string(instance));
  obj.set("request_id", n.request_id);
  Poco::JSON::Array users;
  for (const auto& u : n.external_user_ids) users.add(u);
  obj.set("external_user_ids", users);
  obj.set("title", n.title);
  obj.set("message", n.message);
  Poco::JSON::Object custom(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [k, v] : n.custom_data) custom.set(k, v);
  obj.set("custom_data", custom);
  if (!n.trigger_properties_json.empty()) {
    try {
      obj.set("trigger_properties", Poco::JSON::Parser().parse(n.trigger_properties_json));
    } catch (const std::exception&) {
      obj.set("trigger_properties_raw", n.trigger_properties_json);
    }
  }
  if (!n.campaign_id.empty()) obj.set("campaign_id", n.campaign_id);
  if (!n.canvas_id.empty()) obj.set("canvas_id", n.canvas_id);
  if (!n.device_tokens.empty()) {
    Poco::JSON::Array tokens;
    for (const auto& t : n.device_tokens) tokens.add(t);
    obj.set("device_tokens", tokens);
  }
  if (!n.topic.empty()) obj.set("topic", n.topic);
  std::ostringstream os;
  obj.stringify(os);
  return os.str();
}

std::vector<DeliveryResult> LogProvider::deliver(std::span<const Notification> batch) noexcept {
  std::vector<DeliveryResult> results;
  results.reserve(batch.size());
  for (const auto& n : batch) {
    try {
      bool reject = false;
      bool retry = false;
      for (const auto& u : n.external_user_ids) {
        reject = reject || options_.reject_user_ids.count(u) != 0;
        retry = retry || options_.retry_user_ids.count(u) != 0;
      }
      if (n.external_user_ids.empty() && n.device_tokens.empty() && n.topic.empty()) {
        results.push_back(DeliveryResult::rejected("no recipients"));
        continue;
      }
      if (reject) {
        results.push_back(DeliveryResult::rejected("recipient is in reject_user_ids (simulated permanent failure)"));
        continue;
      }
      if (retry) {
        results.push_back(DeliveryResult::retryable("recipient is in retry_user_ids (simulated transient failure)"));
        continue;
      }
      std::string line = to_json_line(n, options_.instance);
      line += '\n';
      std::lock_guard lock(mu_);
      if (std::fwrite(line.data(), 1, line.size(), out_.get()) != line.size() || std::fflush(out_.get()) != 0) {
        results.push_back(
            DeliveryResult::retryable(std::string("log provider: write failed: ") + std::strerror(errno)));
        continue;
      }
      ++written_;
      const std::string reference = "log-" + std::to_string(written_);
      if (n.device_tokens.empty()) {
        results.push_back(DeliveryResult::delivered(reference));
      } else {
        std::vector<TokenResult> tokens;
        for (const auto& t : n.device_tokens) {
          if (options_.invalid_tokens.count(t) != 0) {
            tokens.push_back({t, TokenOutcome::invalid_token, {}, "token is in invalid_tokens (simulated)"});
          } else {
            tokens.push_back({t, TokenOutcome::delivered, reference, {}});
          }
        }
        results.push_back(DeliveryResult::from_tokens(std::move(tokens)));
      }
    } catch (const std::exception& e) {
      results.push_back(DeliveryResult::retryable(std::string("log provider: ") + e.what()));
    }
  }
  log_.debug("wrote " + std::to_string(batch.size()) + " notification(s) to " + options_.output);
  return results;
}

ProviderHealth LogProvider::health() const noexcept { return {true, "writing to " + options_.output}; }

}  // namespace notify::logprovider
