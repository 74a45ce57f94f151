#pragma once
// Real child processes for integration tests: a notify-host started from a YAML text, its output captured to a
// file that tests can wait on, and cleanup that never leaves a process behind.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace notify::testing {

/// Absolute path of the built notify-host binary and of the build's plugin folder.
std::string host_binary();
std::string plugin_dir();

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `text` to a file in the directory and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

/// A running child process whose stdout+stderr go to a file.
class ChildProcess {
 public:
  /// Starts argv[0] with argv; `env` is added to (and overrides) this process's environment.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
               std::filesystem::path output_file);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILL if still running, then reap

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] std::string output() const;
  /// Polls the output until `pattern` (ECMAScript regex) matches; returns capture group 1 (or the whole match).
  std::optional<std::string> wait_for(const std::string& pattern, std::chrono::milliseconds timeout) const;
  /// Counts lines of output containing `needle`.
  [[nodiscard]] std::size_t count(const std::string& needle) const;
  void signal(int sig) const;
  /// Waits for exit; returns the exit code, or 128+signal, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  [[nodiscard]] bool running();

 private:
  pid_t pid_ = -1;
  std::filesystem::path output_;
  std::optional<int> status_;
};

/// A notify-host started with a config given as YAML text (written to a temp file). NOTIFY_PLUGIN_PATH points at the
/// build's plugins unless `env` says otherwise.
class HostProcess {
 public:
  explicit HostProcess(const std::string& config_yaml, std::map<std::string, std::string> env = {},
                       std::vector<std::string> extra_args = {});
  [[nodiscard]] ChildProcess& process() noexcept { return *child_; }
  [[nodiscard]] const std::filesystem::path& config_path() const noexcept { return config_; }
  [[nodiscard]] std::string output() const { return child_->output(); }
  std::optional<std::string> wait_for(const std::string& pattern, std::chrono::milliseconds timeout) const {
    return child_->wait_for(pattern, timeout);
  }
  /// Waits for "listening on ADDRESS" and returns ADDRESS.
  std::optional<std::string> wait_listening(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  void signal(int sig) const { child_->signal(sig); }
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return child_->wait(timeout);
  }

 private:
  TempDir dir_;
  std::filesystem::path config_;
  std::unique_ptr<ChildProcess> child_;
};

struct CommandResult {
  int exit_code = -1;  // 128+signal when killed; -1 on timeout
  std::string output;
};
/// Runs a command to completion (bounded by `timeout`, then SIGKILL) and returns its exit code and output.
CommandResult run_command(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace notify::testing
