// notify-ctl send / status / health / dead: a thin client of the parent's HTTP API. Human output by default,
// the API's JSON with --json. The URL comes from --url or NOTIFY_HTTP_URL (default http://127.0.0.1:8088), the bearer
// token from --token or NOTIFY_HTTP_TOKEN.
#include "attestation_support.hpp"
#include "ctl_options.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <Poco/UUIDGenerator.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace notify::ctl {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

struct HttpReply {
  int status = 0;
  std::string body;
};

std::string env(const char* name, const std::string& fallback = {}) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

Result<HttpReply> request(const CtlOptions& o, const std::string& method, const std::string& path,
                          const std::string& body = {}) {
  try {
    Poco::URI uri(o.get("url").value_or(env("NOTIFY_HTTP_URL", "http://127.0.0.1:8088")));
    if (uri.getScheme() != "http")
      return Error{Errc::invalid_argument, "--url: only http:// (the API listens on loopback)"};
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    const std::string token = o.get("token").value_or(env("NOTIFY_HTTP_TOKEN"));
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    if (!body.empty()) {
      req.setContentType("application/json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    HttpReply out;
    Poco::StreamCopier::copyToString(session.receiveResponse(resp), out.body);
    out.status = static_cast<int>(resp.getStatus());
    return out;
  } catch (const Poco::Exception& e) {
    return Error{Errc::unreachable, "cannot reach the notify API: " + e.displayText()};
  }
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

// Prints the API's error message (or the body) and returns the exit code for an HTTP status.
int report_failure(const HttpReply& r) {
  std::string message = r.body;
  try {
    auto o = Poco::JSON::Parser().parse(r.body).extract<Object::Ptr>();
    if (o->has("error")) message = o->getValue<std::string>("error");
  } catch (const std::exception&) {
  }
  std::cerr << "notify-ctl: HTTP " << r.status << ": " << message << "\n";
  return r.status == 404 ? 4 : (r.status == 503 ? 75 : 1);
}

void print_record(const Object& o) {
  std::cout << o.getValue<std::string>("request_id") << ": " << o.getValue<std::string>("state") << " after "
            << o.getValue<int>("attempts") << " attempt(s)";
  if (o.has("reference")) std::cout << ", reference " << o.getValue<std::string>("reference");
  if (o.has("reason")) std::cout << "\n  reason: " << o.getValue<std::string>("reason");
  std::cout << "\n";
  if (auto h = o.getArray("history")) {
    for (std::size_t i = 0; i < h->size(); ++i) {
      auto a = h->getObject(static_cast<unsigned>(i));
      std::cout << "  attempt " << i + 1 << ": " << a->getValue<std::string>("outcome") << " "
                << a->getValue<std::string>("detail") << "\n";
    }
  }
}

}  // namespace

int http_send(const CtlOptions& o) {
  std::string body;
  if (auto file = o.get("file")) {
    auto text = read_text_file(*file);
    if (!text) {
      std::cerr << "notify-ctl: " << text.error().message << "\n";
      return 66;
    }
    body = *text;
  } else {
    const auto users = split(o.get("user").value_or(""));
    const auto devices = split(o.get("device-tokens").value_or(""));
    const auto topic = o.get("topic").value_or("");
    if ((users.empty() && devices.empty() && topic.empty()) || !o.has("message")) {
      std::cerr << "usage: notify-ctl send (--user U[,U...] | --device-tokens T[,T...] | --topic NAME) --message M "
                   "[--title T] [--request-id ID] [--data k=v,...] [--campaign-id C] [--provider P] | "
                   "send --file notification.json\n";
      return 64;
    }
    Object n(Poco::JSON_PRESERVE_KEY_ORDER);
    n.set("request_id",
          o.get("request-id").value_or(Poco::UUIDGenerator::defaultGenerator().createRandom().toString()));
    if (!users.empty()) {
      Array ids;
      for (const auto& u : users) ids.add(u);
      n.set("external_user_ids", ids);
    }
    if (!devices.empty()) {
      Array tokens;
      for (const auto& t : devices) tokens.add(t);
      n.set("device_tokens", tokens);
    }
    if (!topic.empty()) n.set("topic", topic);
    n.set("title", o.get("title").value_or(""));
    n.set("message", *o.get("message"));
    if (auto data = o.get("data")) {
      Object custom;
      for (const auto& kv : split(*data)) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) {
          std::cerr << "notify-ctl: --data wants k=v pairs, got '" << kv << "'\n";
          return 64;
        }
        custom.set(kv.substr(0, eq), kv.substr(eq + 1));
      }
      n.set("custom_data", custom);
    }
    if (auto c = o.get("campaign-id")) n.set("campaign_id", *c);
    if (auto p = o.get("provider")) n.set("provider", *p);
    std::ostringstream os;
    n.stringify(os);
    body = os.str();
  }
  auto r = request(o, "POST", "/v1/notifications", body);
  if (!r) {
    std::cerr << "notify-ctl: " << r.error().message << "\n";
    return 69;
  }
  if (r->status != 202) return report_failure(*r);
  if (o.has("json")) {
    std::cout << r->body << "\n";
    return 0;
  }
  auto reply = Poco::JSON::Parser().parse(r->body).extract<Object::Ptr>();
  for (const char* kind : {"accepted", "duplicates"}) {
    auto list = reply->getArray(kind);
    for (std::size_t i = 0; list && i < list->size(); ++i) std::cout << kind << ": " << list->get(i).toString() << "\n";
  }
  return 0;
}

int http_status(const CtlOptions& o, const std::string& id) {
  auto r = request(o, "GET", "/v1/notifications/" + id);
  if (!r) {
    std::cerr << "notify-ctl: " << r.error().message << "\n";
    return 69;
  }
  if (r->status != 200) return report_failure(*r);
  if (o.has("json"))
    std::cout << r->body << "\n";
  else
    print_record(*Poco::JSON::Parser().parse(r->body).extract<Object::Ptr>());
  return 0;
}

int http_health(const CtlOptions& o) {
  auto health = request(o, "GET", "/healthz");
  auto ready = request(o, "GET", "/readyz");
  if (!health || !ready) {
    std::cerr << "notify-ctl: " << (!health ? health.error().message : ready.error().message) << "\n";
    return 69;
  }
  if (o.has("json")) {
    std::cout << R"({"healthz":)" << health->status << R"(,"readyz":)" << ready->status << "}\n";
  } else {
    std::cout << "process: " << (health->status == 200 ? "up" : "DOWN") << "\n"
              << "ready:   " << (ready->status == 200 ? "yes" : "NO (" + ready->body + ")") << "\n";
  }
  return ready->status == 200 ? 0 : 1;
}

int http_dead(const CtlOptions& o, const std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "list") {
    auto r = request(o, "GET", "/v1/dead");
    if (!r) {
      std::cerr << "notify-ctl: " << r.error().message << "\n";
      return 69;
    }
    if (r->status != 200) return report_failure(*r);
    if (o.has("json")) {
      std::cout << r->body << "\n";
      return 0;
    }
    auto list = Poco::JSON::Parser().parse(r->body).extract<Object::Ptr>()->getArray("dead");
    if (!list || list->size() == 0) std::cout << "no dead notifications\n";
    for (std::size_t i = 0; list && i < list->size(); ++i) print_record(*list->getObject(static_cast<unsigned>(i)));
    return 0;
  }
  if (args.size() == 2 && args[0] == "retry") {
    auto r = request(o, "POST", "/v1/dead/" + args[1] + "/retry");
    if (!r) {
      std::cerr << "notify-ctl: " << r.error().message << "\n";
      return 69;
    }
    if (r->status != 200) return report_failure(*r);
    std::cout << (o.has("json") ? r->body : args[1] + ": queued again") << "\n";
    return 0;
  }
  std::cerr << "usage: notify-ctl dead list | dead retry ID\n";
  return 64;
}

}  // namespace notify::ctl
