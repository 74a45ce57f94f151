#include "aws/sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>

namespace notify::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr char kHex[] = "0123456789abcdef";

using Digest = std::array<unsigned char, 32>;

// Key material (the "AWS4"+secret key and every derived key) lives in these and is wiped when they go.
struct WipedDigest {
  Digest bytes{};
  ~WipedDigest() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

std::string hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0f]);
  }
  return out;
}

// HMAC-SHA256; the one-shot HMAC() is not deprecated in OpenSSL 3 and needs no context to free.
void hmac(const unsigned char* key, std::size_t key_size, std::string_view data, Digest& out) {
  unsigned int len = 0;
  HMAC(EVP_sha256(), key, static_cast<int>(key_size), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out.data(), &len);
}

bool unreserved(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~'; }

// RFC 3986 percent-encoding as SigV4 wants it: everything but the unreserved set, uppercase hex. `keep_slash` for
// path segments joined back with '/'.
std::string uri_encode(std::string_view in, bool keep_slash) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kUpper[c >> 4]);
      out.push_back(kUpper[c & 0x0f]);
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims, and turns every inner run of whitespace (including the line breaks of a folded header) into one space.
std::string canonical_header_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Resolves "." and "..", drops empty segments ("//"), and keeps a trailing slash (what aws-c-auth does).
std::string normalize(std::string_view path) {
  std::vector<std::string_view> kept;
  std::size_t at = 0;
  while (at <= path.size()) {
    const auto slash = path.find('/', at);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    const auto segment = path.substr(at, end - at);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    out.append(kept[i]);
    if (i + 1 < kept.size()) out.push_back('/');
  }
  if (!kept.empty() && !path.empty() && path.back() == '/') out.push_back('/');
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize_path) {
  if (path.empty()) return "/";
  // AWS's non-S3 services (KMS among them) encode the path once more on top of how it is sent; since our path is
  // the raw one, that is one encoding of each segment here.
  return uri_encode(normalize_path ? normalize(path) : std::string(path), /*keep_slash=*/true);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Query parameters may arrive raw ("ሴ") or already percent-encoded ("%E1%88%B4"); both must canonicalise to the
// same text, so a parameter is decoded (valid %XX only; '+' stays '+') and encoded again, as aws-c-auth does.
std::string encode_param(std::string_view in) {
  std::string decoded;
  decoded.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      decoded.push_back(in[i]);
    }
  }
  return uri_encode(decoded, /*keep_slash=*/false);
}

using Param = std::pair<std::string, std::string>;  // both encoded

std::vector<Param> encoded_query(std::string_view query) {
  std::vector<Param> out;
  std::size_t at = 0;
  while (at <= query.size()) {
    const auto amp = query.find('&', at);
    const auto end = amp == std::string_view::npos ? query.size() : amp;
    const auto item = query.substr(at, end - at);
    if (!item.empty()) {
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(encode_param(item), std::string());
      } else {
        out.emplace_back(encode_param(item.substr(0, eq)), encode_param(item.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    at = amp + 1;
  }
  return out;
}

std::string join_query(const std::vector<Param>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

// Headers the signer adds itself or that proxies rewrite: refused or skipped, as aws-c-auth does.
bool forbidden_header(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "x-amz-date" || lower_name == "x-amz-security-token" ||
         lower_name == "x-amz-content-sha256";
}
bool skipped_header(std::string_view lower_name) {
  return lower_name == "user-agent" || lower_name == "x-amzn-trace-id" || lower_name == "connection" ||
         lower_name == "expect" || lower_name == "transfer-encoding" || lower_name == "upgrade";
}
bool forbidden_param(std::string_view encoded_key) {
  return encoded_key == "X-Amz-Signature" || encoded_key == "X-Amz-Date" || encoded_key == "X-Amz-Credential" ||
         encoded_key == "X-Amz-Algorithm" || encoded_key == "X-Amz-SignedHeaders" ||
         encoded_key == "X-Amz-Security-Token" || encoded_key == "X-Amz-Expires";
}

enum class Mode { header, query };

struct Prepared {
  std::map<std::string, std::string> headers;  // lowercase name -> values joined with ',' in request order
  std::string date_time;                       // 20150830T123600Z
  std::string scope;                           // 20150830/us-east-1/service/aws4_request
  std::string payload_hash;
};

Result<Prepared> prepare(const UnsignedRequest& request, const Credentials& credentials, const SigningParams& params,
                         Mode mode) {
  if (credentials.access_key_id.empty()) return Error{Errc::invalid_argument, "sigv4: the access key id is empty"};
  if (credentials.secret_access_key.empty()) {
    return Error{Errc::invalid_argument, "sigv4: the secret access key is empty"};
  }
  if (params.region.empty() || params.service.empty()) {
    return Error{Errc::invalid_argument, "sigv4: region and service must be set"};
  }
  if (request.method.empty()) return Error{Errc::invalid_argument, "sigv4: the request method is empty"};
  if (mode == Mode::query && (params.presign_expires.count() < 1 || params.presign_expires.count() > 7 * 24 * 3600)) {
    return Error{Errc::invalid_argument, "sigv4: presign expiry must be 1 s .. 7 days"};
  }
  Prepared p;
  for (const auto& [name, value] : request.headers) {
    auto key = lower(canonical_header_value(name));
    if (key.empty()) return Error{Errc::invalid_argument, "sigv4: a header has an empty name"};
    if (forbidden_header(key)) {
      return Error{Errc::invalid_argument,
                   "sigv4: the request already has a '" + key + "' header (the signer adds it)"};
    }
    if (skipped_header(key)) continue;
    auto [it, inserted] = p.headers.try_emplace(key, canonical_header_value(value));
    if (!inserted) it->second.append(",").append(canonical_header_value(value));
  }
  if (p.headers.find("host") == p.headers.end()) {
    return Error{Errc::invalid_argument, "sigv4: the request has no Host header"};
  }
  p.date_time = amz_date(params.time);
  p.scope = p.date_time.substr(0, 8) + "/" + params.region + "/" + params.service + "/" + std::string(kTerminator);
  p.payload_hash = sha256_hex(request.body);
  return p;
}

std::string signing_key_and_sign(const Credentials& credentials, const Prepared& p, const SigningParams& params,
                                 std::string_view string_to_sign) {
  std::string seed;
  seed.reserve(4 + credentials.secret_access_key.size());  // one buffer, so the wipe below reaches every copy
  seed.append("AWS4").append(credentials.secret_access_key.reveal());
  WipedDigest k_date;
  WipedDigest k_region;
  WipedDigest k_service;
  WipedDigest k_signing;
  WipedDigest signature;
  hmac(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), p.date_time.substr(0, 8), k_date.bytes);
  OPENSSL_cleanse(seed.data(), seed.size());
  hmac(k_date.bytes.data(), k_date.bytes.size(), params.region, k_region.bytes);
  hmac(k_region.bytes.data(), k_region.bytes.size(), params.service, k_service.bytes);
  hmac(k_service.bytes.data(), k_service.bytes.size(), kTerminator, k_signing.bytes);
  hmac(k_signing.bytes.data(), k_signing.bytes.size(), string_to_sign, signature.bytes);
  return hex(signature.bytes.data(), signature.bytes.size());
}

// Fills the three stages from the canonical query and headers chosen by the caller's mode.
void finish(SignedRequest& out, const UnsignedRequest& request, const Credentials& credentials,
            const SigningParams& params, const Prepared& p, const std::map<std::string, std::string>& headers,
            const std::string& canonical_query, const std::string& signed_headers) {
  std::string& cr = out.canonical_request;
  cr.append(request.method).append("\n");
  cr.append(canonical_uri(request.path, params.normalize_path)).append("\n");
  cr.append(canonical_query).append("\n");
  for (const auto& [name, value] : headers) cr.append(name).append(":").append(value).append("\n");
  cr.append("\n").append(signed_headers).append("\n").append(p.payload_hash);

  out.string_to_sign.append(kAlgorithm).append("\n").append(p.date_time).append("\n").append(p.scope).append("\n");
  out.string_to_sign.append(sha256_hex(cr));
  out.signature = signing_key_and_sign(credentials, p, params, out.string_to_sign);
}

std::string signed_header_list(const std::map<std::string, std::string>& headers) {
  std::string out;
  for (const auto& entry : headers) {
    if (!out.empty()) out.push_back(';');
    out.append(entry.first);
  }
  return out;
}

}  // namespace

Result<SignedRequest> sign_with_header(const UnsignedRequest& request, const Credentials& credentials,
                                       const SigningParams& params) {
  auto prepared = prepare(request, credentials, params, Mode::header);
  if (!prepared) return prepared.error();
  Prepared& p = prepared.value();
  const bool has_token = !credentials.session_token.empty();
  const bool sign_token = has_token && !params.omit_session_token;

  auto headers = p.headers;
  headers["x-amz-date"] = p.date_time;
  if (sign_token) headers["x-amz-security-token"] = std::string(credentials.session_token.reveal());
  if (params.add_content_sha256) headers["x-amz-content-sha256"] = p.payload_hash;

  auto query = encoded_query(request.query);
  for (const auto& param : query) {
    if (forbidden_param(param.first)) {
      return Error{Errc::invalid_argument, "sigv4: the query already has " + param.first};
    }
  }
  std::sort(query.begin(), query.end());
  const auto canonical_query = join_query(query);
  const auto signed_headers = signed_header_list(headers);

  SignedRequest out;
  finish(out, request, credentials, params, p, headers, canonical_query, signed_headers);
  // The token is in the map only while it is being signed; wipe that copy.
  if (auto it = headers.find("x-amz-security-token"); it != headers.end()) {
    OPENSSL_cleanse(it->second.data(), it->second.size());
  }

  out.added_headers.emplace_back("X-Amz-Date", p.date_time);
  if (has_token) {
    out.added_headers.emplace_back("X-Amz-Security-Token", std::string(credentials.session_token.reveal()));
  }
  if (params.add_content_sha256) out.added_headers.emplace_back("x-amz-content-sha256", p.payload_hash);
  out.added_headers.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + credentials.access_key_id +
                                                      "/" + p.scope + ", SignedHeaders=" + signed_headers +
                                                      ", Signature=" + out.signature);
  return out;
}

Result<SignedRequest> sign_with_query(const UnsignedRequest& request, const Credentials& credentials,
                                      const SigningParams& params) {
  auto prepared = prepare(request, credentials, params, Mode::query);
  if (!prepared) return prepared.error();
  Prepared& p = prepared.value();
  const bool has_token = !credentials.session_token.empty();
  const bool sign_token = has_token && !params.omit_session_token;

  const auto original = encoded_query(request.query);
  for (const auto& param : original) {
    if (forbidden_param(param.first)) {
      return Error{Errc::invalid_argument, "sigv4: the query already has " + param.first};
    }
  }
  // X-Amz-Date is not a signed header in this mode, and no x-amz-content-sha256 is added: the hash is only the
  // payload line (what aws-c-auth's presigned vectors show).
  const auto signed_headers = signed_header_list(p.headers);
  const std::string token = has_token ? uri_encode(credentials.session_token.reveal(), false) : std::string();
  // The order aws-c-auth appends them to the URL; X-Amz-Signature comes last.
  std::vector<Param> auth = {
      {"X-Amz-Algorithm", std::string(kAlgorithm)},
      {"X-Amz-Credential", uri_encode(credentials.access_key_id + "/" + p.scope, false)},
      {"X-Amz-Date", p.date_time},
      {"X-Amz-SignedHeaders", uri_encode(signed_headers, false)},
      {"X-Amz-Expires", std::to_string(params.presign_expires.count())},
  };
  auto signed_params = original;
  signed_params.insert(signed_params.end(), auth.begin(), auth.end());
  if (sign_token) signed_params.emplace_back("X-Amz-Security-Token", token);
  std::sort(signed_params.begin(), signed_params.end());
  const auto canonical_query = join_query(signed_params);

  SignedRequest out;
  finish(out, request, credentials, params, p, p.headers, canonical_query, signed_headers);

  auto sent = original;
  sent.insert(sent.end(), auth.begin(), auth.end());
  if (has_token) sent.emplace_back("X-Amz-Security-Token", token);
  sent.emplace_back("X-Amz-Signature", out.signature);
  out.presigned_query = join_query(sent);
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto y = number(0, 4);
  const auto mo = number(4, 2);
  const auto d = number(6, 2);
  const auto h = number(9, 2);
  const auto mi = number(11, 2);
  const auto s = number(13, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*mo)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
  return std::chrono::sys_days{ymd} + std::chrono::hours{*h} + std::chrono::minutes{*mi} + std::chrono::seconds{*s};
}

Result<AuthorizationHeader> parse_authorization(std::string_view value) {
  auto bad = [](const std::string& what) { return Error{Errc::protocol_error, "authorization: " + what}; };
  const std::string prefix = std::string(kAlgorithm) + " ";
  if (value.substr(0, prefix.size()) != prefix) return bad("scheme: expected 'AWS4-HMAC-SHA256 '");
  value.remove_prefix(prefix.size());

  std::optional<std::string_view> credential;
  std::optional<std::string_view> signed_headers;
  std::optional<std::string_view> signature;
  std::size_t at = 0;
  while (at <= value.size()) {
    const auto comma = value.find(',', at);
    const auto end = comma == std::string_view::npos ? value.size() : comma;
    auto part = value.substr(at, end - at);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) return bad("component '" + std::string(part.substr(0, 40)) + "' has no '='");
    const auto name = part.substr(0, eq);
    const auto val = part.substr(eq + 1);
    std::optional<std::string_view>* slot = nullptr;
    if (name == "Credential") {
      slot = &credential;
    } else if (name == "SignedHeaders") {
      slot = &signed_headers;
    } else if (name == "Signature") {
      slot = &signature;
    } else {
      return bad("unknown component '" + std::string(name.substr(0, 40)) + "'");
    }
    if (slot->has_value()) return bad(std::string(name) + ": given twice");
    *slot = val;
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  if (!credential) return bad("Credential: missing");
  if (!signed_headers) return bad("SignedHeaders: missing");
  if (!signature) return bad("Signature: missing");

  AuthorizationHeader out;
  // Credential=AKID/20150830/us-east-1/service/aws4_request
  std::vector<std::string_view> parts;
  for (std::size_t p = 0;;) {
    const auto slash = credential->find('/', p);
    parts.push_back(credential->substr(p, slash == std::string_view::npos ? std::string_view::npos : slash - p));
    if (slash == std::string_view::npos) break;
    p = slash + 1;
  }
  if (parts.size() != 5) return bad("Credential: expected AKID/DATE/REGION/SERVICE/aws4_request");
  if (parts[0].empty()) return bad("Credential: empty access key id");
  if (parts[1].size() != 8 ||
      !std::all_of(parts[1].begin(), parts[1].end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("Credential: date must be YYYYMMDD");
  }
  if (parts[2].empty()) return bad("Credential: empty region");
  if (parts[3].empty()) return bad("Credential: empty service");
  if (parts[4] != kTerminator) return bad("Credential: must end in aws4_request");
  out.access_key_id = parts[0];
  out.date = parts[1];
  out.region = parts[2];
  out.service = parts[3];

  for (std::size_t p = 0;;) {
    const auto semi = signed_headers->find(';', p);
    const auto name = signed_headers->substr(p, semi == std::string_view::npos ? std::string_view::npos : semi - p);
    if (name.empty()) return bad("SignedHeaders: empty header name");
    if (lower(name) != name || std::any_of(name.begin(), name.end(), [](char c) { return is_space(c) || c == ':'; })) {
      return bad("SignedHeaders: '" + std::string(name.substr(0, 40)) + "' is not a lowercase header name");
    }
    if (std::find(out.signed_headers.begin(), out.signed_headers.end(), name) != out.signed_headers.end()) {
      return bad("SignedHeaders: '" + std::string(name) + "' listed twice");
    }
    out.signed_headers.emplace_back(name);
    if (semi == std::string_view::npos) break;
    p = semi + 1;
  }

  const auto lower_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  if (signature->size() != 64 || !std::all_of(signature->begin(), signature->end(), lower_hex)) {
    return bad("Signature: expected 64 lowercase hex characters");
  }
  out.signature = *signature;
  return out;
}

std::string sha256_hex(std::string_view data) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return hex(d.data(), d.size());
}

}  // namespace notify::aws
