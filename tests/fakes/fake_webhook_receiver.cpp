#include "fake_webhook_receiver.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdlib>
#include <stdexcept>

namespace notify::testing {
namespace {

std::vector<unsigned char> decode_base64(const std::string& text) {
  std::vector<unsigned char> out(text.size());
  const int n =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || text.size() % 4 != 0) throw std::invalid_argument("FakeWebhookReceiver: secret is not base64");
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding's zero bytes.
  if (text.ends_with("=="))
    size -= 2;
  else if (text.ends_with("="))
    size -= 1;
  out.resize(size);
  return out;
}

std::string encode_base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string header(const HttpsTestServer::Request& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

}  // namespace

FakeWebhookReceiver::FakeWebhookReceiver(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                                         std::string secret) {
  if (secret.starts_with("whsec_")) secret.erase(0, 6);
  key_ = decode_base64(secret);
  server_ = std::make_unique<HttpsTestServer>(cert_file, key_file,
                                              [this](const HttpsTestServer::Request& r) { return handle(r); });
}

void FakeWebhookReceiver::inject(HttpsTestServer::Reply reply, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) injected_.push_back(reply);
}

HttpsTestServer::Reply FakeWebhookReceiver::handle(const HttpsTestServer::Request& r) {
  Delivery d;
  d.id = header(r, "webhook-id");
  d.timestamp = header(r, "webhook-timestamp");
  d.signature = header(r, "webhook-signature");
  d.content_type = header(r, "content-type");
  d.body = r.body;
  d.path = r.path;
  // The spec's receiver checks: a timestamp within five minutes, then any "v1," signature that matches.
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const long long ts = std::strtoll(d.timestamp.c_str(), nullptr, 10);
  const bool fresh = !d.timestamp.empty() && std::llabs(now - ts) <= 300;
  const std::string content = d.id + "." + d.timestamp + "." + d.body;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac.data(), &mac_size);
  const std::string expected = "v1," + encode_base64(mac.data(), mac_size);
  bool match = false;
  for (std::size_t start = 0; start <= d.signature.size();) {  // space-separated list of signatures
    auto end = d.signature.find(' ', start);
    if (end == std::string::npos) end = d.signature.size();
    if (d.signature.substr(start, end - start) == expected) match = true;
    start = end + 1;
  }
  d.verified = fresh && match && !d.id.empty();

  HttpsTestServer::Reply reply;
  {
    std::lock_guard lock(mu_);
    if (!injected_.empty()) {
      reply = injected_.front();
      injected_.pop_front();
    } else if (!d.verified) {
      reply.status = 401;
      reply.body = "signature verification failed";
    } else {
      reply.status = 204;
    }
    d.status = reply.drop ? 0 : reply.status;
    deliveries_.push_back(d);
  }
  return reply;
}

std::vector<FakeWebhookReceiver::Delivery> FakeWebhookReceiver::deliveries() const {
  std::lock_guard lock(mu_);
  return deliveries_;
}

std::map<std::string, int> FakeWebhookReceiver::accepted() const {
  std::lock_guard lock(mu_);
  std::map<std::string, int> out;
  for (const auto& d : deliveries_) {
    if (d.verified && d.status >= 200 && d.status < 300) ++out[d.id];
  }
  return out;
}

}  // namespace notify::testing
