#include "parent/callbacks/callback_client.hpp"

#include <notify/toolkit/standard_webhooks.hpp>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>

#include <openssl/crypto.h>

#include <memory>

namespace notify::callbacks {

CallbackClient::CallbackClient(Poco::Net::Context::Ptr tls, std::vector<std::byte> key,
                               std::chrono::milliseconds timeout)
    : tls_(std::move(tls)), key_(std::move(key)), timeout_(timeout) {}

CallbackClient::~CallbackClient() {
  if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
}

Result<int> CallbackClient::post(const CallbackUrl& url, std::string_view id, std::string_view body) const {
  try {
    // A session per event: events go to few receivers, rarely, and a fresh connection never meets one the receiver
    // closed while it sat idle.
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (url.scheme == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(url.host, url.port, tls_);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(url.host, url.port);
    }
    const Poco::Timespan timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout_).count());
    session->setTimeout(timeout, timeout, timeout);
    session->setKeepAlive(false);

    // Signed at send time: Standard Webhooks receivers refuse a timestamp far from their clock (replay protection),
    // so an event retried an hour later carries that hour's timestamp, and the same id.
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, url.target, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    req.set("User-Agent", "enclave-notify-callbacks");
    req.set("webhook-id", std::string(id));
    req.set("webhook-timestamp", std::to_string(now));
    req.set("webhook-signature", toolkit::sign_webhook(key_, id, now, body));
    auto& out = session->sendRequest(req);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();
    Poco::Net::HTTPResponse resp;
    auto& in = session->receiveResponse(resp);
    Poco::NullOutputStream discard;
    Poco::StreamCopier::copyStream(in, discard);
    return static_cast<int>(resp.getStatus());
  } catch (const Poco::Exception& e) {
    return Error{Errc::unreachable, e.displayText()};
  } catch (const std::exception& e) {
    return Error{Errc::io_error, e.what()};
  }
}

}  // namespace notify::callbacks
