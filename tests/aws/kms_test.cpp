// The enclave's KMS client against the fake KMS over real TLS on loopback, with a real attestation document (the
// development attester) binding a real RSA key: Decrypt with a Recipient opens to the plaintext; KMS's refusals
// (key policy PCRs, encryption context, signature, expiry) arrive as typed failures; a lying or broken endpoint is
// refused; TLS is verified before a byte is sent; nothing secret reaches an error or a log line. Then the parent's
// credential sources: env and IMDSv2 against the fake IMDS.
#include "aws/cms_enveloped.hpp"
#include "aws/credential_source.hpp"
#include "aws/kms_client.hpp"
#include "aws/sigv4.hpp"
#include "capturing_log.hpp"
#include "enclave/identity/development_attester.hpp"
#include "fake_imds.hpp"
#include "fake_kms.hpp"
#include "host_process.hpp"
#include "tcp_transport.hpp"
#include "test_pki.hpp"

#include <notify/toolkit/base64.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>

using namespace notify;
using namespace notify::aws;
using namespace std::chrono_literals;
using notify::testing::FakeImds;
using notify::testing::FakeKms;

namespace {

// Distinct, greppable secrets: no error message and no log line may ever contain them.
constexpr const char* kAccessKeyId = "AKIAKMSTESTCLIENT001";
constexpr const char* kSecretKey = "kms-test-SECRET-0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7";
constexpr const char* kSessionToken = "kms-test-TOKEN-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* b = reinterpret_cast<const std::byte*>(s.data());
  return {b, b + s.size()};
}

Credentials credentials(std::string secret = kSecretKey, std::string token = kSessionToken) {
  Credentials c;
  c.access_key_id = kAccessKeyId;
  c.secret_access_key = Secret(secret);
  c.session_token = Secret(token);
  return c;
}

// The enclave's side: an RSA-2048 key and a development attestation document binding its public half.
struct Recipient {
  Pkey key{EVP_RSA_gen(2048)};
  std::vector<std::byte> spki;
  std::vector<std::byte> document;

  Recipient() {
    EXPECT_NE(key, nullptr);
    const int len = i2d_PUBKEY(key.get(), nullptr);
    spki.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(spki.data());
    i2d_PUBKEY(key.get(), &p);
    auto attester = notify::attestation::DevelopmentAttester::create();
    EXPECT_TRUE(attester.ok());
    auto doc = attester.value()->attest(spki, std::nullopt);
    EXPECT_TRUE(doc.ok()) << doc.error().message;
    document = doc.value();
  }
};

const std::map<std::string, std::string> kContext{{"app", "enclave-notify"}, {"secret", "braze.api_key"}};

struct HttpAnswer {
  int status = 0;
  Poco::JSON::Object::Ptr body;  // null when not a JSON object
};

// One KMS call over HTTPS, signed with the same signer (or not signed at all): what the AWS CLI does.
HttpAnswer call_kms(const FakeKms& fake, const std::string& ca_file, const Credentials* creds,
                    const std::string& target, const Poco::JSON::Object& doc) {
  std::ostringstream body;
  doc.stringify(body);
  UnsignedRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "127.0.0.1:" + std::to_string(fake.port())},
               {"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", target}};
  r.body = body.str();
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, "/", Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : r.headers) req.set(k, v);
  if (creds != nullptr) {
    SigningParams params;
    params.region = fake.region();
    params.service = "kms";
    params.time = std::chrono::system_clock::now();
    auto signed_request = sign_with_header(r, *creds, params);
    EXPECT_TRUE(signed_request.ok());
    for (const auto& [k, v] : signed_request->added_headers) req.set(k, v);
  }
  Poco::Net::Context::Params cp;
  cp.caLocation = ca_file;
  cp.loadDefaultCAs = false;
  cp.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  Poco::Net::Context::Ptr tls = new Poco::Net::Context(Poco::Net::Context::CLIENT_USE, cp);  // NOLINT
  Poco::Net::HTTPSClientSession session("127.0.0.1", fake.port(), tls);
  req.setContentLength(static_cast<std::streamsize>(r.body.size()));
  session.sendRequest(req) << r.body;
  Poco::Net::HTTPResponse resp;
  std::string answer;
  Poco::StreamCopier::copyToString(session.receiveResponse(resp), answer);
  HttpAnswer out;
  out.status = static_cast<int>(resp.getStatus());
  try {
    auto v = Poco::JSON::Parser().parse(answer);
    if (v.type() == typeid(Poco::JSON::Object::Ptr)) out.body = v.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
  }
  return out;
}

Poco::JSON::Object::Ptr json_object(const std::map<std::string, std::string>& fields) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object();  // NOLINT: Poco's SharedPtr
  for (const auto& [k, v] : fields) o->set(k, v);
  return o;
}

std::vector<std::byte> encrypt_over_https(const FakeKms& fake, const std::string& ca_file, const Credentials& creds,
                                          const std::string& key_id, std::string_view plaintext,
                                          const std::map<std::string, std::string>& context) {
  Poco::JSON::Object doc;
  doc.set("KeyId", key_id);
  doc.set("Plaintext", notify::toolkit::base64_encode(bytes_of(plaintext)));
  doc.set("EncryptionContext", json_object(context));
  auto a = call_kms(fake, ca_file, &creds, "TrentService.Encrypt", doc);
  EXPECT_EQ(a.status, 200);
  if (a.status != 200 || !a.body) return {};
  EXPECT_EQ(a.body->getValue<std::string>("KeyId"), fake.key_arn());
  return notify::toolkit::base64_decode(a.body->getValue<std::string>("CiphertextBlob")).value();
}

class KmsClientTest : public ::testing::Test {
 protected:
  notify::testing::TempDir dir;
  notify::testing::TestPki pki = notify::testing::make_test_pki(dir.path());
  std::shared_ptr<Transport> tcp = std::make_shared<notify::tcp::TcpTransport>();
  notify::testing::CapturingLog log{LogLevel::trace};
  std::unique_ptr<FakeKms> fake;
  Recipient recipient;
  std::vector<std::string> errors_seen;

  void SetUp() override { start(pki.server_cert, pki.server_key); }

  void TearDown() override {
    // Whatever each test did, neither secret reached an error message or the client's log.
    for (const auto& e : errors_seen) {
      EXPECT_EQ(e.find(kSecretKey), std::string::npos) << e;
      EXPECT_EQ(e.find(kSessionToken), std::string::npos) << e;
    }
    EXPECT_FALSE(log.contains(kSecretKey));
    EXPECT_FALSE(log.contains(kSessionToken));
  }

  void start(const std::filesystem::path& cert, const std::filesystem::path& key) {
    FakeKms::Options o;
    o.cert_file = cert;
    o.key_file = key;
    o.principals = {FakeKms::Principal{kAccessKeyId, kSecretKey, kSessionToken, false}};
    fake.reset();
    fake = std::make_unique<FakeKms>(o);
  }

  KmsOptions options(std::string key_id = "") const {
    KmsOptions o;
    o.region = "us-east-1";
    o.key_id = key_id.empty() ? fake->key_arn() : key_id;
    o.endpoint = fake->url();
    o.ca_file = pki.ca_cert.string();
    o.request_timeout = 10s;
    return o;
  }

  std::vector<std::byte> blob(std::string_view plaintext = "braze-api-key-for-kms-test",
                              const std::map<std::string, std::string>& context = kContext) {
    return fake->encrypt(FakeKms::kDefaultKeyId, bytes_of(plaintext), context);
  }

  DecryptForRecipientRequest request(std::vector<std::byte> ciphertext,
                                     const std::map<std::string, std::string>& context = kContext) const {
    return {std::move(ciphertext), context, recipient.document};
  }

  Result<DecryptForRecipientResponse> decrypt(
      KmsClient& client, const DecryptForRecipientRequest& req, const Credentials& creds, KmsFailure* failure = nullptr,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    auto r = client.decrypt_for_recipient(req, creds, now, failure);
    if (!r) errors_seen.push_back(r.error().message);
    return r;
  }

  // A refusal KMS made: the type in the failure, the message starting with it, and Errc::refused.
  void expect_kms_refusal(const Result<DecryptForRecipientResponse>& r, const KmsFailure& f, const std::string& type) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::refused) << r.error().message;
    EXPECT_EQ(f.type, type);
    EXPECT_EQ(f.http_status, 400);
    EXPECT_EQ(r.error().message.rfind(type + ":", 0), 0u) << r.error().message;
  }
};

// ---- the happy path -------------------------------------------------------------------------------------------------

TEST_F(KmsClientTest, DecryptWithRecipientOpensToThePlaintextOnlyWithTheEnclaveKey) {
  const std::string secret = "braze-REST-key-5b1d0c9e";
  const auto ciphertext =
      encrypt_over_https(*fake, pki.ca_cert.string(), credentials(), fake->key_arn(), secret, kContext);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(ciphertext), credentials());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key_arn, fake->key_arn());
  // What came back is CMS for the enclave's key, not the secret itself.
  const std::string wire(reinterpret_cast<const char*>(r->ciphertext_for_recipient.data()),
                         r->ciphertext_for_recipient.size());
  EXPECT_EQ(wire.find(secret), std::string::npos);
  auto opened = open_ciphertext_for_recipient(r->ciphertext_for_recipient, recipient.key.get());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->reveal(), secret);

  // Another RSA key (another enclave) cannot open it.
  Pkey other(EVP_RSA_gen(2048));
  EXPECT_FALSE(open_ciphertext_for_recipient(r->ciphertext_for_recipient, other.get()).ok());

  EXPECT_EQ(fake->calls("Encrypt"), 1);
  EXPECT_EQ(fake->calls("Decrypt"), 1);
  const auto recorded = fake->requests();
  ASSERT_EQ(recorded.size(), 2u);
  const auto& d = recorded[1];
  EXPECT_EQ(d.operation, "Decrypt");
  EXPECT_TRUE(d.signature_valid);
  EXPECT_TRUE(d.had_security_token);
  EXPECT_TRUE(d.had_recipient);
  EXPECT_EQ(d.key_id, fake->key_arn());
  EXPECT_EQ(d.encryption_context, kContext);
  EXPECT_EQ(d.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(d.host, "127.0.0.1:" + std::to_string(fake->port()));
  EXPECT_EQ(d.status, 200);
}

TEST_F(KmsClientTest, PinningTheBareKeyIdAcceptsTheKeyArnInTheAnswer) {
  KmsClient client(tcp, options(std::string(FakeKms::kDefaultKeyId)), log);
  auto r = decrypt(client, request(blob("x")), credentials());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key_arn, fake->key_arn());
  EXPECT_EQ(fake->requests().back().key_id, FakeKms::kDefaultKeyId);
}

TEST_F(KmsClientTest, MatchingPcrPolicyDecrypts) {
  // The development attester reports zeros for PCR0/1/2/8, as a debug-mode enclave does.
  const std::vector<std::byte> zeros(48);
  fake->set_recipient_pcrs(FakeKms::kDefaultKeyId, {{0, zeros}, {1, zeros}, {2, zeros}});
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_TRUE(r.ok()) << r.error().message;
}

// ---- KMS refusals
// ----------------------------------------------------------------------------------------------------

TEST_F(KmsClientTest, PcrPolicyMismatchIsAccessDenied) {
  fake->set_recipient_pcrs(FakeKms::kDefaultKeyId, {{0, std::vector<std::byte>(48, std::byte{0x11})}});
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f);
  expect_kms_refusal(r, f, "AccessDeniedException");
  EXPECT_NE(f.message.find("kms:Decrypt"), std::string::npos) << f.message;
  EXPECT_NE(r.error().message.find(fake->url()), std::string::npos) << r.error().message;
}

TEST_F(KmsClientTest, KeyPolicyWithoutDecryptIsAccessDenied) {
  fake->set_allow_decrypt(FakeKms::kDefaultKeyId, false);
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f);
  expect_kms_refusal(r, f, "AccessDeniedException");
}

TEST_F(KmsClientTest, WrongEncryptionContextIsInvalidCiphertext) {
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto other = kContext;
  other["app"] = "someone-else";
  auto r = decrypt(client, request(blob(), other), credentials(), &f);
  expect_kms_refusal(r, f, "InvalidCiphertextException");

  // A missing pair is a different context too.
  KmsFailure f2;
  auto r2 = decrypt(client, request(blob(), {{"app", "enclave-notify"}}), credentials(), &f2);
  expect_kms_refusal(r2, f2, "InvalidCiphertextException");
}

TEST_F(KmsClientTest, CorruptedBlobIsInvalidCiphertext) {
  auto ciphertext = blob();
  ciphertext.back() ^= std::byte{1};
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(ciphertext), credentials(), &f);
  expect_kms_refusal(r, f, "InvalidCiphertextException");
}

TEST_F(KmsClientTest, WrongSecretKeyIsInvalidSignature) {
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials("not-the-right-secret-key-000000000000000"), &f);
  expect_kms_refusal(r, f, "InvalidSignatureException");
  EXPECT_NE(f.message.find("signature we calculated does not match"), std::string::npos) << f.message;
  EXPECT_FALSE(fake->requests().back().signature_valid);
}

TEST_F(KmsClientTest, StaleSignatureDateIsRefusedAsExpired) {
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f, std::chrono::system_clock::now() - 10min);
  expect_kms_refusal(r, f, "InvalidSignatureException");
  EXPECT_EQ(f.message.rfind("Signature expired", 0), 0u) << f.message;
}

TEST_F(KmsClientTest, ExpiredCredentialsAreExpiredToken) {
  fake->set_credentials_expired(kAccessKeyId, true);
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f);
  expect_kms_refusal(r, f, "ExpiredTokenException");
}

TEST_F(KmsClientTest, UnknownAccessKeyOrWrongSessionTokenIsUnrecognizedClient) {
  KmsClient client(tcp, options(), log);
  auto stranger = credentials();
  stranger.access_key_id = "AKIAUNKNOWNKEY000000";
  KmsFailure f;
  auto r = decrypt(client, request(blob()), stranger, &f);
  expect_kms_refusal(r, f, "UnrecognizedClientException");

  KmsFailure f2;
  auto r2 = decrypt(client, request(blob()), credentials(kSecretKey, "another-session-token"), &f2);
  expect_kms_refusal(r2, f2, "UnrecognizedClientException");
}

TEST_F(KmsClientTest, PinnedKeyThatDidNotEncryptTheBlobIsIncorrectKey) {
  FakeKms::Options o = FakeKms::Options::over_tls(pki);
  const std::string second = "0987dcba-09fe-87dc-65ba-ab0987654321";
  o.keys.push_back(FakeKms::Key{second, true, true, {}});
  o.principals = {FakeKms::Principal{kAccessKeyId, kSecretKey, kSessionToken, false}};
  fake = std::make_unique<FakeKms>(o);
  KmsClient client(tcp, options(fake->key_arn(second)), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f);
  expect_kms_refusal(r, f, "IncorrectKeyException");
}

// ---- a lying or broken endpoint
// ---------------------------------------------------------------------------------------

TEST_F(KmsClientTest, AnswerNamingAnotherKeyIsRefused) {
  FakeKms::Injection lie;
  lie.answer_key_id = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321";
  fake->inject(lie);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  EXPECT_NE(r.error().message.find("not the pinned key"), std::string::npos) << r.error().message;
  EXPECT_EQ(fake->requests().back().status, 200);  // the fake did answer; the client refused what it said
}

TEST_F(KmsClientTest, PlaintextBesideCiphertextForRecipientIsRefused) {
  FakeKms::Injection leak;
  leak.add_plaintext = true;
  fake->inject(leak);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  EXPECT_NE(r.error().message.find("Plaintext"), std::string::npos) << r.error().message;
}

TEST_F(KmsClientTest, NonJson500IsAProtocolErrorNamingTheEndpoint) {
  FakeKms::Injection broken;
  broken.status = 500;
  broken.body = "<html><body>Internal Server Error</body></html>";
  broken.content_type = "text/html";
  fake->inject(broken);
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  EXPECT_NE(r.error().message.find(fake->url()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("500"), std::string::npos) << r.error().message;
  EXPECT_TRUE(f.type.empty());
}

TEST_F(KmsClientTest, QualifiedErrorTypeIsStrippedAndServerErrorsAreNotRefusals) {
  FakeKms::Injection internal;
  internal.status = 500;
  internal.body = R"({"__type":"com.amazonaws.kms#KMSInternalException","Message":"We encountered an error"})";
  fake->inject(internal);
  KmsClient client(tcp, options(), log);
  KmsFailure f;
  auto r = decrypt(client, request(blob()), credentials(), &f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(f.type, "KMSInternalException");
  EXPECT_EQ(f.message, "We encountered an error");
  EXPECT_EQ(f.http_status, 500);
  EXPECT_EQ(r.error().code, Errc::io_error);
  EXPECT_EQ(r.error().message.rfind("KMSInternalException: We encountered an error", 0), 0u) << r.error().message;
}

TEST_F(KmsClientTest, OversizedAnswerIsRefusedWithoutReadingItAll) {
  FakeKms::Injection huge;
  huge.status = 200;
  huge.body = R"({"KeyId":")" + std::string(200 * 1024, 'a') + R"("})";
  fake->inject(huge);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  EXPECT_NE(r.error().message.find("65536"), std::string::npos) << r.error().message;
}

TEST_F(KmsClientTest, OversizedChunkedAnswerIsRefusedAtTheLimit) {
  FakeKms::Injection huge;
  huge.status = 200;
  huge.chunked = true;
  huge.body = R"({"KeyId":")" + std::string(200 * 1024, 'a') + R"("})";
  fake->inject(huge);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error);
  EXPECT_NE(r.error().message.find("65536"), std::string::npos) << r.error().message;
}

TEST_F(KmsClientTest, TruncatedAnswerIsAProtocolError) {
  FakeKms::Injection cut;
  cut.truncate = true;
  fake->inject(cut);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::protocol_error) << r.error().message;
}

TEST_F(KmsClientTest, StalledEndpointTimesOutWithinTheRequestTimeout) {
  FakeKms::Injection stall;
  stall.stall = true;
  fake->inject(stall);
  auto o = options();
  o.request_timeout = 300ms;
  KmsClient client(tcp, o, log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timed_out) << r.error().message;
}

// ---- TLS ------------------------------------------------------------------------------------------------------------

TEST_F(KmsClientTest, UntrustedCertificateIsRefusedBeforeAnythingIsSent) {
  start(pki.rogue_cert, pki.rogue_key);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::refused);
  EXPECT_NE(r.error().message.find("TLS"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fake->requests().empty());
  EXPECT_EQ(fake->calls("Decrypt"), 0);
}

TEST_F(KmsClientTest, CertificateForAnotherHostIsRefusedBeforeAnythingIsSent) {
  start(pki.wrong_host_cert, pki.wrong_host_key);
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::refused);
  EXPECT_NE(r.error().message.find("TLS"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fake->requests().empty());
}

TEST_F(KmsClientTest, MissingCaFileIsAConfigurationError) {
  auto o = options();
  o.ca_file = (dir.path() / "no-such-ca.pem").string();
  KmsClient client(tcp, o, log);
  auto r = decrypt(client, request(blob()), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(fake->calls("Decrypt"), 0);
}

// ---- requests the client refuses to make
// -----------------------------------------------------------------------------

TEST_F(KmsClientTest, OversizedOrEmptyInputsAreRefusedLocally) {
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(std::vector<std::byte>(kMaxKmsCiphertextBlobBytes + 1)), credentials());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  auto no_document = request(blob());
  no_document.attestation_document.clear();
  auto r2 = decrypt(client, no_document, credentials());
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, Errc::invalid_argument);
  EXPECT_EQ(fake->calls("Decrypt"), 0);
}

// ---- the fake's own contract, as the AWS CLI would see it
// ------------------------------------------------------------

TEST_F(KmsClientTest, FakeDecryptWithoutRecipientAnswersPlaintextUnlessThePolicyNeedsAttestation) {
  const auto creds = credentials();
  Poco::JSON::Object doc;
  doc.set("CiphertextBlob", notify::toolkit::base64_encode(blob("plain-answer")));
  doc.set("EncryptionContext", json_object(kContext));
  auto a = call_kms(*fake, pki.ca_cert.string(), &creds, "TrentService.Decrypt", doc);
  ASSERT_EQ(a.status, 200);
  ASSERT_TRUE(a.body);
  EXPECT_EQ(a.body->getValue<std::string>("KeyId"), fake->key_arn());
  EXPECT_EQ(notify::toolkit::base64_decode(a.body->getValue<std::string>("Plaintext")), bytes_of("plain-answer"));
  EXPECT_FALSE(a.body->has("CiphertextForRecipient"));

  // With kms:RecipientAttestation conditions, a call without a Recipient has no attestation to satisfy them.
  fake->set_recipient_pcrs(FakeKms::kDefaultKeyId, {{0, std::vector<std::byte>(48)}});
  auto denied = call_kms(*fake, pki.ca_cert.string(), &creds, "TrentService.Decrypt", doc);
  EXPECT_EQ(denied.status, 400);
  ASSERT_TRUE(denied.body);
  EXPECT_EQ(denied.body->getValue<std::string>("__type"), "AccessDeniedException");
}

TEST_F(KmsClientTest, FakeRefusesUnsignedCallsUnknownOperationsAndAliases) {
  Poco::JSON::Object doc;
  doc.set("KeyId", "alias/does-not-exist");
  doc.set("Plaintext", notify::toolkit::base64_encode(bytes_of("x")));
  auto unsigned_call = call_kms(*fake, pki.ca_cert.string(), nullptr, "TrentService.Encrypt", doc);
  EXPECT_EQ(unsigned_call.status, 400);
  ASSERT_TRUE(unsigned_call.body);
  EXPECT_EQ(unsigned_call.body->getValue<std::string>("__type"), "MissingAuthenticationTokenException");

  const auto creds = credentials();
  auto alias = call_kms(*fake, pki.ca_cert.string(), &creds, "TrentService.Encrypt", doc);
  EXPECT_EQ(alias.status, 400);
  ASSERT_TRUE(alias.body);
  EXPECT_EQ(alias.body->getValue<std::string>("__type"), "NotFoundException");

  auto unknown = call_kms(*fake, pki.ca_cert.string(), &creds, "TrentService.ScheduleKeyDeletion", doc);
  EXPECT_EQ(unknown.status, 400);
  ASSERT_TRUE(unknown.body);
  EXPECT_EQ(unknown.body->getValue<std::string>("__type"), "UnknownOperationException");
  EXPECT_EQ(fake->calls("Encrypt"), 2);
  EXPECT_EQ(fake->calls("ScheduleKeyDeletion"), 1);
}

// ---- config checks (pure)
// --------------------------------------------------------------------------------------------

TEST(KmsOptionsValidation, KeyIdRegionAndEndpoint) {
  KmsOptions o;
  o.region = "us-east-1";
  o.key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  EXPECT_TRUE(validate_kms_options(o).ok());
  o.key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  EXPECT_TRUE(validate_kms_options(o).ok());
  o.key_id = "mrk-1234abcd12ab34cd56ef1234567890ab";
  EXPECT_TRUE(validate_kms_options(o).ok());

  o.key_id = "alias/notify";
  auto s = validate_kms_options(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("key_id"), std::string::npos);
  EXPECT_NE(s.message().find("alias"), std::string::npos);
  o.key_id = "arn:aws:kms:us-east-1:111122223333:alias/notify";
  EXPECT_FALSE(validate_kms_options(o).ok());
  o.key_id = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  s = validate_kms_options(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("eu-west-1"), std::string::npos);
  o.key_id = "not-a-key";
  EXPECT_FALSE(validate_kms_options(o).ok());

  o.key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  o.region = "";
  EXPECT_NE(validate_kms_options(o).message().find("region"), std::string::npos);
  o.region = "us-east-1";
  o.endpoint = "http://kms.us-east-1.amazonaws.com";
  EXPECT_NE(validate_kms_options(o).message().find("endpoint"), std::string::npos);
  o.endpoint = "https://kms.us-east-1.amazonaws.com/path";
  EXPECT_FALSE(validate_kms_options(o).ok());
  o.endpoint = "https://127.0.0.1:8443";
  EXPECT_TRUE(validate_kms_options(o).ok());
}

TEST(KmsKeyMatches, ArnOrIdButNeverAnotherKey) {
  const std::string arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  EXPECT_TRUE(kms_key_matches(arn, arn));
  EXPECT_TRUE(kms_key_matches("1234abcd-12ab-34cd-56ef-1234567890ab", arn));
  EXPECT_FALSE(kms_key_matches("0987dcba-09fe-87dc-65ba-ab0987654321", arn));
  EXPECT_FALSE(kms_key_matches(arn, "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(kms_key_matches(arn, "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(kms_key_matches("alias/notify", "arn:aws:kms:us-east-1:111122223333:alias/notify"));
  EXPECT_FALSE(kms_key_matches("1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(kms_key_matches("", arn));
}

// ---- credential sources
// ----------------------------------------------------------------------------------------------

// Sets or unsets an environment variable for the scope of a test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST(EnvCredentials, ReadsTheThreeVariablesAtEachFetch) {
  ScopedEnv id("AWS_ACCESS_KEY_ID", "AKIAENVTEST000000001");
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", kSecretKey);
  ScopedEnv token("AWS_SESSION_TOKEN", kSessionToken);
  auto source = make_env_credential_source();
  EXPECT_EQ(source->describe(), "env");
  auto c = source->fetch();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIAENVTEST000000001");
  EXPECT_EQ(c->secret_access_key.reveal(), kSecretKey);
  EXPECT_EQ(c->session_token.reveal(), kSessionToken);
  EXPECT_FALSE(c->expiration.has_value());

  ScopedEnv no_token("AWS_SESSION_TOKEN", nullptr);
  auto long_term = source->fetch();
  ASSERT_TRUE(long_term.ok());
  EXPECT_TRUE(long_term->session_token.empty());
}

TEST(EnvCredentials, MissingVariableIsNamedWithoutAnyValue) {
  ScopedEnv id("AWS_ACCESS_KEY_ID", "AKIAENVTEST000000001");
  ScopedEnv secret("AWS_SECRET_ACCESS_KEY", nullptr);
  ScopedEnv token("AWS_SESSION_TOKEN", kSessionToken);
  auto c = make_env_credential_source()->fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::not_found);
  EXPECT_NE(c.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_EQ(c.error().message.find("AKIAENVTEST"), std::string::npos);
  EXPECT_EQ(c.error().message.find(kSessionToken), std::string::npos);

  ScopedEnv no_id("AWS_ACCESS_KEY_ID", nullptr);
  ScopedEnv secret_back("AWS_SECRET_ACCESS_KEY", kSecretKey);
  auto c2 = make_env_credential_source()->fetch();
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

FakeImds::ServedCredentials served(std::string id, std::string expiration = "2031-02-03T04:05:06Z") {
  FakeImds::ServedCredentials s;
  s.access_key_id = std::move(id);
  s.secret_access_key = kSecretKey;
  s.token = kSessionToken;
  s.expiration = std::move(expiration);
  return s;
}

ImdsOptions imds_options(const FakeImds& imds, std::string role = "") {
  ImdsOptions o;
  o.endpoint = imds.url();
  o.role = std::move(role);
  o.timeout = 5s;
  return o;
}

TEST(ImdsCredentials, TokenFlowRoleDiscoveryAndExpiration) {
  FakeImds::Options fo;
  fo.role = "notify-parent";
  fo.credentials = served("ASIAIMDSTEST00000001");
  FakeImds imds(fo);
  auto source = make_imds_credential_source(imds_options(imds));
  EXPECT_EQ(source->describe(), "imds " + imds.url());
  auto c = source->fetch();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAIMDSTEST00000001");
  EXPECT_EQ(c->secret_access_key.reveal(), kSecretKey);
  EXPECT_EQ(c->session_token.reveal(), kSessionToken);
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_EQ(amz_date(*c->expiration), "20310203T040506Z");

  const auto counts = imds.counts();
  EXPECT_EQ(counts.token_puts, 1);
  EXPECT_EQ(counts.role_listings, 1);
  EXPECT_EQ(counts.credential_gets, 1);
  EXPECT_EQ(counts.unauthorized, 0);
  const auto recorded = imds.requests();
  ASSERT_EQ(recorded.size(), 3u);
  EXPECT_EQ(recorded[0].method, "PUT");
  EXPECT_EQ(recorded[0].path, "/latest/api/token");
  EXPECT_EQ(recorded[1].path, "/latest/meta-data/iam/security-credentials/");
  EXPECT_TRUE(recorded[1].had_token);
  EXPECT_EQ(recorded[2].path, "/latest/meta-data/iam/security-credentials/notify-parent");
  EXPECT_TRUE(recorded[2].had_token);
}

TEST(ImdsCredentials, ConfiguredRoleSkipsTheListingAndRotationIsSeen) {
  FakeImds::Options fo;
  fo.role = "notify-parent";
  fo.credentials = served("ASIAIMDSROTATEA00001", "2030-01-01T00:00:00+02:00");
  FakeImds imds(fo);
  auto source = make_imds_credential_source(imds_options(imds, "notify-parent"));
  auto a = source->fetch();
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->access_key_id, "ASIAIMDSROTATEA00001");
  EXPECT_EQ(amz_date(*a->expiration), "20291231T220000Z");  // the offset is applied

  imds.set_credentials(served("ASIAIMDSROTATEB00002", "2030-06-01T12:00:00.123Z"));
  auto b = source->fetch();
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->access_key_id, "ASIAIMDSROTATEB00002");
  EXPECT_EQ(amz_date(*b->expiration), "20300601T120000Z");
  EXPECT_EQ(imds.counts().role_listings, 0);
  EXPECT_EQ(imds.counts().token_puts, 2);
}

TEST(ImdsCredentials, GetWithoutTokenIsUnauthorized) {
  FakeImds imds;
  Poco::Net::HTTPClientSession session("127.0.0.1", imds.port());
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/latest/meta-data/iam/security-credentials/",
                             Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(resp), body);
  EXPECT_EQ(resp.getStatus(), Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
  EXPECT_EQ(imds.counts().unauthorized, 1);
}

TEST(ImdsCredentials, TokenRefusedOrEmptyIsAnError) {
  FakeImds imds;
  auto source = make_imds_credential_source(imds_options(imds));
  imds.fail_token_requests(403);
  auto refused = source->fetch();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::refused);
  EXPECT_NE(refused.error().message.find("/latest/api/token"), std::string::npos) << refused.error().message;

  imds.fail_token_requests(200);  // 200 with an empty body: no token
  auto empty = source->fetch();
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::protocol_error);
  EXPECT_NE(empty.error().message.find("token"), std::string::npos) << empty.error().message;
  EXPECT_EQ(imds.counts().credential_gets, 0);
}

TEST(ImdsCredentials, NonSuccessCodeOrBadExpirationIsAnErrorWithoutValues) {
  FakeImds::Options fo;
  fo.credentials = served("ASIAIMDSFAILURE00001");
  fo.credentials.code = "Failure";
  FakeImds imds(fo);
  auto source = make_imds_credential_source(imds_options(imds));
  auto failed = source->fetch();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("Success"), std::string::npos) << failed.error().message;

  imds.set_credentials(served("ASIAIMDSBADEXPIRY001", "next tuesday"));
  auto bad = source->fetch();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::protocol_error);
  EXPECT_NE(bad.error().message.find("Expiration"), std::string::npos) << bad.error().message;

  for (const auto* e : {&failed.error().message, &bad.error().message}) {
    EXPECT_EQ(e->find(kSecretKey), std::string::npos) << *e;
    EXPECT_EQ(e->find(kSessionToken), std::string::npos) << *e;
    EXPECT_EQ(e->find("ASIAIMDS"), std::string::npos) << *e;
  }
}

TEST(ImdsCredentials, UnknownRoleIsNotFound) {
  FakeImds imds;
  auto r = make_imds_credential_source(imds_options(imds, "some-other-role"))->fetch();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  auto bad_role = make_imds_credential_source(imds_options(imds, "../../user-data"))->fetch();
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().code, Errc::invalid_argument);
}

// The whole parent-to-enclave path: IMDS credentials (with a session token) sign a Decrypt that the fake KMS accepts.
TEST_F(KmsClientTest, ImdsCredentialsSignAnAcceptedDecrypt) {
  FakeImds::Options fo;
  fo.credentials = served(kAccessKeyId);
  FakeImds imds(fo);
  auto c = make_imds_credential_source(imds_options(imds))->fetch();
  ASSERT_TRUE(c.ok()) << c.error().message;
  KmsClient client(tcp, options(), log);
  auto r = decrypt(client, request(blob("via-imds")), c.value());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto opened = open_ciphertext_for_recipient(r->ciphertext_for_recipient, recipient.key.get());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->reveal(), "via-imds");
}

}  // namespace
