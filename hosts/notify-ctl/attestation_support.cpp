#include "attestation_support.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

namespace notify::ctl {

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::not_found, path + ": cannot open"};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result<attestation::Bytes> read_document_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  const auto& raw = *text;
  if (raw.empty()) return Error{Errc::invalid_argument, path + ": empty file"};
  const auto first = static_cast<unsigned char>(raw[0]);
  if (first == 0x84 || first == 0xD2) {  // a CBOR array of 4, or tag 18: raw COSE_Sign1
    attestation::Bytes out(raw.size());
    std::memcpy(out.data(), raw.data(), raw.size());
    return out;
  }
  auto decoded = toolkit::base64_decode(toolkit::strip_whitespace(raw));
  if (!decoded) return Error{Errc::invalid_argument, path + ": neither CBOR (COSE_Sign1) nor base64"};
  attestation::Bytes out(decoded->size());
  std::memcpy(out.data(), decoded->data(), decoded->size());
  return out;
}

Result<attestation::VerifyOptions> verify_options_from(const CtlOptions& options, const std::string& pcrs_flag) {
  attestation::VerifyOptions o;
  o.allow_debug = options.has("allow-debug");
  o.allow_development = options.has("allow-development");
  if (auto f = options.get(pcrs_flag)) {
    auto text = read_text_file(*f);
    if (!text) return text.error();
    auto policy = attestation::parse_pcr_policy(*text);
    if (!policy) return Error{policy.error().code, *f + ": " + policy.error().message};
    o.expected_pcrs = *policy;
  }
  // Single PCRs given as flags add to (or override) the file's policy.
  for (const std::uint32_t index : {0u, 1u, 2u, 8u}) {
    const std::string flag = "pcr" + std::to_string(index);
    if (auto hex = options.get(flag)) {
      auto bytes = attestation::from_hex(*hex);
      if (!bytes || bytes->empty()) return Error{Errc::invalid_argument, "--" + flag + ": not hex"};
      o.expected_pcrs[index] = *bytes;
    }
  }
  if (auto n = options.get("nonce")) {
    auto bytes = attestation::from_hex(*n);
    if (!bytes) return Error{Errc::invalid_argument, "--nonce: not hex"};
    o.expected_nonce = *bytes;
  }
  if (auto at = options.get("at")) {
    Poco::DateTime dt;
    int tz = 0;
    if (at->empty() || at->back() != 'Z' ||
        !(Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, *at, dt, tz) ||
          Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FORMAT, *at, dt, tz))) {
      return Error{Errc::invalid_argument, "--at: '" + *at + "' is not an RFC 3339 UTC time like 2024-09-07T14:37:39Z"};
    }
    o.at = std::chrono::system_clock::time_point(std::chrono::microseconds(dt.timestamp().epochMicroseconds()));
  }
  return o;
}

void print_verdict(std::ostream& out, const attestation::Verdict& v) {
  const auto& d = v.document;
  const std::time_t t = std::chrono::system_clock::to_time_t(d.timestamp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  out << "verified: " << (v.development ? "DEVELOPMENT attestation (not AWS Nitro)" : "AWS Nitro attestation") << "\n"
      << "  module_id: " << d.module_id << "\n"
      << "  timestamp: " << when << "\n"
      << "  root:      " << v.root_subject << "\n"
      << "  debug:     " << (v.debug_mode ? "yes (PCR0 all zeros)" : "no") << "\n";
  for (const auto& [i, value] : d.pcrs) {
    bool zero = std::all_of(value.begin(), value.end(), [](std::byte b) { return b == std::byte{0}; });
    if (!zero || i <= 2) out << "  PCR" << i << (i < 10 ? ":  " : ": ") << attestation::to_hex(value) << "\n";
  }
  if (d.public_key) out << "  public_key: " << d.public_key->size() << " bytes\n";
  if (d.nonce) {
    const auto shown = std::min<std::size_t>(d.nonce->size(), 32);
    out << "  nonce:     " << attestation::to_hex(std::span(*d.nonce).first(shown))
        << (shown < d.nonce->size() ? "… (" + std::to_string(d.nonce->size()) + " bytes)" : "") << "\n";
  }
}

}  // namespace notify::ctl
