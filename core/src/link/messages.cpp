#include "link/messages.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

namespace notify::link {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

// Decoding failures are thrown inside this file only, as DecodeError, and turned into one Result at each entry point.
struct DecodeError {
  std::string message;
};

std::string stringify(const Object& o) {
  std::ostringstream os;
  o.stringify(os);
  return os.str();
}

// Poco's parser builds a DOM of several hundred bytes per element whatever its text's size, so 4 MiB of "{}," would
// cost over a gigabyte. Before parsing, the elements are counted (every '{', '[' and ',' outside strings starts or
// separates one) and a payload with more is refused: the DOM of any accepted message stays under about 20 MB. A
// deliver of the dispatcher's largest batch (100 notifications, each with 50 recipients and 100 custom_data keys, the
// ingress's bounds) has about 17,000.
constexpr std::size_t kMaxJsonElements = 20'000;

std::size_t json_elements(std::string_view json) {
  std::size_t n = 0;
  bool in_string = false, escaped = false;
  for (const char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[' || c == ',') {
      ++n;
    }
  }
  return n;
}

Object::Ptr parse_object(std::string_view json, const char* what) {
  if (const auto n = json_elements(json); n > kMaxJsonElements) {
    throw DecodeError{std::string(what) + ": " + std::to_string(n) + " JSON elements, more than the " +
                      std::to_string(kMaxJsonElements) + " a message may have"};
  }
  try {
    Poco::JSON::Parser parser;
    auto v = parser.parse(std::string(json));
    if (v.type() != typeid(Object::Ptr)) throw DecodeError{std::string(what) + ": payload is not a JSON object"};
    return v.extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {
    throw DecodeError{std::string(what) + ": invalid JSON: " + e.message()};
  } catch (const std::exception& e) {
    throw DecodeError{std::string(what) + ": invalid JSON: " + e.what()};
  }
}

std::string field_name(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Poco::Dynamic::Var require(const Object& o, const std::string& path, const std::string& key) {
  if (!o.has(key)) throw DecodeError{field_name(path, key) + ": missing"};
  return o.get(key);
}

std::string get_string(const Object& o, const std::string& path, const std::string& key, bool optional = false) {
  if (!o.has(key)) {
    if (optional) return {};
    throw DecodeError{field_name(path, key) + ": missing"};
  }
  const auto v = o.get(key);
  if (!v.isString()) throw DecodeError{field_name(path, key) + ": expected a string"};
  return v.extract<std::string>();
}

bool get_bool(const Object& o, const std::string& path, const std::string& key) {
  const auto v = require(o, path, key);
  if (!v.isBoolean()) throw DecodeError{field_name(path, key) + ": expected true or false"};
  return v.extract<bool>();
}

std::int64_t get_int(const Object& o, const std::string& path, const std::string& key, std::int64_t lo,
                     std::int64_t hi) {
  const auto v = require(o, path, key);
  if (!v.isInteger()) throw DecodeError{field_name(path, key) + ": expected an integer"};
  std::int64_t n = 0;
  try {
    n = v.convert<std::int64_t>();
  } catch (const Poco::Exception&) {
    throw DecodeError{field_name(path, key) + ": integer out of range"};
  }
  if (n < lo || n > hi) throw DecodeError{field_name(path, key) + ": " + std::to_string(n) + " out of range"};
  return n;
}

Array::Ptr get_array(const Object& o, const std::string& path, const std::string& key, bool optional = false) {
  if (!o.has(key)) {
    if (optional) return new Array();
    throw DecodeError{field_name(path, key) + ": missing"};
  }
  const auto v = o.get(key);
  if (v.type() != typeid(Array::Ptr)) throw DecodeError{field_name(path, key) + ": expected an array"};
  return v.extract<Array::Ptr>();
}

Object::Ptr object_at(const Array& a, std::size_t i, const std::string& path) {
  const auto v = a.get(static_cast<unsigned>(i));
  if (v.type() != typeid(Object::Ptr)) throw DecodeError{path + "[" + std::to_string(i) + "]: expected an object"};
  return v.extract<Object::Ptr>();
}

std::vector<std::byte> unb64(const std::string& text, const std::string& field) {
  auto bytes = toolkit::base64_decode(text);
  if (!bytes) throw DecodeError{field + ": not base64"};
  return std::move(*bytes);
}

template <class T, class F>
Result<T> decoding(F&& f) {
  try {
    return f();
  } catch (const DecodeError& e) {
    return Error{Errc::protocol_error, e.message};
  } catch (const Poco::Exception& e) {
    return Error{Errc::protocol_error, e.displayText()};
  } catch (const std::exception& e) {
    return Error{Errc::protocol_error, e.what()};
  }
}

}  // namespace

Errc errc_from_name(std::string_view name) noexcept {
  for (int i = 0; i <= static_cast<int>(Errc::internal); ++i) {
    if (name == errc_name(static_cast<Errc>(i))) return static_cast<Errc>(i);
  }
  return Errc::internal;
}

std::string encode_hello(const Hello& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("node", m.node);
  o.set("major", m.major);
  o.set("minor", m.minor);
  return stringify(o);
}

Result<Hello> decode_hello(std::string_view json) {
  return decoding<Hello>([&] {
    auto o = parse_object(json, "hello");
    Hello h;
    h.node = get_string(*o, "", "node");
    h.major = static_cast<std::uint32_t>(get_int(*o, "", "major", 0, 255));
    h.minor = static_cast<std::uint32_t>(get_int(*o, "", "minor", 0, 255));
    return h;
  });
}

std::string encode_health(const HealthInfo& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("node", m.node);
  o.set("initialized", m.initialized);
  Array::Ptr providers = new Array();
  for (const auto& p : m.providers) {
    Object::Ptr po = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    po->set("name", p.name);
    po->set("ready", p.ready);
    po->set("detail", p.detail);
    providers->add(po);
  }
  o.set("providers", providers);
  Array::Ptr secrets = new Array();
  for (const auto& sec : m.secrets) {
    Object::Ptr so = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    so->set("name", sec.name);
    so->set("state", std::string(secret_state_name(sec.state)));
    so->set("origin", sec.origin);
    so->set("source", sec.source);
    so->set("detail", sec.detail);
    secrets->add(so);
  }
  o.set("secrets", secrets);
  o.set("protocol_major", m.protocol_major);
  o.set("protocol_minor", m.protocol_minor);
  return stringify(o);
}

Result<HealthInfo> decode_health(std::string_view json) {
  return decoding<HealthInfo>([&] {
    auto o = parse_object(json, "health");
    HealthInfo h;
    h.node = get_string(*o, "", "node");
    h.initialized = get_bool(*o, "", "initialized");
    auto providers = get_array(*o, "", "providers");
    for (std::size_t i = 0; i < providers->size(); ++i) {
      const std::string path = "providers[" + std::to_string(i) + "]";
      auto po = object_at(*providers, i, "providers");
      h.providers.push_back(
          {get_string(*po, path, "name"), get_bool(*po, path, "ready"), get_string(*po, path, "detail")});
    }
    // Optional: an enclave of protocol 1.0 without secret reporting answers without it.
    auto secrets = get_array(*o, "", "secrets", true);
    for (std::size_t i = 0; i < secrets->size(); ++i) {
      const std::string path = "secrets[" + std::to_string(i) + "]";
      auto so = object_at(*secrets, i, "secrets");
      SecretStatus sec;
      sec.name = get_string(*so, path, "name");
      const auto state = get_string(*so, path, "state");
      if (state == "installed")
        sec.state = SecretState::installed;
      else if (state == "missing")
        sec.state = SecretState::missing;
      else if (state == "failing")
        sec.state = SecretState::failing;
      else
        throw DecodeError{path + ".state: '" + state + "' is not installed, missing or failing"};
      sec.origin = get_string(*so, path, "origin", true);
      sec.source = get_string(*so, path, "source", true);
      sec.detail = get_string(*so, path, "detail", true);
      h.secrets.push_back(std::move(sec));
    }
    h.protocol_major = static_cast<std::uint32_t>(get_int(*o, "", "protocol_major", 0, 255));
    h.protocol_minor = static_cast<std::uint32_t>(get_int(*o, "", "protocol_minor", 0, 255));
    return h;
  });
}

// The deliver messages are CBOR: deliver_codec.cpp.

std::string encode_provision_request(const ProvisionRequest& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("secret_name", m.secret_name);
  o.set("mode", std::string(m.mode == ProvisionMode::sealed ? "sealed" : "plaintext_insecure"));
  o.set("payload", toolkit::base64_encode(m.payload));
  return stringify(o);
}

Result<ProvisionRequest> decode_provision_request(std::string_view json) {
  return decoding<ProvisionRequest>([&] {
    auto o = parse_object(json, "provision");
    ProvisionRequest r;
    r.secret_name = get_string(*o, "", "secret_name");
    const auto mode = get_string(*o, "", "mode");
    if (mode == "sealed")
      r.mode = ProvisionMode::sealed;
    else if (mode == "plaintext_insecure")
      r.mode = ProvisionMode::plaintext_insecure;
    else
      throw DecodeError{"mode: '" + mode + "' is not sealed or plaintext_insecure"};
    r.payload = unb64(get_string(*o, "", "payload"), "payload");
    return r;
  });
}

std::string encode_attest_request(const AttestRequest& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("nonce", toolkit::base64_encode(m.nonce));
  o.set("purpose", std::string(m.purpose == AttestPurpose::provisioning ? "provisioning" : "verify"));
  return stringify(o);
}

Result<AttestRequest> decode_attest_request(std::string_view json) {
  return decoding<AttestRequest>([&] {
    auto o = parse_object(json, "attest");
    AttestRequest r;
    r.nonce = unb64(get_string(*o, "", "nonce"), "nonce");
    // Absent in protocol 1.0 clients' requests: those asked for a verifier's document.
    const auto purpose = o->has("purpose") ? get_string(*o, "", "purpose") : std::string("verify");
    if (purpose == "provisioning")
      r.purpose = AttestPurpose::provisioning;
    else if (purpose != "verify")
      throw DecodeError{"purpose: '" + purpose + "' is not verify or provisioning"};
    return r;
  });
}

std::string encode_attest_reply(const AttestReply& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("document", toolkit::base64_encode(m.document));
  o.set("development", m.development);
  return stringify(o);
}

Result<AttestReply> decode_attest_reply(std::string_view json) {
  return decoding<AttestReply>([&] {
    auto o = parse_object(json, "attest_reply");
    AttestReply r;
    r.document = unb64(get_string(*o, "", "document"), "document");
    r.development = get_bool(*o, "", "development");
    return r;
  });
}

namespace {
// Bounds on what the parent may hand the enclave in one kms_provision request (the frame size bounds the total too).
constexpr std::size_t kMaxKmsCiphertexts = 32;
constexpr std::size_t kMaxKmsBlobBytes = 6144;  // KMS's own CiphertextBlob limit
constexpr std::size_t kMaxSecretNameBytes = 128;
constexpr std::size_t kMaxAccessKeyIdBytes = 128;
constexpr std::size_t kMaxSecretKeyBytes = 256;
constexpr std::size_t kMaxSessionTokenBytes = 8192;

std::string bounded_string(const Object& o, const std::string& path, const std::string& key, std::size_t max,
                           bool optional = false) {
  auto v = get_string(o, path, key, optional);
  if (v.size() > max) throw DecodeError{field_name(path, key) + ": longer than " + std::to_string(max) + " bytes"};
  return v;
}
}  // namespace

const char* secret_state_name(SecretState s) noexcept {
  switch (s) {
    case SecretState::installed:
      return "installed";
    case SecretState::missing:
      return "missing";
    case SecretState::failing:
      return "failing";
  }
  return "unknown";
}

std::string encode_kms_provision_request(const KmsProvisionRequest& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("access_key_id", m.access_key_id);
  o.set("secret_access_key", std::string(m.secret_access_key.reveal()));
  o.set("session_token", std::string(m.session_token.reveal()));
  o.set("expiration_unix", m.expiration_unix);
  Array::Ptr list = new Array();
  for (const auto& c : m.ciphertexts) {
    Object::Ptr co = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    co->set("name", c.name);
    co->set("blob", toolkit::base64_encode(c.blob));
    list->add(co);
  }
  o.set("ciphertexts", list);
  std::string out = stringify(o);
  // Poco's JSON object keeps its own copies of the credentials and frees them unwiped when it goes; the caller wipes
  // the returned string (LinkClient does, for sensitive requests). The enclave wipes what it decodes.
  return out;
}

Result<KmsProvisionRequest> decode_kms_provision_request(std::string_view json) {
  return decoding<KmsProvisionRequest>([&] {
    auto o = parse_object(json, "kms_provision");
    KmsProvisionRequest r;
    r.access_key_id = bounded_string(*o, "", "access_key_id", kMaxAccessKeyIdBytes);
    if (r.access_key_id.empty()) throw DecodeError{"access_key_id: empty"};
    {
      auto key = bounded_string(*o, "", "secret_access_key", kMaxSecretKeyBytes);
      if (key.empty()) throw DecodeError{"secret_access_key: empty"};
      r.secret_access_key = Secret(key);
      explicit_bzero(key.data(), key.size());
      auto token = bounded_string(*o, "", "session_token", kMaxSessionTokenBytes, true);
      r.session_token = Secret(token);
      explicit_bzero(token.data(), token.size());
    }
    r.expiration_unix = get_int(*o, "", "expiration_unix", 0, std::numeric_limits<std::int64_t>::max());
    auto list = get_array(*o, "", "ciphertexts");
    if (list->size() > kMaxKmsCiphertexts) {
      throw DecodeError{"ciphertexts: more than " + std::to_string(kMaxKmsCiphertexts) + " entries"};
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = "ciphertexts[" + std::to_string(i) + "]";
      auto co = object_at(*list, i, "ciphertexts");
      KmsCiphertext c;
      c.name = bounded_string(*co, path, "name", kMaxSecretNameBytes);
      if (c.name.empty()) throw DecodeError{path + ".name: empty"};
      const auto text = get_string(*co, path, "blob");
      if (text.size() > (kMaxKmsBlobBytes + 2) / 3 * 4) {
        throw DecodeError{path + ".blob: larger than KMS's " + std::to_string(kMaxKmsBlobBytes) + "-byte limit"};
      }
      c.blob = unb64(text, path + ".blob");
      if (c.blob.empty()) throw DecodeError{path + ".blob: empty"};
      r.ciphertexts.push_back(std::move(c));
    }
    return r;
  });
}

std::string encode_kms_provision_reply(const KmsProvisionReply& m) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  Array::Ptr list = new Array();
  for (const auto& x : m.outcomes) {
    Object::Ptr xo = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    xo->set("name", x.name);
    xo->set("installed", x.installed);
    xo->set("detail", x.detail);
    list->add(xo);
  }
  o.set("outcomes", list);
  return stringify(o);
}

Result<KmsProvisionReply> decode_kms_provision_reply(std::string_view json) {
  return decoding<KmsProvisionReply>([&] {
    auto o = parse_object(json, "kms_provision_reply");
    KmsProvisionReply r;
    auto list = get_array(*o, "", "outcomes");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = "outcomes[" + std::to_string(i) + "]";
      auto xo = object_at(*list, i, "outcomes");
      r.outcomes.push_back(
          {get_string(*xo, path, "name"), get_bool(*xo, path, "installed"), get_string(*xo, path, "detail", true)});
    }
    return r;
  });
}

std::string encode_logs_request(std::size_t max_lines) {
  Object o;
  o.set("max", static_cast<Poco::UInt64>(max_lines));
  return stringify(o);
}

Result<std::size_t> decode_logs_request(std::string_view json) {
  return decoding<std::size_t>([&] {
    auto o = parse_object(json, "logs_request");
    return static_cast<std::size_t>(get_int(*o, "", "max", 1, static_cast<std::int64_t>(kMaxLogLinesPerReply)));
  });
}

std::string encode_logs_reply(const LogsReply& m) {
  Object o;
  Array::Ptr lines = new Array();
  for (const auto& l : m.lines) {
    Object::Ptr line = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    line->set("at_ms", static_cast<Poco::Int64>(l.at_ms));
    line->set("level", static_cast<int>(l.level));
    line->set("component", l.component);
    line->set("message", l.message);
    lines->add(line);
  }
  o.set("lines", lines);
  o.set("dropped", static_cast<Poco::UInt64>(m.dropped));
  return stringify(o);
}

Result<LogsReply> decode_logs_reply(std::string_view json) {
  return decoding<LogsReply>([&] {
    auto o = parse_object(json, "logs_reply");
    LogsReply out;
    auto lines = get_array(*o, "", "lines");
    if (lines->size() > kMaxLogLinesPerReply)
      throw DecodeError{"lines: more than " + std::to_string(kMaxLogLinesPerReply)};
    for (std::size_t i = 0; i < lines->size(); ++i) {
      const std::string path = "lines[" + std::to_string(i) + "]";
      auto lo = object_at(*lines, i, "lines");
      LogLine l;
      l.at_ms = get_int(*lo, path, "at_ms", 0, std::numeric_limits<std::int64_t>::max());
      l.level = static_cast<LogLevel>(get_int(*lo, path, "level", 0, static_cast<std::int64_t>(LogLevel::error)));
      l.component = get_string(*lo, path, "component");
      l.message = get_string(*lo, path, "message");
      out.lines.push_back(std::move(l));
    }
    out.dropped = static_cast<std::uint64_t>(get_int(*o, "", "dropped", 0, std::numeric_limits<std::int64_t>::max()));
    return out;
  });
}

namespace {

const char* metric_type_name(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    default:
      return nullptr;  // summaries and untyped series are not produced by the enclave and are not sent
  }
}

Poco::Dynamic::Var metric_number(double v) {
  if (std::isnan(v)) return std::string("NaN");
  if (std::isinf(v)) return std::string(v > 0 ? "+Inf" : "-Inf");
  return v;
}

double metric_number_from(const Poco::Dynamic::Var& v, const std::string& field) {
  if (v.isString()) {
    const auto s = v.toString();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "+Inf") return std::numeric_limits<double>::infinity();
    if (s == "-Inf") return -std::numeric_limits<double>::infinity();
    throw DecodeError{field + ": expected a number, NaN, +Inf or -Inf"};
  }
  if (!v.isNumeric()) throw DecodeError{field + ": expected a number"};
  return v.convert<double>();
}

// Prometheus's data model: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, neither
// empty, and label names starting with "__" are reserved.
bool valid_metric_name(std::string_view n, bool label) {
  if (n.empty() || n.size() > 200) return false;
  if (label && n.starts_with("__")) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const auto c = static_cast<unsigned char>(n[i]);
    const bool ok = std::isalpha(c) != 0 || c == '_' || (!label && c == ':') || (i > 0 && std::isdigit(c) != 0);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string encode_metrics_reply(const std::vector<prometheus::MetricFamily>& families) {
  Object o;
  Array::Ptr out = new Array();
  for (const auto& f : families) {
    const char* type = metric_type_name(f.type);
    if (type == nullptr) continue;
    Object::Ptr family = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    family->set("name", f.name);
    family->set("help", f.help);
    family->set("type", std::string(type));
    Array::Ptr series = new Array();
    for (const auto& m : f.metric) {
      Object::Ptr one = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      Object::Ptr labels = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
      for (const auto& l : m.label) labels->set(l.name, l.value);
      one->set("labels", labels);
      if (f.type == prometheus::MetricType::Histogram) {
        one->set("count", static_cast<Poco::UInt64>(m.histogram.sample_count));
        one->set("sum", metric_number(m.histogram.sample_sum));
        Array::Ptr buckets = new Array();
        for (const auto& b : m.histogram.bucket) {
          if (std::isinf(b.upper_bound)) continue;  // the +Inf bucket is `count`
          Array::Ptr pair = new Array();
          pair->add(b.upper_bound);
          pair->add(static_cast<Poco::UInt64>(b.cumulative_count));
          buckets->add(pair);
        }
        one->set("buckets", buckets);
      } else {
        one->set("value", metric_number(f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value));
      }
      series->add(one);
    }
    family->set("metrics", series);
    out->add(family);
  }
  o.set("families", out);
  return stringify(o);
}

Result<std::vector<prometheus::MetricFamily>> decode_metrics_reply(std::string_view json) {
  return decoding<std::vector<prometheus::MetricFamily>>([&] {
    auto o = parse_object(json, "metrics_reply");
    auto families = get_array(*o, "", "families");
    if (families->size() > kMaxMetricFamilies)
      throw DecodeError{"families: more than " + std::to_string(kMaxMetricFamilies)};
    std::vector<prometheus::MetricFamily> out;
    std::size_t series_total = 0;
    for (std::size_t i = 0; i < families->size(); ++i) {
      const std::string path = "families[" + std::to_string(i) + "]";
      auto fo = object_at(*families, i, "families");
      prometheus::MetricFamily f;
      f.name = get_string(*fo, path, "name");
      if (!valid_metric_name(f.name, false)) throw DecodeError{path + ".name: not a Prometheus metric name"};
      f.help = get_string(*fo, path, "help");
      if (f.help.size() > 1024) throw DecodeError{path + ".help: longer than 1024 bytes"};
      const auto type = get_string(*fo, path, "type");
      if (type == "counter") {
        f.type = prometheus::MetricType::Counter;
      } else if (type == "gauge") {
        f.type = prometheus::MetricType::Gauge;
      } else if (type == "histogram") {
        f.type = prometheus::MetricType::Histogram;
      } else {
        throw DecodeError{path + ".type: expected counter, gauge or histogram"};
      }
      auto series = get_array(*fo, path, "metrics");
      series_total += series->size();
      if (series_total > kMaxMetricSeries)
        throw DecodeError{path + ".metrics: more than " + std::to_string(kMaxMetricSeries) + " series in all"};
      for (std::size_t j = 0; j < series->size(); ++j) {
        const std::string mpath = path + ".metrics[" + std::to_string(j) + "]";
        auto mo = object_at(*series, j, path + ".metrics");
        prometheus::ClientMetric m;
        const auto labels = mo->getObject("labels");
        if (!labels) throw DecodeError{mpath + ".labels: expected an object"};
        if (labels->size() > kMaxMetricLabels)
          throw DecodeError{mpath + ".labels: more than " + std::to_string(kMaxMetricLabels)};
        for (const auto& [name, value] : *labels) {
          if (!valid_metric_name(name, true) || name == "source" || name == "node")
            throw DecodeError{mpath + ".labels." + name + ": not a label name the parent accepts"};
          if (!value.isString()) throw DecodeError{mpath + ".labels." + name + ": expected a string"};
          const auto text = value.toString();
          if (text.size() > 256) throw DecodeError{mpath + ".labels." + name + ": longer than 256 bytes"};
          m.label.push_back({name, text});
        }
        if (f.type == prometheus::MetricType::Histogram) {
          m.histogram.sample_count =
              static_cast<std::uint64_t>(get_int(*mo, mpath, "count", 0, std::numeric_limits<std::int64_t>::max()));
          m.histogram.sample_sum = metric_number_from(require(*mo, mpath, "sum"), mpath + ".sum");
          auto buckets = get_array(*mo, mpath, "buckets");
          if (buckets->size() > kMaxHistogramBuckets)
            throw DecodeError{mpath + ".buckets: more than " + std::to_string(kMaxHistogramBuckets)};
          double previous = -std::numeric_limits<double>::infinity();
          std::uint64_t previous_count = 0;
          for (std::size_t k = 0; k < buckets->size(); ++k) {
            const std::string bpath = mpath + ".buckets[" + std::to_string(k) + "]";
            auto pair = buckets->getArray(static_cast<unsigned>(k));
            if (!pair || pair->size() != 2) throw DecodeError{bpath + ": expected [upper_bound, cumulative_count]"};
            const double upper = metric_number_from(pair->get(0), bpath + "[0]");
            const auto count_var = pair->get(1);
            if (!count_var.isInteger() || count_var.convert<std::int64_t>() < 0)
              throw DecodeError{bpath + "[1]: expected a count"};
            const auto count = count_var.convert<std::uint64_t>();
            if (!(upper > previous) || std::isinf(upper) || count < previous_count || count > m.histogram.sample_count)
              throw DecodeError{bpath + ": bounds must rise and counts never fall nor pass the total"};
            previous = upper;
            previous_count = count;
            m.histogram.bucket.push_back({count, upper});
          }
          m.histogram.bucket.push_back({m.histogram.sample_count, std::numeric_limits<double>::infinity()});
        } else {
          const double v = metric_number_from(require(*mo, mpath, "value"), mpath + ".value");
          (f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value) = v;
        }
        f.metric.push_back(std::move(m));
      }
      out.push_back(std::move(f));
    }
    return out;
  });
}

std::string encode_error(const Error& e) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("code", std::string(errc_name(e.code)));
  o.set("message", e.message);
  return stringify(o);
}

Error decode_error(std::string_view json) {
  try {
    auto o = parse_object(json, "error");
    return Error{errc_from_name(get_string(*o, "", "code")), get_string(*o, "", "message")};
  } catch (const DecodeError& e) {
    return Error{Errc::protocol_error, "unreadable error reply: " + e.message};
  } catch (const std::exception& e) {
    return Error{Errc::protocol_error, std::string("unreadable error reply: ") + e.what()};
  }
}

}  // namespace notify::link
