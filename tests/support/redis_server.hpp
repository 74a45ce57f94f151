#pragma once
// A real redis-server for tests: on a unix socket in its own temp dir (no TCP port at all), durable like production
// should run it (appendonly, fsync always), killed and removed on destruction.

#include "host_process.hpp"
#include "wait_until.hpp"

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
    wait_until([&] { return std::filesystem::exists(socket_); }, std::chrono::seconds(10));
  }
  [[nodiscard]] const std::string& socket() const { return socket_; }
  [[nodiscard]] bool running() const { return std::filesystem::exists(socket_); }

 private:
  TempDir dir_;
  std::string socket_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace notify::testing
