#include "attestation/attestation_document.hpp"

#include "attestation/cbor_item.hpp"

namespace notify::attestation {
namespace {

constexpr std::size_t kMaxPcrIndex = 31;

Error bad(const std::string& what) { return Error{Errc::protocol_error, what}; }

}  // namespace

std::string to_hex(std::span<const std::byte> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out += digits[static_cast<unsigned>(b) >> 4];
    out += digits[static_cast<unsigned>(b) & 0xf];
  }
  return out;
}

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::byte>(hi * 16 + lo);
  }
  return out;
}

Result<CoseSign1> decode_cose_sign1(std::span<const std::byte> data) {
  if (data.empty()) return bad("cose: empty document");
  std::string why;
  CborItem root = cbor_load_checked(data, why);
  if (!root) return bad("cose: " + why);
  const cbor_item_t* item = root.get();
  if (cbor_isa_tag(item)) {
    if (cbor_tag_value(item) != 18)
      return bad("cose: tag " + std::to_string(cbor_tag_value(item)) + " is not COSE_Sign1 (18)");
    item = cbor_tag_item(item);
    root.reset(const_cast<cbor_item_t*>(item));  // cbor_tag_item took a reference; the tag itself is released
  }
  // Definite or indefinite-length alike: cbor_array_size counts the items stored either way.
  if (!cbor_isa_array(item) || cbor_array_size(item) != 4) {
    return bad("cose: COSE_Sign1 must be an array of 4 items");
  }
  cbor_item_t** parts = cbor_array_handle(item);
  CoseSign1 out;
  auto prot = cbor_bytes(parts[0]);
  if (!prot) return bad("cose: protected header must be a byte string");
  out.protected_header = *prot;
  // RFC 8152 says a map (Nitro sends an empty one); some producers send null. Nothing in it is signed or used.
  if (!cbor_isa_map(parts[1]) && !cbor_is_null_item(parts[1])) return bad("cose: unprotected header must be a map");
  // The signature covers the payload's content as received (chunks concatenated, never re-encoded).
  auto payload = cbor_bytes(parts[2]);
  if (!payload) return bad("cose: payload must be a byte string");
  out.payload = *payload;
  auto sig = cbor_bytes(parts[3]);
  if (!sig) return bad("cose: signature must be a byte string");
  out.signature = *sig;
  // Protected header: {1: alg}
  CborItem header = cbor_load_checked(out.protected_header, why);
  if (!header || !cbor_isa_map(header.get())) {
    return bad("cose: protected header is not a CBOR map");
  }
  const auto* pairs = cbor_map_handle(header.get());
  for (std::size_t i = 0; i < cbor_map_size(header.get()); ++i) {
    auto key = cbor_uint(pairs[i].key);
    if (key && *key == 1) {
      if (cbor_isa_negint(pairs[i].value))
        out.algorithm = -1 - static_cast<std::int64_t>(cbor_get_int(pairs[i].value));
      else if (cbor_isa_uint(pairs[i].value))
        out.algorithm = static_cast<std::int64_t>(cbor_get_int(pairs[i].value));
    }
  }
  if (out.algorithm == 0) return bad("cose: protected header has no algorithm (label 1)");
  return out;
}

Result<AttestationDocument> decode_attestation_document(std::span<const std::byte> payload) {
  std::string why;
  CborItem root = cbor_load_checked(payload, why);
  if (!root) return bad("document: payload: " + why);
  if (!cbor_isa_map(root.get())) return bad("document: payload is not a map");
  AttestationDocument d;
  const cbor_item_t* m = root.get();
  auto text = [&](const char* key) -> Result<std::string> {
    auto v = cbor_text(cbor_map_find(m, key));
    if (!v) return bad(std::string("document.") + key + ": missing or not text");
    return *v;
  };
  auto module = text("module_id");
  if (!module) return module.error();
  d.module_id = *module;
  auto digest = text("digest");
  if (!digest) return digest.error();
  d.digest = *digest;
  if (d.digest != "SHA384") return bad("document.digest: '" + d.digest + "' is not SHA384");
  auto ts = cbor_uint(cbor_map_find(m, "timestamp"));
  if (!ts) return bad("document.timestamp: missing or not an unsigned integer");
  d.timestamp = std::chrono::system_clock::time_point(std::chrono::milliseconds(*ts));
  const cbor_item_t* pcrs = cbor_map_find(m, "pcrs");
  if (pcrs == nullptr || !cbor_isa_map(pcrs)) return bad("document.pcrs: missing or not a map");
  const auto* pp = cbor_map_handle(pcrs);
  for (std::size_t i = 0; i < cbor_map_size(pcrs); ++i) {
    auto index = cbor_uint(pp[i].key);
    auto value = cbor_bytes(pp[i].value);
    if (!index || *index > kMaxPcrIndex)
      return bad("document.pcrs: key " + std::to_string(i) + " is not a PCR index 0..31");
    if (!value || (value->size() != 32 && value->size() != 48 && value->size() != 64)) {
      return bad("document.pcrs[" + std::to_string(*index) + "]: must be 32, 48 or 64 bytes");
    }
    d.pcrs[static_cast<std::uint32_t>(*index)] = *value;
  }
  auto cert = cbor_bytes(cbor_map_find(m, "certificate"));
  if (!cert || cert->empty()) return bad("document.certificate: missing or not bytes");
  d.certificate = *cert;
  const cbor_item_t* bundle = cbor_map_find(m, "cabundle");
  // An empty bundle decodes (a self-signed leaf); the chain check then refuses it with the reason named.
  if (bundle == nullptr || (!cbor_is_null_item(bundle) && !cbor_isa_array(bundle))) {
    return bad("document.cabundle: missing or not an array");
  }
  const std::size_t bundle_size = cbor_is_null_item(bundle) ? 0 : cbor_array_size(bundle);
  for (std::size_t i = 0; i < bundle_size; ++i) {
    auto c = cbor_bytes(cbor_array_handle(bundle)[i]);
    if (!c || c->empty()) return bad("document.cabundle[" + std::to_string(i) + "]: not bytes");
    d.cabundle.push_back(*c);
  }
  for (auto [key, field] :
       {std::pair{"public_key", &d.public_key}, std::pair{"user_data", &d.user_data}, std::pair{"nonce", &d.nonce}}) {
    const cbor_item_t* v = cbor_map_find(m, key);
    if (v == nullptr || cbor_is_null_item(v)) continue;
    auto b = cbor_bytes(v);
    if (!b) return bad(std::string("document.") + key + ": must be bytes or null");
    if (b->size() > 1024) return bad(std::string("document.") + key + ": over 1024 bytes");
    *field = *b;
  }
  return d;
}

Bytes sig_structure(const CoseSign1& cose) {
  CborItem arr(cbor_new_definite_array(4));
  auto push = [&](cbor_item_t* item) { cbor_array_push(arr.get(), cbor_move(item)); };
  push(cbor_build_string("Signature1"));
  push(cbor_build_bytestring(reinterpret_cast<const unsigned char*>(cose.protected_header.data()),
                             cose.protected_header.size()));
  static const unsigned char kNothing = 0;  // libcbor copies from the pointer even for length 0
  push(cbor_build_bytestring(&kNothing, 0));
  push(cbor_build_bytestring(reinterpret_cast<const unsigned char*>(cose.payload.data()), cose.payload.size()));
  return cbor_encode(arr.get());
}

}  // namespace notify::attestation
