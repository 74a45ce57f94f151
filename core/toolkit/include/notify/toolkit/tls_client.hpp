#pragma once
// Poco's TLS client plumbing, shared by what speaks HTTPS from inside the enclave over a transport's connection (the
// Braze plugin, the KMS client): adopting an already connected descriptor, and Poco's SSL initialisation, which is
// reference counted and must be paired. In a separate library (notify::toolkit_tls) so that only its users link
// Poco::NetSSL.

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <string>

namespace notify::toolkit {

/// A Poco StreamSocket over a descriptor a transport already connected. Poco owns (and closes) it from here.
class AdoptedSocket final : public Poco::Net::StreamSocket {
 public:
  explicit AdoptedSocket(int fd);
};

/// Initialises Poco's SSL once per process image (the host, or one plugin: each links this statically) with `ctx` as
/// the client context and a handler that refuses — never prompts for — a certificate that fails verification. The
/// matching uninitialisation runs when the image is unloaded or the process exits.
void init_tls_client_once(const Poco::Net::Context::Ptr& ctx);

/// The client context every HTTPS call from here uses: strict verification (chain and host name, depth 9), TLS 1.2
/// at least, strong ciphers only; trusted CAs from `ca_file`, or the system store when it is empty. Runs
/// init_tls_client_once with it. Throws Poco::Exception (e.g. an unreadable CA file).
[[nodiscard]] Poco::Net::Context::Ptr make_tls_client_context(const std::string& ca_file);

}  // namespace notify::toolkit
