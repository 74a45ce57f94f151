#pragma once
// An AWS Nitro Enclaves attestation document: a COSE_Sign1 (RFC 8152; untagged or tag 18, algorithm ES384) whose
// payload is a CBOR map (AWS "Verifying the root of trust"): module_id, digest ("SHA384"), timestamp (ms since the
// epoch), pcrs {index: bytes}, certificate (DER), cabundle [DER...] from the root down, and optional public_key,
// user_data, nonce (absent, null, or bytes).

#include <notify/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace notify::attestation {

using Bytes = std::vector<std::byte>;

struct CoseSign1 {
  Bytes protected_header;  // the serialised protected header map, as signed
  Bytes payload;
  Bytes signature;             // raw r||s (96 bytes for ES384)
  std::int64_t algorithm = 0;  // COSE alg from the protected header (-35 = ES384)
};

struct AttestationDocument {
  std::string module_id;
  std::string digest;
  std::chrono::system_clock::time_point timestamp;
  std::map<std::uint32_t, Bytes> pcrs;
  Bytes certificate;
  std::vector<Bytes> cabundle;
  std::optional<Bytes> public_key;
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;
};

/// Decodes the COSE_Sign1 envelope. Errors name what is wrong ("cose: ...").
Result<CoseSign1> decode_cose_sign1(std::span<const std::byte> data);
/// Decodes the payload map. Errors name the field ("document.pcrs: ...").
Result<AttestationDocument> decode_attestation_document(std::span<const std::byte> payload);
/// The COSE Sig_structure ["Signature1", protected, external_aad (empty), payload] that the signature covers.
Bytes sig_structure(const CoseSign1& cose);

std::string to_hex(std::span<const std::byte> bytes);
std::optional<Bytes> from_hex(std::string_view hex);

}  // namespace notify::attestation
