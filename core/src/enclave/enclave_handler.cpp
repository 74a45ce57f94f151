#include "enclave/enclave_handler.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace notify::services {
namespace {
// Sealed envelopes cap their plaintext at 64 KiB; a plaintext (dev) secret gets the same bound (plus envelope room).
constexpr std::size_t kMaxProvisionedSecretBytes = 72 * 1024;
}  // namespace

EnclaveHandler::EnclaveHandler(plugin::PluginSet& plugins, secrets::MemorySecretStore& secrets,
                               EnclaveHandlerOptions options, std::unique_ptr<AttestationBackend> attestation,
                               std::unique_ptr<DeliveryMemory> memory, Log& log, metrics::HostMetrics& metrics)
    : plugins_(plugins),
      secrets_(secrets),
      options_(std::move(options)),
      attestation_(std::move(attestation)),
      memory_(std::move(memory)),
      log_(log),
      metrics_(metrics) {
  for (const auto& p : plugins_.providers()) metrics_.provider_instance(p.name);
}

link::HealthInfo EnclaveHandler::health() {
  link::HealthInfo info;
  info.node = options_.node;
  info.initialized = !plugins_.providers().empty();
  for (const auto& p : plugins_.providers()) {
    auto h = p.provider->health();
    info.initialized = info.initialized && h.ready;
    info.providers.push_back({p.name, h.ready, h.detail});
  }
  // Every secret the enclave's config names — KMS sources first (with their fetch state), then each provider's
  // secret fields — as installed (and from where) or missing. Never a value.
  if (kms_) info.secrets = kms_->status();
  const auto installed = secrets_.list();
  for (const auto& p : plugins_.providers()) {
    for (const auto& name : p.secret_names) {
      const bool listed =
          std::any_of(info.secrets.begin(), info.secrets.end(), [&](const auto& s) { return s.name == name; });
      if (listed) continue;
      link::SecretStatus st;
      st.name = name;
      const auto it = std::find_if(installed.begin(), installed.end(), [&](const auto& i) { return i.name == name; });
      st.state = it != installed.end() ? link::SecretState::installed : link::SecretState::missing;
      if (it != installed.end()) st.origin = secret_origin_name(it->origin);
      info.secrets.push_back(std::move(st));
    }
  }
  return info;
}

Result<link::KmsProvisionReply> EnclaveHandler::kms_provision(const link::KmsProvisionRequest& request) {
  if (!kms_)
    return Error{Errc::unsupported, options_.node + " fetches no secrets from KMS (no secrets.kms in its config)"};
  return kms_->provision(request);
}

namespace {

// Claims taken in one deliver call: any still open when the call ends (a provider that threw, a deadline that
// passed before the call) are settled as retryable, so no request_id stays claimed and no waiter waits for ever.
// Settled from provider threads too (a streaming provider's reports), hence the mutex.
class ClaimSet {
 public:
  explicit ClaimSet(DeliveryMemory* memory) : memory_(memory) {}
  ~ClaimSet() {
    for (const auto& id : open_) {
      memory_->settle(id, DeliveryResult::retryable("the enclave did not finish this delivery; not sent"));
    }
  }
  ClaimSet(const ClaimSet&) = delete;
  ClaimSet& operator=(const ClaimSet&) = delete;
  void opened(const std::string& id) {
    std::lock_guard lock(mu_);
    open_.push_back(id);
  }
  void settle(const std::string& id, const DeliveryResult& result) {
    memory_->settle(id, result);
    std::lock_guard lock(mu_);
    std::erase(open_, id);
  }

 private:
  DeliveryMemory* memory_;
  std::mutex mu_;  // open_
  std::vector<std::string> open_;
};

// One provider group's early results: each is settled (remembered, counted) once, where it is reported, and sent to
// the parent as a deliver_part with its index in the whole batch. For an index already reported, what the provider
// returns at the end is ignored: the reported result stands.
class GroupSink final : public ResultSink {
 public:
  using Settle = std::function<void(std::size_t k, const DeliveryResult& r)>;
  GroupSink(const std::vector<std::size_t>& batch_index, Settle settle, const link::RequestHandler::PartSink& parts)
      : batch_index_(batch_index), reported_(batch_index.size()), settle_(std::move(settle)), parts_(parts) {}

  void report(std::span<const std::size_t> indexes, std::span<const DeliveryResult> results) noexcept override {
    try {
      std::vector<link::PartResult> part;
      {
        std::lock_guard lock(mu_);
        for (std::size_t j = 0; j < std::min(indexes.size(), results.size()); ++j) {
          const auto k = indexes[j];
          if (k >= reported_.size() || reported_[k]) continue;  // a plugin's slip: out of range or twice
          reported_[k] = results[j];
          settle_(k, results[j]);
          part.push_back({batch_index_[k], results[j]});
        }
      }
      if (parts_ && !part.empty()) parts_(part);
    } catch (const std::exception&) {
      // Out of memory: the result still goes back with the deliver's reply.
    }
  }
  /// What was reported for group index `k`: it stands, whatever the provider returns for it at the end (the parent
  /// has stored it, and the delivery memory holds it).
  [[nodiscard]] std::optional<DeliveryResult> reported(std::size_t k) {
    std::lock_guard lock(mu_);
    return reported_[k];
  }

 private:
  const std::vector<std::size_t>& batch_index_;
  std::mutex mu_;
  std::vector<std::optional<DeliveryResult>> reported_;
  Settle settle_;
  const link::RequestHandler::PartSink& parts_;
};

}  // namespace

std::vector<DeliveryResult> EnclaveHandler::deliver(std::vector<Notification> batch,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    const PartSink& parts) {
  using Clock = std::chrono::steady_clock;
  using State = delivery::DedupCache::ClaimState;
  std::vector<DeliveryResult> results(batch.size());
  // Group by provider instance, keeping each notification's index so results land in the caller's order.
  std::map<const plugin::ProviderInstance*, std::vector<std::size_t>> groups;
  // A request_id twice in one batch is delivered once: the later ones copy the first one's result.
  std::map<std::string, std::size_t> first_of;
  std::vector<std::pair<std::size_t, std::size_t>> copies;  // (index, index of the first with its request_id)
  // Request_ids another delivery is at the provider with. They are waited for only after this call's own claims are
  // settled: waiting while holding claims could wait in a circle with a delivery that waits for one of ours.
  std::vector<std::size_t> elsewhere;
  ClaimSet claims(memory_.get());
  std::size_t remembered = 0, joined = 0, busy = 0, late = 0;
  std::vector<std::size_t> known_now;  // answered without a provider call (remembered, no such provider, too late)
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto answer = [&](DeliveryResult r) {
      results[i] = std::move(r);
      known_now.push_back(i);
    };
    if (auto [it, fresh] = first_of.emplace(batch[i].request_id, i); !fresh) {
      copies.emplace_back(i, it->second);
      continue;
    }
    if (Clock::now() >= deadline) {
      ++late;
      answer(DeliveryResult::retryable("its deadline had passed before the enclave reached it; not sent"));
      continue;
    }
    if (memory_) {
      auto claim = memory_->claim(batch[i].request_id, Clock::now());  // find-or-claim, only trying: no wait yet
      if (claim.state == State::known) {
        ++remembered;
        answer(std::move(*claim.result));
        continue;
      }
      if (claim.state != State::claimed) {
        elsewhere.push_back(i);
        continue;
      }
      claims.opened(batch[i].request_id);
    }
    const auto* p = plugins_.find_provider(batch[i].provider);
    if (p == nullptr) {
      auto r = DeliveryResult::rejected(batch[i].provider.empty()
                                            ? "no default provider configured on " + options_.node
                                            : "no provider named '" + batch[i].provider + "' on " + options_.node);
      if (memory_) claims.settle(batch[i].request_id, r);
      answer(std::move(r));
      continue;
    }
    groups[p].push_back(i);
  }
  // What is known already (remembered, no such provider, too late) goes to the parent before any provider call.
  if (parts && !known_now.empty()) {
    std::vector<link::PartResult> known;
    known.reserve(known_now.size());
    for (const auto i : known_now) known.push_back({i, results[i]});
    parts(known);
  }
  for (auto& [instance, indexes] : groups) {
    std::vector<Notification> part;
    part.reserve(indexes.size());
    for (auto i : indexes) part.push_back(std::move(batch[i]));  // `elsewhere` keeps its own indexes
    auto settle = [&, name = instance->name](std::size_t k, const DeliveryResult& r) {
      if (memory_) claims.settle(part[k].request_id, r);
      metrics_.notification_result(name, r.outcome);
    };
    GroupSink sink(indexes, settle, parts);
    // An earlier group may have used up the time: a call the sender no longer waits for is not started.
    const bool call = Clock::now() < deadline;
    std::vector<DeliveryResult> got;
    if (call) {
      got = instance->provider->deliver_streaming(part, deadline, sink);
    } else {
      late += indexes.size();
    }
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      if (auto early = sink.reported(k)) {  // settled and sent when it was reported
        results[indexes[k]] = std::move(*early);
        continue;
      }
      DeliveryResult r;
      if (!call) {
        r = DeliveryResult::retryable("its deadline had passed before the provider was called; not sent");
      } else if (k < got.size()) {
        r = std::move(got[k]);
      } else {
        r = DeliveryResult::retryable("provider '" + instance->name + "' returned " + std::to_string(got.size()) +
                                      " results for " + std::to_string(indexes.size()) + " notifications");
      }
      settle(k, r);
      results[indexes[k]] = std::move(r);
    }
  }
  // Now holding no claim: wait (until the deadline) for the deliveries that have the others at the provider.
  for (const auto i : elsewhere) {
    const auto& id = batch[i].request_id;
    auto claim = memory_->claim(id, deadline);
    if (claim.state == State::known || claim.state == State::joined) {
      ++(claim.state == State::known ? remembered : joined);
      results[i] = std::move(*claim.result);
    } else if (claim.state == State::busy) {
      ++busy;
      results[i] = DeliveryResult::retryable(
          "the same request_id is still at the provider in another delivery; "
          "not sent twice");
    } else {
      // The other delivery ended retryable before this one began to wait (so nothing was remembered): not sent from
      // here either; the sender's retry finds it free.
      auto r = DeliveryResult::retryable(
          "the same request_id was at the provider in another delivery that did "
          "not complete it; not sent twice");
      memory_->settle(id, r);
      results[i] = std::move(r);
    }
  }
  if (remembered > 0) metrics_.dedup_hit("remembered", remembered);
  if (joined > 0) metrics_.dedup_hit("in_flight", joined);
  if (remembered > 0) {
    log_.info("answered " + std::to_string(remembered) + " already-delivered request_id(s) from memory (no resend)");
  }
  if (joined > 0 || busy > 0) {
    log_.info(std::to_string(joined) + " request_id(s) arrived again while at the provider and took that call's " +
              "result, " + std::to_string(busy) + " were still there at the deadline (no second call)");
  }
  if (late > 0) log_.warning(std::to_string(late) + " notification(s) not sent: their deadline had passed");
  for (const auto& [i, first] : copies) results[i] = results[first];
  return results;
}

Status EnclaveHandler::provision(const link::ProvisionRequest& request) {
  if (request.secret_name.empty()) return Error{Errc::invalid_argument, "provision: empty secret name"};
  // Only names the enclave's own config declares can be installed over the link — so a parent can neither fill the
  // store with names of its choosing nor replace what the enclave fetches from KMS itself.
  if (kms_ && kms_->is_source(request.secret_name)) {
    log_.warning("refused provisioning of '" + request.secret_name + "': the enclave fetches it from KMS itself");
    return Error{Errc::refused, "'" + request.secret_name + "' is fetched from KMS by " + options_.node +
                                    " (secrets.sources); it cannot be provisioned over the link"};
  }
  std::string declared;
  bool is_declared = false;
  for (const auto& p : plugins_.providers()) {
    for (const auto& name : p.secret_names) {
      is_declared = is_declared || name == request.secret_name;
      if (!kms_ || !kms_->is_source(name)) declared += (declared.empty() ? "" : ", ") + name;
    }
  }
  if (!is_declared) {
    log_.warning("refused provisioning of an undeclared secret name (" + std::to_string(request.secret_name.size()) +
                 " bytes)");
    return Error{Errc::refused, "'" + request.secret_name.substr(0, 64) + "' is not a secret " + options_.node +
                                    "'s providers declare (" + (declared.empty() ? "none" : declared) + ")"};
  }
  if (request.payload.size() > kMaxProvisionedSecretBytes) {
    return Error{Errc::resource_exhausted, "provision: a secret of " + std::to_string(request.payload.size()) +
                                               " bytes is over the " + std::to_string(kMaxProvisionedSecretBytes) +
                                               "-byte limit"};
  }
  if (request.mode == link::ProvisionMode::plaintext_insecure) {
    if (!options_.allow_plaintext_secrets) {
      log_.warning("refused plaintext provisioning of secret '" + request.secret_name +
                   "': secrets.allow_plaintext is false (use sealed provisioning)");
      return Error{Errc::refused, "plaintext provisioning is disabled on " + options_.node +
                                      " (secrets.allow_plaintext: false); use notify-ctl provision (sealed)"};
    }
    std::string_view bytes(reinterpret_cast<const char*>(request.payload.data()), request.payload.size());
    auto st = secrets_.put(request.secret_name, Secret(bytes), SecretOrigin::insecure_link);
    if (st) {
      log_.warning(
          "INSECURE: secret '" + request.secret_name + "' (" + std::to_string(bytes.size()) +
          " bytes) was received in plaintext from the parent; dev only, use sealed provisioning in production");
    }
    return st;
  }
  if (!attestation_) {
    return Error{Errc::unsupported,
                 "sealed provisioning needs serve.attestation: nsm or development on " + options_.node};
  }
  auto opened = attestation_->open_sealed(request.secret_name, request.payload);
  if (!opened) {
    log_.warning("sealed secret '" + request.secret_name + "' rejected: " + opened.error().message);
    return opened.error();
  }
  const auto size = opened->size();
  auto st = secrets_.put(request.secret_name, std::move(opened.value()), SecretOrigin::sealed);
  if (st)
    log_.info("secret '" + request.secret_name + "' installed from a sealed blob (" + std::to_string(size) + " bytes)");
  return st;
}

Result<link::AttestReply> EnclaveHandler::attest(const link::AttestRequest& request) {
  if (!attestation_)
    return Error{Errc::unsupported, "attestation is disabled on " + options_.node + " (serve.attestation: none)"};
  auto made = attestation_->attest(request);
  metrics_.attestation("link", made.ok());
  return made;
}

Result<std::vector<prometheus::MetricFamily>> EnclaveHandler::metrics() {
  auto families = metrics_.collect();
  prometheus::MetricFamily secrets;
  secrets.name = "notify_enclave_secret_state";
  secrets.help = "each secret the enclave's config names: 1 for its state (installed, missing, failing), 0 otherwise";
  secrets.type = prometheus::MetricType::Gauge;
  constexpr link::SecretState kStates[] = {link::SecretState::installed, link::SecretState::missing,
                                           link::SecretState::failing};
  for (const auto& s : health().secrets) {
    for (const auto state : kStates) {
      prometheus::ClientMetric m;
      m.label = {{"name", s.name}, {"state", link::secret_state_name(state)}};
      m.gauge.value = s.state == state ? 1 : 0;
      secrets.metric.push_back(std::move(m));
    }
  }
  if (!secrets.metric.empty()) families.push_back(std::move(secrets));
  return families;
}

Result<link::LogsReply> EnclaveHandler::logs(std::size_t max) {
  if (!log_ring_) return Error{Errc::unsupported, "node '" + options_.node + "' keeps no log buffer"};
  return log_ring_->take(max);
}

}  // namespace notify::services
