#include "enclave/identity/development_attester.hpp"

#include "attestation/cbor_item.hpp"
#include "attestation/verifier.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace notify::attestation {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const noexcept { X509_free(c); }
};
struct MdFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Bytes der_of(X509* c) {
  unsigned char* buf = nullptr;
  const int len = i2d_X509(c, &buf);
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(buf, [](unsigned char* p) { OPENSSL_free(p); });
  Bytes out(len > 0 ? static_cast<std::size_t>(len) : 0);
  if (len > 0) std::memcpy(out.data(), buf, out.size());
  return out;
}

Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca, long serial) {
  Cert c(X509_new());
  if (!c) return nullptr;
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 30L * 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Enclave Notify"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  X509_add_ext(c.get(), bc, -1);
  X509_EXTENSION_free(bc);
  X509_EXTENSION* ku = X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage,
                                           ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  X509_add_ext(c.get(), ku, -1);
  X509_EXTENSION_free(ku);
  if (X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha384()) <= 0) return nullptr;
  return c;
}

cbor_item_t* bytes_item(std::span<const std::byte> b) {
  static const unsigned char kNothing = 0;
  return cbor_build_bytestring(b.empty() ? &kNothing : reinterpret_cast<const unsigned char*>(b.data()), b.size());
}

}  // namespace

Result<std::unique_ptr<DevelopmentAttester>> DevelopmentAttester::create() {
  auto a = std::make_unique<DevelopmentAttester>(Token{});
  Key root_key(EVP_EC_gen("P-384"));
  Key leaf_key(EVP_EC_gen("P-384"));
  if (!root_key || !leaf_key) return Error{Errc::internal, "development attester: key generation failed"};
  const std::string marker(kDevelopmentMarker);
  auto root = make_cert(root_key.get(), "enclave-notify " + marker + " (root)", nullptr, nullptr, true, 1);
  auto leaf =
      root ? make_cert(leaf_key.get(), "enclave-notify " + marker, root.get(), root_key.get(), false, 2) : nullptr;
  if (!root || !leaf) return Error{Errc::internal, "development attester: certificate creation failed"};
  a->root_der_ = der_of(root.get());
  a->leaf_der_ = der_of(leaf.get());
  a->leaf_key_.reset(leaf_key.release());
  return a;
}

Result<Bytes> DevelopmentAttester::attest(std::span<const std::byte> public_key,
                                          std::optional<std::span<const std::byte>> nonce) {
  if (public_key.size() > 1024 || (nonce && nonce->size() > 1024)) {
    return Error{Errc::invalid_argument, "attest: public_key and nonce are limited to 1024 bytes"};
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  CborItem payload(cbor_new_definite_map(9));
  auto add = [&](const char* key, cbor_item_t* value) {
    cbor_map_add(payload.get(), {cbor_move(cbor_build_string(key)), cbor_move(value)});
  };
  add("module_id", cbor_build_string("enclave-notify-development"));
  add("digest", cbor_build_string("SHA384"));
  add("timestamp", cbor_build_uint64(static_cast<std::uint64_t>(now)));
  cbor_item_t* pcrs = cbor_new_definite_map(4);
  const Bytes zero(48, std::byte{0});  // no measured image here: zeros, like a debug-mode enclave
  for (std::uint8_t i : {0, 1, 2, 8}) cbor_map_add(pcrs, {cbor_move(cbor_build_uint8(i)), cbor_move(bytes_item(zero))});
  add("pcrs", pcrs);
  add("certificate", bytes_item(leaf_der_));
  cbor_item_t* bundle = cbor_new_definite_array(1);
  cbor_array_push(bundle, cbor_move(bytes_item(root_der_)));
  add("cabundle", bundle);
  add("public_key", bytes_item(public_key));
  add("user_data", cbor_new_null());
  add("nonce", nonce ? bytes_item(*nonce) : cbor_new_null());

  CoseSign1 cose;
  CborItem header(cbor_new_definite_map(1));
  cbor_map_add(header.get(), {cbor_move(cbor_build_uint8(1)), cbor_move(cbor_build_negint8(34))});  // alg: -35 ES384
  cose.protected_header = cbor_encode(header.get());
  cose.payload = cbor_encode(payload.get());
  const Bytes tbs = sig_structure(cose);

  std::unique_ptr<EVP_MD_CTX, MdFree> md(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha384(), nullptr, leaf_key_.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) !=
          1) {
    return Error{Errc::internal, "development attester: signing failed"};
  }
  std::vector<unsigned char> der(der_len);
  if (EVP_DigestSign(md.get(), der.data(), &der_len, reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size()) !=
      1) {
    return Error{Errc::internal, "development attester: signing failed"};
  }
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return Error{Errc::internal, "development attester: bad signature encoding"};
  Bytes raw(96);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);

  CborItem envelope(cbor_new_definite_array(4));
  cbor_array_push(envelope.get(), cbor_move(bytes_item(cose.protected_header)));
  cbor_array_push(envelope.get(), cbor_move(cbor_new_definite_map(0)));
  cbor_array_push(envelope.get(), cbor_move(bytes_item(cose.payload)));
  cbor_array_push(envelope.get(), cbor_move(bytes_item(raw)));
  return cbor_encode(envelope.get());
}

}  // namespace notify::attestation
