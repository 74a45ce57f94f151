#pragma once
// A real redis-server for tests: on a unix socket in its own temp dir (no TCP port at all), durable like production
// should run it (appendonly, fsync always), killed and removed on destruction.

#include "host_process.hpp"
#include "wait_until.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace notify::testing {

class RedisServer {
 public:
  RedisServer() {
    socket_ = (dir_.path() / "redis.sock").string();
    start();
  }
  /// Kills the server (SIGKILL: only what appendfsync always made durable survives) and leaves it down.
  void kill() {
    child_.reset();
    std::filesystem::remove(socket_);  // a killed server leaves its socket file behind
  }
  /// Starts it again on the same socket and directory: it reloads its append-only file.
  void start() {
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/redis-server", "--port", "0", "--unixsocket", socket_, "--dir",
                                 dir_.path().string(), "--appendonly", "yes", "--appendfsync", "always", "--save", ""},
        std::map<std::string, std::string>{}, dir_.path() / "redis.log");
    // Ready means answering PING, not merely having its socket file: the file exists from bind(), before listen()
    // (a connect then is refused), and after a restart Redis answers LOADING until its append-only file is read.
    wait_until([&] { return answers_ping(); }, std::chrono::seconds(10));
  }
  [[nodiscard]] const std::string& socket() const { return socket_; }
  [[nodiscard]] bool running() const { return std::filesystem::exists(socket_); }

 private:
  [[nodiscard]] bool answers_ping() const {
    if (!std::filesystem::exists(socket_)) return false;
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      timeval tv{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      const char ping[] = "PING\r\n";
      char reply[16] = {};
      ok = ::write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1) &&
           ::read(fd, reply, sizeof(reply) - 1) >= 5 && std::strncmp(reply, "+PONG", 5) == 0;
    }
    ::close(fd);
    return ok;
  }

  TempDir dir_;
  std::string socket_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace notify::testing
