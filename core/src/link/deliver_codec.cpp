// The deliver messages (protocol 2): CBOR, written and read against one schema per record, without a DOM.
//
//   deliver_request = [budget_ms (0: none), [notification, ...], ...later fields]
//   notification    = [the fields of kNotificationSchema, in order, ...later fields]
//   deliver_reply   = [result, ...]
//   deliver_part    = [[index, result], ...]                                                          (2.4)
//   result          = [outcome (0 delivered, 1 rejected, 2 retryable), reference, reason, retry_after_ms,
//                      tokens (2.2), ...]
//   token           = [token, outcome (0 delivered, 1 rejected, 2 retryable, 3 invalid_token), reference, reason, ...]
//
// A newer minor version may append fields to a record; this version skips them, and a record from an older minor
// (2.0/2.1: nine notification fields, four result fields) is read with the later fields at their defaults. Bounds are
// checked while reading, before anything is allocated for what a count claims.
#include "link/cbor_stream.hpp"
#include "link/messages.hpp"

namespace notify::link {

namespace {

constexpr std::size_t kMaxNotifications = 1000;  // per deliver (the parent sends batch_size, at most 100)
constexpr std::size_t kMaxRecipients = 1000;     // external_user_ids of one notification
constexpr std::size_t kMaxCustomKeys = 100;      // the ingress's own bound
constexpr std::size_t kMaxTextBytes = 1u << 20;  // any one string (a frame is 4 MiB by default)
constexpr std::size_t kMaxItems = 40'000;        // decoded items per message: the parent's largest batch needs 31,503
constexpr std::uint64_t kMaxRetryAfterMs = 7ULL * 24 * 3600 * 1000;
constexpr std::uint64_t kMaxTtlSeconds = 365ULL * 24 * 3600;  // the ingress allows 28 days (FCM's and APNs' limit)
constexpr std::size_t kMaxTokenResults = kMaxRecipients;      // per result

enum class FieldType { text, text_list, text_map, ttl, priority };

// One field of a notification on the link: the encoder and the decoder both walk this table, so they cannot drift.
struct NotificationField {
  const char* name;
  FieldType type;
  std::size_t max;  // text: bytes; list and map: entries
  std::string Notification::*text = nullptr;
  std::vector<std::string> Notification::*list = nullptr;
  std::map<std::string, std::string> Notification::*map = nullptr;
};

const NotificationField kNotificationSchema[] = {
    {"request_id", FieldType::text, kMaxRequestIdBytes, &Notification::request_id},
    {"external_user_ids", FieldType::text_list, kMaxRecipients, nullptr, &Notification::external_user_ids},
    {"title", FieldType::text, kMaxTextBytes, &Notification::title},
    {"message", FieldType::text, kMaxTextBytes, &Notification::message},
    {"custom_data", FieldType::text_map, kMaxCustomKeys, nullptr, nullptr, &Notification::custom_data},
    {"trigger_properties_json", FieldType::text, kMaxTextBytes, &Notification::trigger_properties_json},
    {"provider", FieldType::text, kMaxTextBytes, &Notification::provider},
    {"campaign_id", FieldType::text, kMaxTextBytes, &Notification::campaign_id},
    {"canvas_id", FieldType::text, kMaxTextBytes, &Notification::canvas_id},
    // 2.2
    {"device_tokens", FieldType::text_list, kMaxRecipients, nullptr, &Notification::device_tokens},
    {"topic", FieldType::text, kMaxTextBytes, &Notification::topic},
    {"ttl_s", FieldType::ttl, kMaxTtlSeconds},
    {"priority", FieldType::priority, static_cast<std::size_t>(Priority::high)},
    {"collapse_key", FieldType::text, kMaxTextBytes, &Notification::collapse_key},
    {"condition", FieldType::text, kMaxTextBytes, &Notification::condition},
};
constexpr std::size_t kNotificationFields = std::size(kNotificationSchema);
constexpr std::size_t kNotificationFields21 = 9;  // what a 2.0/2.1 parent sends
constexpr std::size_t kResultFields21 = 4;
constexpr std::size_t kResultFields = 5;
constexpr std::size_t kTokenFields = 4;

void write_notification(cbor::Writer& w, const Notification& n) {
  w.array(kNotificationFields);
  for (const auto& f : kNotificationSchema) {
    switch (f.type) {
      case FieldType::text:
        w.text(n.*f.text);
        break;
      case FieldType::text_list:
        w.array((n.*f.list).size());
        for (const auto& s : n.*f.list) w.text(s);
        break;
      case FieldType::text_map:
        w.map((n.*f.map).size());
        for (const auto& [k, v] : n.*f.map) {
          w.text(k);
          w.text(v);
        }
        break;
      case FieldType::ttl:
        w.uint(static_cast<std::uint64_t>(std::max<std::int64_t>(0, n.ttl.count())));
        break;
      case FieldType::priority:
        w.uint(static_cast<std::uint64_t>(n.priority));
        break;
    }
  }
}

Notification read_notification(cbor::Reader& r, const std::string& path) {
  Notification n;
  const auto fields = r.expect_array(path, kNotificationFields21, 64);
  const std::size_t known = std::min(fields, kNotificationFields);
  for (std::size_t i = 0; i < known; ++i) {
    const auto& f = kNotificationSchema[i];
    const std::string where = path + "." + f.name;
    switch (f.type) {
      case FieldType::text:
        n.*f.text = std::string(r.expect_text(where, f.max));
        break;
      case FieldType::text_list: {
        const auto count = r.expect_array(where, 0, f.max);
        auto& list = n.*f.list;
        list.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
          list.emplace_back(r.expect_text(where + "[" + std::to_string(i) + "]", kMaxTextBytes));
        }
        break;
      }
      case FieldType::text_map: {
        const auto count = r.expect_map(where, f.max);
        auto& map = n.*f.map;
        for (std::size_t i = 0; i < count; ++i) {
          std::string key(r.expect_text(where + " key", kMaxTextBytes));
          map[key] = std::string(r.expect_text(where + "." + key, kMaxTextBytes));
        }
        break;
      }
      case FieldType::ttl:
        n.ttl = std::chrono::seconds(r.expect_uint(where, f.max));
        break;
      case FieldType::priority:
        n.priority = static_cast<Priority>(r.expect_uint(where, f.max));
        break;
    }
  }
  for (std::size_t i = known; i < fields; ++i) r.skip();
  return n;
}

void write_result(cbor::Writer& w, const DeliveryResult& r) {
  w.array(kResultFields);
  w.uint(static_cast<std::uint64_t>(r.outcome));
  w.text(r.reference);
  w.text(r.reason);
  w.uint(static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.retry_after.count())));
  w.array(r.tokens.size());
  for (const auto& t : r.tokens) {
    w.array(kTokenFields);
    w.text(t.token);
    w.uint(static_cast<std::uint64_t>(t.outcome));
    w.text(t.reference);
    w.text(t.reason);
  }
}

DeliveryResult read_result(cbor::Reader& r, const std::string& path) {
  const auto fields = r.expect_array(path, kResultFields21, 64);
  DeliveryResult d;
  d.outcome = static_cast<Outcome>(r.expect_uint(path + ".outcome", static_cast<std::uint64_t>(Outcome::retryable)));
  d.reference = std::string(r.expect_text(path + ".reference", kMaxTextBytes));
  d.reason = std::string(r.expect_text(path + ".reason", kMaxTextBytes));
  d.retry_after = std::chrono::milliseconds(r.expect_uint(path + ".retry_after_ms", kMaxRetryAfterMs));
  if (fields >= kResultFields) {
    const auto tokens = r.expect_array(path + ".tokens", 0, kMaxTokenResults);
    d.tokens.reserve(tokens);
    for (std::size_t t = 0; t < tokens; ++t) {
      const std::string at = path + ".tokens[" + std::to_string(t) + "]";
      const auto token_fields = r.expect_array(at, kTokenFields, 64);
      TokenResult tr;
      tr.token = std::string(r.expect_text(at + ".token", kMaxTextBytes));
      tr.outcome = static_cast<TokenOutcome>(
          r.expect_uint(at + ".outcome", static_cast<std::uint64_t>(TokenOutcome::invalid_token)));
      tr.reference = std::string(r.expect_text(at + ".reference", kMaxTextBytes));
      tr.reason = std::string(r.expect_text(at + ".reason", kMaxTextBytes));
      for (std::size_t f = kTokenFields; f < token_fields; ++f) r.skip();
      d.tokens.push_back(std::move(tr));
    }
  }
  for (std::size_t f = kResultFields; f < fields; ++f) r.skip();
  return d;
}

void expect_end(const cbor::Reader& r) {
  if (!r.at_end()) throw cbor::DecodeError{"bytes after the message (at byte " + std::to_string(r.offset()) + ")"};
}

template <typename T, typename F>
Result<T> decoding(std::string_view what, F&& f) {
  try {
    return f();
  } catch (const cbor::DecodeError& e) {
    return Error{Errc::protocol_error, std::string(what) + ": " + e.message};
  } catch (const std::exception& e) {  // bad_alloc
    return Error{Errc::protocol_error, std::string(what) + ": " + e.what()};
  }
}

}  // namespace

std::string encode_deliver_request(std::span<const Notification> batch, std::chrono::milliseconds budget) {
  std::string out;
  out.reserve(64 + batch.size() * 256);
  cbor::Writer w(out);
  w.array(2);
  w.uint(static_cast<std::uint64_t>(std::max<std::int64_t>(0, budget.count())));
  w.array(batch.size());
  for (const auto& n : batch) write_notification(w, n);
  return out;
}

Result<DeliverRequest> decode_deliver_request(std::string_view payload) {
  return decoding<DeliverRequest>("deliver", [&] {
    cbor::Reader r(payload, kMaxItems);
    DeliverRequest out;
    const auto fields = r.expect_array("deliver", 2, 64);
    const auto budget_ms = r.expect_uint("budget_ms", static_cast<std::uint64_t>(kMaxDeliverBudget.count()));
    out.budget = std::chrono::milliseconds(budget_ms);
    const auto count = r.expect_array("notifications", 0, kMaxNotifications);
    out.notifications.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      out.notifications.push_back(read_notification(r, "notifications[" + std::to_string(i) + "]"));
    }
    for (std::size_t i = 2; i < fields; ++i) r.skip();
    expect_end(r);
    return out;
  });
}

std::string encode_deliver_reply(std::span<const DeliveryResult> results) {
  std::string out;
  out.reserve(16 + results.size() * 48);
  cbor::Writer w(out);
  w.array(results.size());
  for (const auto& r : results) write_result(w, r);
  return out;
}

Result<std::vector<DeliveryResult>> decode_deliver_reply(std::string_view payload) {
  return decoding<std::vector<DeliveryResult>>("deliver_reply", [&] {
    cbor::Reader r(payload, kMaxItems);
    const auto count = r.expect_array("results", 0, kMaxNotifications);
    std::vector<DeliveryResult> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) out.push_back(read_result(r, "results[" + std::to_string(i) + "]"));
    expect_end(r);
    return out;
  });
}

std::string encode_deliver_part(std::span<const PartResult> part) {
  std::string out;
  out.reserve(16 + part.size() * 56);
  cbor::Writer w(out);
  w.array(part.size());
  for (const auto& p : part) {
    w.array(2);
    w.uint(p.index);
    write_result(w, p.result);
  }
  return out;
}

Result<std::vector<PartResult>> decode_deliver_part(std::string_view payload) {
  return decoding<std::vector<PartResult>>("deliver_part", [&] {
    cbor::Reader r(payload, kMaxItems);
    const auto count = r.expect_array("results", 1, kMaxNotifications);
    std::vector<PartResult> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::string path = "results[" + std::to_string(i) + "]";
      const auto fields = r.expect_array(path, 2, 64);
      PartResult p;
      p.index = static_cast<std::size_t>(r.expect_uint(path + ".index", kMaxNotifications - 1));
      p.result = read_result(r, path + ".result");
      for (std::size_t f = 2; f < fields; ++f) r.skip();
      out.push_back(std::move(p));
    }
    expect_end(r);
    return out;
  });
}

}  // namespace notify::link
