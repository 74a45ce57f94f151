#include "attestation/verifier.hpp"

#include "attestation/nitro_root.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace notify::attestation {
namespace {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr) Fn(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
// OpenSSL's OPENSSL_free is a macro (it records file and line); the deleter needs a plain function.
void openssl_free(unsigned char* p) noexcept { OPENSSL_free(p); }
using OpenSslBuffer = std::unique_ptr<unsigned char, Deleter<openssl_free>>;
struct StackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using StackPtr = std::unique_ptr<STACK_OF(X509), StackFree>;

Error fail(const std::string& check, const std::string& what) { return Error{Errc::refused, check + ": " + what}; }

X509Ptr parse_der(const Bytes& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::string subject_of(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  char hex[4];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

std::string utc(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<X509Ptr> pinned_aws_root() {
  const auto pem = aws_nitro_root_pem();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr root(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!root) return Error{Errc::internal, "root: the compiled-in AWS Nitro root does not parse"};
  if (fingerprint(root.get()) != aws_nitro_root_sha256()) {
    return Error{Errc::internal, "root: the compiled-in AWS Nitro root does not match its pinned SHA-256 fingerprint"};
  }
  return root;
}

// The trust anchor: the caller's root when given (a lab CA, a test), else the pinned AWS root.
Result<X509Ptr> trust_anchor(const VerifyOptions& options) {
  if (!options.trusted_root) return pinned_aws_root();
  auto root = parse_der(*options.trusted_root);
  if (!root) return fail("root", "the configured trusted root is not a DER X.509 certificate");
  return root;
}

bool all_zero(const Bytes& b) {
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

Status check_signature(const CoseSign1& cose, X509* leaf) {
  if (cose.algorithm != -35) return fail("cose", "algorithm " + std::to_string(cose.algorithm) + " is not ES384 (-35)");
  if (cose.signature.size() != 96) {
    return fail("signature", "expected 96 bytes (ES384 r||s), got " + std::to_string(cose.signature.size()));
  }
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
    return fail("signature", "leaf certificate has no EC key");
  // ES384 is ECDSA on P-384 with SHA-384 (RFC 8152 §8.1); a key on another curve is not ES384 whatever it signs.
  char curve[64] = {};
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, nullptr) != 1 ||
      std::string_view(curve) != SN_secp384r1) {
    return fail("signature", "leaf certificate key is on curve '" + std::string(curve) + "', not P-384 (ES384)");
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(cose.signature.data());
  BnPtr r(BN_bin2bn(raw, 48, nullptr));
  BnPtr s(BN_bin2bn(raw + 48, 48, nullptr));
  SigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return fail("signature", "cannot decode r||s");
  }
  (void)r.release();  // ECDSA_SIG_set0 took ownership of both
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  OpenSslBuffer der_owner(der);
  if (der_len <= 0) return fail("signature", "cannot encode the signature");
  const Bytes tbs = sig_structure(cose);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) != 1 ||
      EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) != 1) {
    return fail("signature", "ES384 verification failed: the document was altered or not signed by its certificate");
  }
  return {};
}

}  // namespace

Result<Verdict> verify_attestation(std::span<const std::byte> document, const VerifyOptions& options) {
  auto cose = decode_cose_sign1(document);
  if (!cose) return cose.error();
  auto doc = decode_attestation_document(cose->payload);
  if (!doc) return doc.error();
  Verdict verdict;
  verdict.document = std::move(doc.value());
  const auto& d = verdict.document;

  auto leaf = parse_der(d.certificate);
  if (!leaf) return fail("document.certificate", "not a DER X.509 certificate");
  if (auto st = check_signature(*cose, leaf.get()); !st) return st.error();

  // Chain: leaf → cabundle → trusted root, at the chosen time.
  StackPtr untrusted(sk_X509_new_null());
  for (std::size_t i = 0; i < d.cabundle.size(); ++i) {
    auto c = parse_der(d.cabundle[i]);
    if (!c) return fail("document.cabundle[" + std::to_string(i) + "]", "not a DER X.509 certificate");
    if (sk_X509_push(untrusted.get(), c.get()) <= 0) return Error{Errc::internal, "chain: out of memory"};
    (void)c.release();  // the stack owns it now
  }
  X509* bundle_root = sk_X509_num(untrusted.get()) > 0 ? sk_X509_value(untrusted.get(), 0) : nullptr;
  verdict.development =
      subject_of(leaf.get()).find(kDevelopmentMarker) != std::string::npos ||
      (bundle_root != nullptr && subject_of(bundle_root).find(kDevelopmentMarker) != std::string::npos);
  X509Ptr trusted;
  if (verdict.development) {
    if (!options.allow_development) {
      return fail("development",
                  "development attestation (self-signed, not AWS Nitro): refused unless "
                  "development documents are explicitly allowed");
    }
    if (bundle_root == nullptr) return fail("development", "development document without a cabundle root");
    trusted.reset(X509_dup(bundle_root));
  } else {
    auto root = trust_anchor(options);
    if (!root) return root.error();
    trusted = std::move(root.value());
  }
  verdict.root_subject = subject_of(trusted.get());
  const std::string root_name = options.trusted_root && !verdict.development
                                    ? "the configured trusted root (" + verdict.root_subject + ")"
                                    : "the AWS Nitro Enclaves root";
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), trusted.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1) {
    return Error{Errc::internal, "chain: cannot set up certificate verification"};
  }
  const auto at = options.at.value_or(std::chrono::system_clock::now());
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), std::chrono::system_clock::to_time_t(at));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const std::string reason = X509_verify_cert_error_string(err);
    X509* where = X509_STORE_CTX_get_current_cert(ctx.get());
    const std::string subject = where ? subject_of(where) : "?";
    switch (err) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return fail("chain", reason + " at " + utc(at) + " (" + subject + ")");
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return fail("root", "chain does not end at " + root_name + " (" + reason + ", at " + subject + ")");
      default:
        return fail("chain", reason + " (" + subject + ")");
    }
  }
  if (!verdict.development) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    X509* top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (fingerprint(top) != fingerprint(trusted.get())) {
      return fail("root", "chain ends at " + subject_of(top) + ", not at " + root_name);
    }
  }

  if (options.expected_nonce) {
    if (!d.nonce) return fail("nonce", "the document carries no nonce");
    if (*d.nonce != *options.expected_nonce) {
      return fail("nonce", "mismatch (expected " + to_hex(*options.expected_nonce) + ", got " + to_hex(*d.nonce) + ")");
    }
  }

  auto pcr0 = d.pcrs.find(0);
  verdict.debug_mode = pcr0 != d.pcrs.end() && all_zero(pcr0->second);
  if (verdict.debug_mode && !options.allow_debug && !verdict.development) {
    return fail("debug",
                "PCR0 is all zeros: the enclave runs in debug mode, where the parent can read its memory "
                "(allow only for development)");
  }

  for (const auto& [index, expected] : options.expected_pcrs) {
    auto it = d.pcrs.find(index);
    if (it == d.pcrs.end()) return fail("pcr", "PCR" + std::to_string(index) + " is not in the document");
    if (it->second != expected) {
      return fail("pcr", "PCR" + std::to_string(index) + " mismatch (expected " + to_hex(expected) + ", got " +
                             to_hex(it->second) + ")");
    }
  }
  return verdict;
}

Status check_provisioning_pcr_policy(const std::map<std::uint32_t, Bytes>& expected_pcrs) {
  // Why a PCR does not pin anything, or empty when it does.
  auto gap = [&](std::uint32_t index) -> std::string {
    auto it = expected_pcrs.find(index);
    if (it == expected_pcrs.end()) return "PCR" + std::to_string(index) + " missing";
    if (it->second.empty()) return "PCR" + std::to_string(index) + " empty";
    if (all_zero(it->second)) return "PCR" + std::to_string(index) + " all zeros, as in any debug-mode enclave";
    return {};
  };
  if (gap(8).empty()) return {};  // PCR8 pins the certificate that signed the image
  std::string gaps;
  for (std::uint32_t index : {0u, 1u, 2u}) {
    if (auto g = gap(index); !g.empty()) gaps += (gaps.empty() ? "" : ", ") + g;
  }
  if (gaps.empty()) return {};
  return Error{Errc::invalid_argument,
               "pcr policy: " + gaps + ", and " + gap(8) +
                   ": a policy without PCR0, PCR1 and PCR2 (or PCR8) would accept another image"};
}

Result<std::map<std::uint32_t, Bytes>> parse_pcr_policy(std::string_view json) {
  try {
    auto v = Poco::JSON::Parser().parse(std::string(json));
    if (v.type() != typeid(Poco::JSON::Object::Ptr))
      return Error{Errc::invalid_argument, "pcr policy: not a JSON object"};
    auto o = v.extract<Poco::JSON::Object::Ptr>();
    if (o->has("Measurements")) o = o->getObject("Measurements");  // nitro-cli build-enclave output
    if (!o) return Error{Errc::invalid_argument, "pcr policy: Measurements is not an object"};
    std::map<std::uint32_t, Bytes> out;
    for (const auto& [key, value] : *o) {
      if (key.rfind("PCR", 0) != 0) continue;  // e.g. HashAlgorithm
      std::uint32_t index = 0;
      try {
        index = static_cast<std::uint32_t>(std::stoul(key.substr(3)));
      } catch (const std::exception&) {
        return Error{Errc::invalid_argument, "pcr policy: bad key '" + key + "'"};
      }
      if (!value.isString()) return Error{Errc::invalid_argument, "pcr policy: " + key + " must be a hex string"};
      auto bytes = from_hex(value.toString());
      if (!bytes) return Error{Errc::invalid_argument, "pcr policy: " + key + " is not hex"};
      out[index] = *bytes;
    }
    if (out.empty()) return Error{Errc::invalid_argument, "pcr policy: no PCRn entries"};
    return out;
  } catch (const Poco::Exception& e) {
    return Error{Errc::invalid_argument, "pcr policy: invalid JSON: " + e.displayText()};
  }
}

}  // namespace notify::attestation
