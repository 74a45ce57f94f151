#include "test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace notify::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

Key make_key() {
  Key k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, const char* san, bool is_ca,
               long serial) {
  Cert c(X509_new());
  check(c != nullptr, "X509_new");
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 7L * 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* iss = issuer ? issuer : c.get();
  if (is_ca) {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "CA:FALSE");
    add_ext(c.get(), iss, NID_ext_key_usage, "serverAuth");
    add_ext(c.get(), iss, NID_subject_alt_name, san);
  }
  check(X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return c;
}

void write_cert(const std::filesystem::path& p, X509* c) {
  std::unique_ptr<std::FILE, FileClose> f(std::fopen(p.c_str(), "w"));
  check(f != nullptr, "open cert file");
  check(PEM_write_X509(f.get(), c) == 1, "PEM_write_X509");
}

void write_key(const std::filesystem::path& p, EVP_PKEY* k) {
  std::unique_ptr<std::FILE, FileClose> f(std::fopen(p.c_str(), "w"));
  check(f != nullptr, "open key file");
  check(PEM_write_PrivateKey(f.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM_write_PrivateKey");
}

}  // namespace

TestPki make_test_pki(const std::filesystem::path& dir) {
  TestPki pki;
  auto ca_key = make_key();
  auto ca = make_cert(ca_key.get(), "Enclave Notify Test CA", nullptr, nullptr, nullptr, true, 1);
  auto server_key = make_key();
  auto server =
      make_cert(server_key.get(), "127.0.0.1", ca.get(), ca_key.get(), "IP:127.0.0.1,DNS:localhost", false, 2);
  auto wrong_key = make_key();
  auto wrong = make_cert(wrong_key.get(), "wrong.example", ca.get(), ca_key.get(), "DNS:wrong.example", false, 3);
  auto rogue_ca_key = make_key();
  auto rogue_ca = make_cert(rogue_ca_key.get(), "Rogue CA", nullptr, nullptr, nullptr, true, 4);
  auto rogue_key = make_key();
  auto rogue = make_cert(rogue_key.get(), "127.0.0.1", rogue_ca.get(), rogue_ca_key.get(), "IP:127.0.0.1,DNS:localhost",
                         false, 5);

  pki.ca_cert = dir / "ca.pem";
  pki.server_cert = dir / "server.pem";
  pki.server_key = dir / "server.key";
  pki.wrong_host_cert = dir / "wrong-host.pem";
  pki.wrong_host_key = dir / "wrong-host.key";
  pki.rogue_ca_cert = dir / "rogue-ca.pem";
  pki.rogue_cert = dir / "rogue.pem";
  pki.rogue_key = dir / "rogue.key";
  write_cert(pki.ca_cert, ca.get());
  write_cert(pki.server_cert, server.get());
  write_key(pki.server_key, server_key.get());
  write_cert(pki.wrong_host_cert, wrong.get());
  write_key(pki.wrong_host_key, wrong_key.get());
  write_cert(pki.rogue_ca_cert, rogue_ca.get());
  write_cert(pki.rogue_cert, rogue.get());
  write_key(pki.rogue_key, rogue_key.get());
  return pki;
}

}  // namespace notify::testing
