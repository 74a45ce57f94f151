#include <notify/toolkit/tls_client.hpp>

#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/StreamSocketImpl.h>

namespace notify::toolkit {
namespace {

// Lives until the image is unloaded, so the pairing holds however many clients were made.
struct SslRuntime {
  explicit SslRuntime(const Poco::Net::Context::Ptr& ctx) {
    Poco::Net::initializeSSL();
    Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(
        new Poco::Net::RejectCertificateHandler(false));  // NOLINT
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, ctx);
  }
  ~SslRuntime() { Poco::Net::uninitializeSSL(); }
  SslRuntime(const SslRuntime&) = delete;
  SslRuntime& operator=(const SslRuntime&) = delete;
};

}  // namespace

// Poco reference-counts socket implementations; the StreamSocket takes the one made here.
AdoptedSocket::AdoptedSocket(int fd) : Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(fd)) {}  // NOLINT

void init_tls_client_once(const Poco::Net::Context::Ptr& ctx) { static SslRuntime runtime(ctx); }

Poco::Net::Context::Ptr make_tls_client_context(const std::string& ca_file) {
  Poco::Net::Context::Params params;
  params.caLocation = ca_file;
  params.loadDefaultCAs = ca_file.empty();
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.verificationDepth = 9;
  params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
  Poco::Net::Context::Ptr ctx =
      new Poco::Net::Context(Poco::Net::Context::CLIENT_USE, params);  // NOLINT: AutoPtr owns it
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  init_tls_client_once(ctx);
  return ctx;
}

}  // namespace notify::toolkit
