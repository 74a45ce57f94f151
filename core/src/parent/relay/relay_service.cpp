#include "parent/relay/relay_service.hpp"

#include "parent/relay/dns_cache.hpp"

#include <notify/toolkit/host_port.hpp>
#include <notify/toolkit/unique_fd.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace notify::relay {
namespace {

using Clock = std::chrono::steady_clock;

using Fd = toolkit::UniqueFd;

// One direction of a pair: bytes read from `from` waiting to be written to `to`.
struct Pipe {
  std::array<std::byte, 16 * 1024> buf{};
  std::size_t begin = 0;
  std::size_t end = 0;
  bool eof = false;   // `from` reached EOF
  bool shut = false;  // we shut down the write side of `to`
  [[nodiscard]] bool empty() const { return begin == end; }
};

struct Pair {
  Fd client;
  Fd upstream;
  std::string destination;
  Pipe up;    // client -> upstream
  Pipe down;  // upstream -> client
  Clock::time_point last_activity;
};

struct Pending {
  std::unique_ptr<Stream> client;
  std::size_t route = 0;
};

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

struct RelayService::Impl {
  std::shared_ptr<Transport> listen_transport;
  std::shared_ptr<Transport> upstream_transport;
  RelayOptions options;
  Log& log;
  DnsCache dns;

  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<std::string> addresses;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> active{0};

  // Connector queue.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Pending> queue;

  // Loop hand-over.
  Fd epoll_fd;
  Fd wake_fd;
  std::mutex handover_mu;
  std::vector<std::unique_ptr<Pair>> handover;

  mutable std::mutex stats_mu;
  RelayStats stats;

  Impl(std::shared_ptr<Transport> l, std::shared_ptr<Transport> u, RelayOptions o, Log& lg)
      : listen_transport(std::move(l)),
        upstream_transport(std::move(u)),
        options(std::move(o)),
        log(lg),
        dns(options.dns_ttl, options.dns_failure_ttl) {}

  template <class F>
  void count(const std::string& dest, F&& f) {
    std::lock_guard lock(stats_mu);
    f(stats.destinations[dest]);
  }

  void accept_loop(std::size_t route) {
    auto& listener = *listeners[route];
    while (!stopping) {
      auto s = listener.accept(std::chrono::milliseconds(200));
      if (!s) {
        if (s.error().code == Errc::timed_out) continue;
        if (s.error().code == Errc::closed) return;
        log.warning("relay: accept on " + addresses[route] + " failed: " + s.error().message);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      const auto& r = options.routes[route];
      const std::string dest = r.upstream_host + ":" + std::to_string(r.upstream_port);
      if (active.load() >= options.max_connections) {
        log.warning("relay: refusing " + (*s)->peer_address() + " -> " + dest + ": max_connections (" +
                    std::to_string(options.max_connections) + ") reached");
        count(dest, [](DestinationStats& d) { ++d.connections_refused; });
        continue;  // the stream's destructor closes it
      }
      ++active;
      {
        std::lock_guard lock(queue_mu);
        queue.push_back({std::move(*s), route});
      }
      queue_cv.notify_one();
    }
  }

  void connector_loop() {
    for (;;) {
      Pending p;
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        p = std::move(queue.front());
        queue.pop_front();
      }
      connect_one(std::move(p));
    }
  }

  void connect_one(Pending p) {
    const auto& r = options.routes[p.route];
    const std::string dest = r.upstream_host + ":" + std::to_string(r.upstream_port);
    const std::string peer = p.client->peer_address();
    auto fail = [&](const std::string& why, bool refused) {
      log.warning("relay: " + peer + " -> " + dest + ": " + why);
      count(dest, [&](DestinationStats& d) { ++(refused ? d.connections_refused : d.connections_failed); });
      --active;
    };
    // Re-resolve on each new connection (cached briefly), and check the allowlist against what it resolved to.
    std::vector<std::string> ips;
    if (!is_ip_literal(r.upstream_host)) {
      auto resolved = dns.resolve(r.upstream_host);
      if (!resolved) return fail(resolved.error().message, false);
      ips = *resolved;
    } else {
      ips = {r.upstream_host};
    }
    if (auto st = check_allowed(options.allowlist, r.upstream_host, r.upstream_port, ips); !st) {
      return fail(st.message(), true);
    }
    std::unique_ptr<Stream> up;
    std::string last_error = "no address";
    for (const auto& ip : ips) {
      const std::string target = toolkit::format_host_port(ip, r.upstream_port);
      auto c = upstream_transport->connect(target, options.connect_timeout);
      if (c) {
        up = std::move(*c);
        break;
      }
      last_error = c.error().message;
    }
    if (!up) return fail("upstream connect failed: " + last_error, false);

    // The relay splices OS descriptors, so both transports must hand theirs over (transport.hpp); a transport whose
    // streams are not sockets returns -1 and the connection is refused, naming which side could not.
    auto pair = std::make_unique<Pair>();
    pair->client = Fd(p.client->release());
    if (pair->client.get() < 0) return fail("the listening transport has no OS socket to hand over", false);
    pair->upstream = Fd(up->release());
    if (pair->upstream.get() < 0) return fail("the upstream transport has no OS socket to hand over", false);
    pair->destination = dest;
    pair->last_activity = Clock::now();
    if (!set_nonblocking(pair->client.get()) || !set_nonblocking(pair->upstream.get())) {
      return fail("cannot make sockets non-blocking", false);
    }
    count(dest, [](DestinationStats& d) {
      ++d.connections_total;
      ++d.connections_active;
    });
    log.debug("relay: " + peer + " -> " + dest + " connected");
    {
      std::lock_guard lock(handover_mu);
      handover.push_back(std::move(pair));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd.get(), &one, sizeof one);
  }

  // Event loop: every pair registered by both fds; the epoll data is the fd, mapped to its pair.
  std::unordered_map<int, Pair*> by_fd;
  std::unordered_map<Pair*, std::unique_ptr<Pair>> pairs;

  static std::uint32_t interest(const Pipe& out_of_me, const Pipe& into_me) {
    std::uint32_t ev = 0;
    if (!out_of_me.eof && out_of_me.empty()) ev |= EPOLLIN;
    if (!into_me.empty()) ev |= EPOLLOUT;
    return ev;
  }

  void update(Pair& p) {
    epoll_event e{};
    e.events = interest(p.up, p.down);
    e.data.fd = p.client.get();
    ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, p.client.get(), &e);
    e.events = interest(p.down, p.up);
    e.data.fd = p.upstream.get();
    ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, p.upstream.get(), &e);
  }

  void close_pair(Pair* p, const std::string& why) {
    log.debug("relay: closing pair to " + p->destination + ": " + why);
    ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, p->client.get(), nullptr);
    ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, p->upstream.get(), nullptr);
    by_fd.erase(p->client.get());
    by_fd.erase(p->upstream.get());
    count(p->destination, [](DestinationStats& d) { --d.connections_active; });
    pairs.erase(p);
    --active;
  }

  // Moves bytes for one direction as far as possible. Returns false on a hard error.
  bool pump(int from, int to, Pipe& pipe, std::uint64_t& counter) {
    for (;;) {
      if (pipe.empty() && !pipe.eof) {
        pipe.begin = pipe.end = 0;
        const auto n = ::recv(from, pipe.buf.data(), pipe.buf.size(), 0);
        if (n > 0) {
          pipe.end = static_cast<std::size_t>(n);
        } else if (n == 0) {
          pipe.eof = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
          break;
        } else if (errno == EINTR) {
          continue;
        } else {
          return false;
        }
      }
      if (!pipe.empty()) {
        const auto n = ::send(to, pipe.buf.data() + pipe.begin, pipe.end - pipe.begin, MSG_NOSIGNAL);
        if (n > 0) {
          pipe.begin += static_cast<std::size_t>(n);
          counter += static_cast<std::uint64_t>(n);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      break;
    }
    if (pipe.eof && pipe.empty() && !pipe.shut) {
      ::shutdown(to, SHUT_WR);  // pass the half-close on (TLS close_notify already went through as bytes)
      pipe.shut = true;
    }
    return true;
  }

  void service(Pair* p) {
    std::uint64_t up_bytes = 0, down_bytes = 0;
    const bool ok = pump(p->client.get(), p->upstream.get(), p->up, up_bytes) &&
                    pump(p->upstream.get(), p->client.get(), p->down, down_bytes);
    if (up_bytes || down_bytes) {
      p->last_activity = Clock::now();
      count(p->destination, [&](DestinationStats& d) {
        d.bytes_upstream += up_bytes;
        d.bytes_downstream += down_bytes;
      });
    }
    if (!ok) return close_pair(p, "I/O error");
    if (p->up.shut && p->down.shut) return close_pair(p, "both sides closed");
    update(*p);
  }

  void event_loop() {
    std::array<epoll_event, 128> events{};
    auto next_sweep = Clock::now();
    while (!stopping) {
      const int n = ::epoll_wait(epoll_fd.get(), events.data(), static_cast<int>(events.size()), 250);
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wake_fd.get()) {
          std::uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_fd.get(), &v, sizeof v);
          adopt();
          continue;
        }
        auto it = by_fd.find(fd);
        if (it != by_fd.end()) service(it->second);
      }
      if (Clock::now() >= next_sweep) {
        next_sweep = Clock::now() + std::chrono::milliseconds(500);
        const auto cutoff = Clock::now() - options.idle_timeout;
        std::vector<Pair*> idle;
        for (auto& [raw, owned] : pairs) {
          if (raw->last_activity < cutoff) idle.push_back(raw);
        }
        for (auto* p : idle) {
          log.info("relay: closing idle connection to " + p->destination);
          close_pair(p, "idle timeout");
        }
      }
    }
  }

  void adopt() {
    std::vector<std::unique_ptr<Pair>> fresh;
    {
      std::lock_guard lock(handover_mu);
      fresh.swap(handover);
    }
    for (auto& owned : fresh) {
      Pair* p = owned.get();
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.fd = p->client.get();
      ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, p->client.get(), &e);
      e.data.fd = p->upstream.get();
      ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, p->upstream.get(), &e);
      by_fd[p->client.get()] = p;
      by_fd[p->upstream.get()] = p;
      pairs.emplace(p, std::move(owned));
      service(p);  // bytes may already be waiting
    }
  }
};

RelayService::RelayService(std::shared_ptr<Transport> listen_transport, std::shared_ptr<Transport> upstream_transport,
                           RelayOptions options, Log& log)
    : impl_(std::make_unique<Impl>(std::move(listen_transport), std::move(upstream_transport), std::move(options),
                                   log)) {}

RelayService::~RelayService() { stop(); }

Status RelayService::start() {
  auto& m = *impl_;
  if (!m.listen_transport || !m.upstream_transport) return Error{Errc::invalid_argument, "relay: missing transport"};
  if (m.options.routes.empty()) return Error{Errc::invalid_argument, "relay: no routes configured"};
  m.epoll_fd = Fd(::epoll_create1(EPOLL_CLOEXEC));
  m.wake_fd = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (m.epoll_fd.get() < 0 || m.wake_fd.get() < 0) return Error{Errc::io_error, "relay: cannot create epoll/eventfd"};
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = m.wake_fd.get();
  ::epoll_ctl(m.epoll_fd.get(), EPOLL_CTL_ADD, m.wake_fd.get(), &e);
  for (const auto& r : m.options.routes) {
    auto l = m.listen_transport->listen(r.listen, 512);
    if (!l) {
      m.listeners.clear();
      return Error{l.error().code, "relay: " + l.error().message};
    }
    m.addresses.push_back((*l)->local_address());
    m.log.info("relay listening on " + m.addresses.back() + " -> " + r.upstream_host + ":" +
               std::to_string(r.upstream_port));
    m.listeners.push_back(std::move(*l));
  }
  m.threads.emplace_back([&m] { m.event_loop(); });
  constexpr int kConnectors = 4;
  for (int i = 0; i < kConnectors; ++i) m.threads.emplace_back([&m] { m.connector_loop(); });
  for (std::size_t i = 0; i < m.listeners.size(); ++i) m.threads.emplace_back([&m, i] { m.accept_loop(i); });
  return {};
}

void RelayService::stop() {
  auto& m = *impl_;
  if (m.stopping.exchange(true)) return;
  for (auto& l : m.listeners) l->close();
  m.queue_cv.notify_all();
  for (auto& t : m.threads) {
    if (t.joinable()) t.join();
  }
  m.threads.clear();
  m.queue.clear();
  m.pairs.clear();
  m.by_fd.clear();
  m.handover.clear();
  m.listeners.clear();
}

RelayStats RelayService::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->stats;
}

std::vector<std::string> RelayService::listen_addresses() const { return impl_->addresses; }

}  // namespace notify::relay
