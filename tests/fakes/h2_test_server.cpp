#include "h2_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

namespace notify::testing {

struct H2TestServer::Connection {
  H2TestServer* server = nullptr;
  nghttp2_session* session = nullptr;
  struct Stream {
    std::string method, path, body, response;
    std::map<std::string, std::string> headers;
    std::size_t sent = 0;
  };
  std::map<std::int32_t, Stream> streams;
  struct Held {
    std::int32_t id;
    std::chrono::steady_clock::time_point due;
  };
  std::vector<Held> held;
  int requests = 0;
  std::int32_t goaway_last = -1;  // after a GOAWAY: the last stream id this connection processes
};

namespace {

using Conn = H2TestServer::Connection;

int on_begin_headers(nghttp2_session* /*s*/, const nghttp2_frame* frame, void* user) {
  auto& c = *static_cast<Conn*>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) c.streams[frame->hd.stream_id];
  return 0;
}

int on_header(nghttp2_session* /*s*/, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
              const std::uint8_t* value, std::size_t valuelen, std::uint8_t /*flags*/, void* user) {
  auto& c = *static_cast<Conn*>(user);
  auto it = c.streams.find(frame->hd.stream_id);
  if (it == c.streams.end()) return 0;
  const std::string n(reinterpret_cast<const char*>(name), namelen);
  const std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":method") {
    it->second.method = v;
  } else if (n == ":path") {
    it->second.path = v;
  } else if (!n.starts_with(":")) {
    it->second.headers[n] = v;
  }
  return 0;
}

int on_data_chunk(nghttp2_session* /*s*/, std::uint8_t /*flags*/, std::int32_t id, const std::uint8_t* data,
                  std::size_t len, void* user) {
  auto& c = *static_cast<Conn*>(user);
  if (auto it = c.streams.find(id); it != c.streams.end())
    it->second.body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

ssize_t read_response(nghttp2_session* /*s*/, std::int32_t id, std::uint8_t* buf, std::size_t length,
                      std::uint32_t* flags, nghttp2_data_source* /*source*/, void* user) {
  auto& c = *static_cast<Conn*>(user);
  auto it = c.streams.find(id);
  if (it == c.streams.end()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  auto& st = it->second;
  const std::size_t n = std::min(length, st.response.size() - st.sent);
  std::copy_n(st.response.data() + st.sent, n, buf);
  st.sent += n;
  if (st.sent == st.response.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

void request_complete(Conn& c, std::int32_t id) {
  auto& server = *c.server;
  ++c.requests;
  if (c.goaway_last >= 0 && id > c.goaway_last) {
    // Above the GOAWAY's last stream id: not processed, which the client learns from the GOAWAY itself.
    server.note_refused();
    return;
  }
  if (server.take_refusal()) {
    nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    server.note_refused();
    return;
  }
  if (server.goaway_after_first() && c.goaway_last < 0) {
    c.goaway_last = id;
    nghttp2_submit_goaway(c.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
  }
  c.held.push_back({id, std::chrono::steady_clock::now() + server.hold()});
  server.note_in_flight(static_cast<int>(c.held.size()));
}

int on_frame_recv(nghttp2_session* /*s*/, const nghttp2_frame* frame, void* user) {
  auto& c = *static_cast<Conn*>(user);
  const bool request_frame = frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA;
  if (request_frame && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 && c.streams.count(frame->hd.stream_id) != 0) {
    request_complete(c, frame->hd.stream_id);
  }
  return 0;
}

int on_stream_close(nghttp2_session* /*s*/, std::int32_t id, std::uint32_t /*error*/, void* user) {
  static_cast<Conn*>(user)->streams.erase(id);
  return 0;
}

int select_h2(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
              unsigned int inlen, void* /*arg*/) {
  return nghttp2_select_next_protocol(const_cast<unsigned char**>(out), outlen, in, inlen) == 1
             ? SSL_TLSEXT_ERR_OK
             : SSL_TLSEXT_ERR_ALERT_FATAL;
}

bool write_all(SSL* ssl, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const int n = SSL_write(ssl, data, static_cast<int>(size));
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

H2TestServer::H2TestServer(Options options) : options_(std::move(options)) {
  refuse_left_ = options_.refuse_first;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("H2TestServer: SSL_CTX_new");
  ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, options_.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("H2TestServer: cannot load " + options_.cert_file.string());
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_h2, nullptr);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    SSL_CTX_free(ctx);
    throw std::runtime_error(std::string("H2TestServer: listen on 127.0.0.1:0: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

H2TestServer::~H2TestServer() {
  stopping_ = true;
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  ::close(listen_fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

std::string H2TestServer::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(port_) + path;
}

void H2TestServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void H2TestServer::serve(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  if (SSL_accept(ssl) == 1) SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len == 2 && std::memcmp(alpn, "h2", 2) == 0) {
    Connection c;
    c.server = this;
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_server_new(&c.session, cbs, &c);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, settings, 1);
    std::uint8_t buf[16384];
    while (!stopping_) {
      // Answer what is due.
      const auto now = std::chrono::steady_clock::now();
      for (auto it = c.held.begin(); it != c.held.end();) {
        if (it->due > now) {
          ++it;
          continue;
        }
        auto st = c.streams.find(it->id);
        if (st != c.streams.end()) {
          H2TestServer::Reply reply;
          if (handler()) {
            reply = handler()({st->second.method, st->second.path, st->second.headers, st->second.body});
          } else {
            reply.body = "stream " + std::to_string(it->id) + " " + st->second.method + " " + st->second.path +
                         " body=" + st->second.body;
          }
          st->second.response = reply.body;
          // nghttp2 copies names and values, so these strings need only live through the call.
          std::vector<std::pair<std::string, std::string>> fields = {{":status", std::to_string(reply.status)}};
          for (const auto& [k, v] : reply.headers) fields.emplace_back(k, v);
          std::vector<nghttp2_nv> nv;
          for (auto& [k, v] : fields) {
            nv.push_back({reinterpret_cast<std::uint8_t*>(k.data()), reinterpret_cast<std::uint8_t*>(v.data()),
                          k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
          }
          nghttp2_data_provider provider{};
          provider.read_callback = read_response;
          nghttp2_submit_response(c.session, it->id, nv.data(), nv.size(), &provider);
          ++processed_;
        }
        it = c.held.erase(it);
      }
      // Send what nghttp2 has queued.
      bool ok = true;
      for (;;) {
        const std::uint8_t* out = nullptr;
        const ssize_t n = nghttp2_session_mem_send(c.session, &out);
        if (n <= 0) break;
        if (!write_all(ssl, out, static_cast<std::size_t>(n))) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
      if (nghttp2_session_want_read(c.session) == 0 && nghttp2_session_want_write(c.session) == 0 && c.held.empty()) {
        break;
      }
      if (SSL_pending(ssl) == 0) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 10) <= 0) continue;
      }
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      if (nghttp2_session_mem_recv(c.session, buf, static_cast<std::size_t>(n)) < 0) break;
    }
    nghttp2_session_del(c.session);
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  // Lingering close, as real servers do: closing with unread bytes from the client (frames it sent before it saw the
  // GOAWAY) would make the kernel answer with RST, and the client could lose the responses and the GOAWAY still in
  // its receive buffer.
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  for (int i = 0; i < 50; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    if (::read(fd, sink, sizeof sink) <= 0) break;
  }
  ::close(fd);
}

}  // namespace notify::testing
