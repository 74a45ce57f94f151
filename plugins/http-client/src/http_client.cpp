#include "curl_handles.hpp"
#include "failure.hpp"
#include "socket_bridge.hpp"

#include <notify/http/http_client.hpp>

#include <algorithm>
#include <cctype>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace notify::http {
namespace {

using Clock = std::chrono::steady_clock;

// libcurl's global state is set up once per image and never torn down: curl_global_cleanup() while another user of
// OpenSSL in the process (the host, Poco) is still running is not safe, and the OS reclaims it at exit.
void init_curl_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
  const auto* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || (info->features & CURL_VERSION_SSL) == 0) {
    throw std::runtime_error("libcurl was built without TLS");
  }
  if ((info->features & CURL_VERSION_HTTP2) == 0) throw std::runtime_error("libcurl was built without HTTP/2");
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The parts of a URL the client needs, read with libcurl's own URL parser.
struct Target {
  std::string scheme, host, port;  // host as the URL writes it: an IPv6 literal keeps its brackets
};

Result<Target> parse_target(const std::string& url) {
  CurlUrl u(curl_url());
  if (!u) return Error{Errc::internal, "out of memory parsing a URL"};
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    // The URL itself stays out of the message: its path or query may carry a token.
    return Error{Errc::invalid_argument, "request URL is not an absolute URL"};
  }
  auto part = [&](CURLUPart what, unsigned flags) -> std::string {
    char* raw = nullptr;
    if (curl_url_get(u.get(), what, &raw, flags) != CURLUE_OK || raw == nullptr) return {};
    CurlString owned(raw);
    return owned.get();
  };
  Target t{lower(part(CURLUPART_SCHEME, 0)), lower(part(CURLUPART_HOST, 0)), part(CURLUPART_PORT, CURLU_DEFAULT_PORT)};
  if (t.scheme != "https") {
    return Error{Errc::invalid_argument, "request URL scheme must be https, not '" + t.scheme + "'"};
  }
  if (t.host.empty() || t.port.empty()) return Error{Errc::invalid_argument, "request URL has no host"};
  return t;
}

}  // namespace

std::string egress_address_for(const HttpClientOptions& options, std::string_view host, std::string_view port) {
  const std::string host_port = lower(host) + ":" + std::string(port);
  if (!options.egress_by_host.empty()) {
    auto match = [&](const std::string& key) -> const std::string* {
      for (const auto& [name, address] : options.egress_by_host) {
        if (lower(name) == key) return &address;
      }
      return nullptr;
    };
    if (const auto* a = match(host_port)) return *a;
    if (const auto* a = match(lower(host))) return *a;
  }
  return options.egress_address.empty() ? host_port : options.egress_address;
}

struct Transfer {
  const HttpClientOptions* options = nullptr;
  TransportRegistry* transports = nullptr;
  SocketBridges* bridges = nullptr;
  const HttpRequest* request = nullptr;
  std::string what;  // "POST https://host:port": no path or query, which may carry ids or tokens
  std::string egress_address;
  Clock::time_point deadline;
  EasyHandle easy;
  HeaderList headers;
  HeaderList resolve;
  char error_buffer[CURL_ERROR_SIZE] = {};
  HttpResponse response;
  TransferFacts facts;
  bool body_too_large = false;
  HttpResult result;
  std::latch* done = nullptr;
};

struct HttpClient::Impl {
  Impl(TransportRegistry& t, HttpClientOptions o, Log& l) : transports(t), options(std::move(o)), log(l) {}

  void run();
  void drain_finished();
  void complete(Transfer& t, CURLcode code);
  Status prepare(Transfer& t);

  TransportRegistry& transports;
  HttpClientOptions options;
  Log& log;
  MultiHandle multi;
  std::mutex mu;
  std::vector<Transfer*> incoming;       // guarded by mu
  bool stopping = false;                 // guarded by mu
  std::unordered_set<Transfer*> active;  // loop thread only
  SocketBridges bridges;                 // before `loop`: destroyed after it stopped
  std::thread loop;
};

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t.response.body.size() + n > t.options->max_response_bytes) {
    t.body_too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  t.response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t.response.headers.clear();  // a new response begins (after a 1xx, or a retried request)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t.response.headers[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

// curl reports what the client needs for classifying a failure only as CURLOPT_VERBOSE output, which this callback
// reads and swallows (it would include the headers): CURLINFO_HEADER_OUT, the request's headers were handed to the
// connection, so the server may act on it from now on; and the text "REFUSED_STREAM, retrying a fresh connect", the
// server refused that attempt's stream (curl 7.88 retries it on a new connection, at most 5 times).
int on_debug(CURL* /*easy*/, curl_infotype type, char* data, std::size_t size, void* user) {
  auto& facts = static_cast<Transfer*>(user)->facts;
  if (type == CURLINFO_HEADER_OUT) {
    facts.request_left = true;
    facts.refused_stream = false;  // a new attempt left
  } else if (type == CURLINFO_TEXT && std::string_view(data, size).find("REFUSED_STREAM") != std::string_view::npos) {
    // Nothing of curl's text is logged: for HTTP/2 it lists the request headers ("h2h3 [authorization: ...]").
    facts.refused_stream = true;
  }
  return 0;
}

// Instead of a socket of its own, curl gets one the egress transport already connected (a TCP connection, or vsock
// to the parent's relay); the address curl resolved is a placeholder and ignored.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* /*address*/) {
  auto& t = *static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const auto& o = *t.options;
  auto transport = t.transports->transport(o.egress_transport);
  if (!transport) {
    t.facts.connect_error = transport.error();
    return CURL_SOCKET_BAD;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t.deadline - Clock::now());
  auto stream = transport.value()->connect(
      t.egress_address,
      std::clamp(left, std::chrono::milliseconds(1), std::max(o.connect_timeout, std::chrono::milliseconds(1))));
  if (!stream) {
    t.facts.connect_error = stream.error();
    return CURL_SOCKET_BAD;
  }
  const int fd = stream.value()->release();
  if (fd < 0) {
    t.facts.connect_error = Error{Errc::unsupported, "egress transport '" + o.egress_transport + "' to " +
                                                         t.egress_address + " has no OS socket to hand to libcurl"};
    return CURL_SOCKET_BAD;
  }
  auto handed = t.bridges->adapt(fd);  // a non-TCP socket goes behind a loopback bridge (socket_bridge.hpp)
  if (!handed) {
    t.facts.connect_error = handed.error();
    return CURL_SOCKET_BAD;
  }
  return *handed;  // curl owns it now and closes it with the connection
}

int on_socket_options(void* /*user*/, curl_socket_t /*fd*/, curlsocktype /*purpose*/) {
  return CURL_SOCKOPT_ALREADY_CONNECTED;
}

template <class T>
bool set(CURL* easy, CURLoption option, T value) {
  return curl_easy_setopt(easy, option, value) == CURLE_OK;
}

}  // namespace

Status HttpClient::Impl::prepare(Transfer& t) {
  const HttpRequest& req = *t.request;
  auto target = parse_target(req.url);
  if (!target) return target.error();
  t.what = req.method + " https://" + target->host + ":" + target->port;
  t.egress_address = egress_address_for(options, target->host, target->port);
  t.easy.reset(curl_easy_init());
  if (!t.easy) return Error{Errc::internal, t.what + ": out of memory"};
  for (const auto& h : req.headers) {
    if (h.name.empty() || h.name.find_first_of(":\r\n") != std::string::npos ||
        h.value.find_first_of("\r\n") != std::string::npos) {
      return Error{Errc::invalid_argument, t.what + ": malformed header '" + h.name + "'"};
    }
    if (!t.headers.append((h.name + ": " + h.value).c_str())) return Error{Errc::internal, t.what + ": out of memory"};
  }
  // No "Expect: 100-continue" round trip before a larger body: the request goes in one flight.
  if (!t.headers.append("Expect:")) return Error{Errc::internal, t.what + ": out of memory"};
  // curl resolves the URL's host before it asks for a socket; pin it so no DNS query leaves (an enclave has no
  // DNS). The address is a placeholder: on_open_socket connects to the egress address instead.
  if (target->host.front() != '[') {
    if (!t.resolve.append((target->host + ":" + target->port + ":127.0.0.1").c_str())) {
      return Error{Errc::internal, t.what + ": out of memory"};
    }
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t.deadline - Clock::now());
  const auto timeout = std::max<std::chrono::milliseconds::rep>(1, std::min(left, options.request_timeout).count());
  CURL* e = t.easy.get();
  bool ok =
      set(e, CURLOPT_URL, req.url.c_str()) && set(e, CURLOPT_PROTOCOLS_STR, "https") && set(e, CURLOPT_PRIVATE, &t) &&
      set(e, CURLOPT_NOSIGNAL, 1L) && set(e, CURLOPT_ERRORBUFFER, static_cast<char*>(t.error_buffer)) &&
      set(e, CURLOPT_HTTPHEADER, t.headers.get()) && set(e, CURLOPT_RESOLVE, t.resolve.get()) &&
      set(e, CURLOPT_HTTP_VERSION, options.http2 ? long{CURL_HTTP_VERSION_2TLS} : long{CURL_HTTP_VERSION_1_1}) &&
      set(e, CURLOPT_PIPEWAIT, 1L) && set(e, CURLOPT_SSLVERSION, long{CURL_SSLVERSION_TLSv1_2}) &&
      set(e, CURLOPT_SSL_VERIFYPEER, 1L) && set(e, CURLOPT_SSL_VERIFYHOST, 2L) &&
      set(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count())) &&
      set(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout)) &&
      set(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes)) &&
      set(e, CURLOPT_OPENSOCKETFUNCTION, &on_open_socket) && set(e, CURLOPT_OPENSOCKETDATA, &t) &&
      set(e, CURLOPT_SOCKOPTFUNCTION, &on_socket_options) && set(e, CURLOPT_WRITEFUNCTION, &on_body) &&
      set(e, CURLOPT_WRITEDATA, &t) && set(e, CURLOPT_HEADERFUNCTION, &on_header) && set(e, CURLOPT_HEADERDATA, &t) &&
      set(e, CURLOPT_VERBOSE, 1L) && set(e, CURLOPT_DEBUGFUNCTION, &on_debug) && set(e, CURLOPT_DEBUGDATA, &t);
  if (ok && !options.ca_file.empty()) ok = set(e, CURLOPT_CAINFO, options.ca_file.c_str());
  if (ok) {
    if (req.method == "GET" && req.body.empty()) {
      ok = set(e, CURLOPT_HTTPGET, 1L);
    } else {
      // The body stays owned by the caller's request, which outlives the transfer.
      ok = set(e, CURLOPT_POSTFIELDS, req.body.data()) &&
           set(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      if (ok && req.method != "POST") ok = set(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
  }
  if (!ok) return Error{Errc::internal, t.what + ": libcurl refused an option"};
  return {};
}

void HttpClient::Impl::complete(Transfer& t, CURLcode code) {
  if (options.metrics != nullptr) {
    long status = 0;
    curl_off_t total_us = 0;  // name lookup, connect, TLS, request and response, as curl timed them
    if (code == CURLE_OK) curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t.easy.get(), CURLINFO_TOTAL_TIME_T, &total_us);
    options.metrics->call_finished(static_cast<int>(status), std::chrono::microseconds(total_us));
  }
  if (code == CURLE_OK) {
    long status = 0;
    long version = 0;
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t.easy.get(), CURLINFO_HTTP_VERSION, &version);
    t.response.status = static_cast<int>(status);
    t.response.http_version = version == CURL_HTTP_VERSION_2_0 ? 2 : 1;
    log.debug(t.what + ": HTTP/" + std::string(t.response.http_version == 2 ? "2" : "1.1") + " " +
              std::to_string(status));
    t.result.response = std::move(t.response);
  } else {
    t.facts.code = code;
    t.facts.curl_error = t.body_too_large
                             ? "response body over " + std::to_string(options.max_response_bytes) + " bytes"
                             : std::string(static_cast<const char*>(t.error_buffer));
    t.result.failure = classify_failure(t.facts, t.what);
    log.debug(t.result.failure.message);
  }
  t.done->count_down();  // the waiter may free `t` from here on
}

void HttpClient::Impl::drain_finished() {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi.get(), &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL* easy = m->easy_handle;
    const CURLcode code = m->data.result;  // read before remove_handle invalidates `m`
    char* user = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &user);
    curl_multi_remove_handle(multi.get(), easy);
    auto* t = reinterpret_cast<Transfer*>(user);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    active.erase(t);
    complete(*t, code);
  }
}

void HttpClient::Impl::run() {
  for (;;) {
    std::vector<Transfer*> batch;
    {
      std::lock_guard lock(mu);
      if (stopping) break;
      batch.swap(incoming);
    }
    for (Transfer* t : batch) {
      if (curl_multi_add_handle(multi.get(), t->easy.get()) == CURLM_OK) {
        active.insert(t);
      } else {
        t->result.failure = {Errc::internal, Sent::no, t->what + ": libcurl refused the transfer (not sent)"};
        t->done->count_down();
      }
    }
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    drain_finished();
    curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
  }
  // Shutting down: what is still running fails, as sent or not as far as it got.
  for (Transfer* t : active) {
    curl_multi_remove_handle(multi.get(), t->easy.get());
    t->facts.code = CURLE_ABORTED_BY_CALLBACK;
    t->facts.curl_error = "the HTTP client shut down";
    t->result.failure = classify_failure(t->facts, t->what);
    t->done->count_down();
  }
  active.clear();
  std::lock_guard lock(mu);
  for (Transfer* t : incoming) {
    t->result.failure = {Errc::closed, Sent::no, t->what + ": the HTTP client shut down (not sent)"};
    t->done->count_down();
  }
  incoming.clear();
}

HttpClient::HttpClient(TransportRegistry& transports, HttpClientOptions options, Log& log)
    : impl_(std::make_unique<Impl>(transports, std::move(options), log)) {
  init_curl_once();
  auto& o = impl_->options;
  o.max_connections = std::clamp<std::size_t>(o.max_connections, 1, 1024);
  impl_->multi.reset(curl_multi_init());
  if (!impl_->multi) throw std::runtime_error("curl_multi_init failed");
  CURLM* m = impl_->multi.get();
  const auto conns = static_cast<long>(o.max_connections);
  if (curl_multi_setopt(m, CURLMOPT_PIPELINING, long{CURLPIPE_MULTIPLEX}) != CURLM_OK ||
      curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns) != CURLM_OK ||
      curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns) != CURLM_OK ||
      curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns) != CURLM_OK) {
    throw std::runtime_error("libcurl refused a connection pool option");
  }
  impl_->loop = std::thread([impl = impl_.get()] { impl->run(); });
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi.get());
  impl_->loop.join();
}

const HttpClientOptions& HttpClient::options() const noexcept { return impl_->options; }

HttpResult HttpClient::perform(const HttpRequest& request, Clock::time_point deadline) {
  return std::move(perform_all(std::span(&request, 1), deadline).front());
}

std::vector<HttpResult> HttpClient::perform_all(std::span<const HttpRequest> requests, Clock::time_point deadline) {
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.reserve(requests.size());
  std::latch done(static_cast<std::ptrdiff_t>(requests.size()));
  std::vector<Transfer*> ready;
  for (const auto& r : requests) {
    auto t = std::make_unique<Transfer>();
    t->options = &impl_->options;
    t->transports = &impl_->transports;
    t->bridges = &impl_->bridges;
    t->request = &r;
    t->deadline = deadline;
    t->done = &done;
    if (Clock::now() >= deadline) {
      t->result.failure = {Errc::timed_out, Sent::no, r.method + " request: the deadline had passed (not sent)"};
      done.count_down();
    } else if (auto prepared = impl_->prepare(*t); !prepared) {
      t->result.failure = {prepared.code(), Sent::no, prepared.message() + " (not sent)"};
      done.count_down();
    } else {
      ready.push_back(t.get());
    }
    transfers.push_back(std::move(t));
  }
  if (!ready.empty()) {
    {
      std::lock_guard lock(impl_->mu);
      impl_->incoming.insert(impl_->incoming.end(), ready.begin(), ready.end());
    }
    curl_multi_wakeup(impl_->multi.get());
  }
  done.wait();
  std::vector<HttpResult> out;
  out.reserve(transfers.size());
  for (auto& t : transfers) out.push_back(std::move(t->result));
  return out;
}

}  // namespace notify::http
