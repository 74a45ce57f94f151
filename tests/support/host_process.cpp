#include "host_process.hpp"

#include "wait_until.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace notify::testing {

std::string host_binary() { return NOTIFY_TEST_HOST_BIN; }
std::string plugin_dir() { return NOTIFY_TEST_PLUGIN_DIR; }

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    auto p = base / ("notify-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("TempDir: cannot create a directory in " + base.string());
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  auto p = path_ / name;
  std::ofstream(p) << text;
  return p;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
                           std::filesystem::path output_file)
    : output_(std::move(output_file)) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::to_string(rc));
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

std::string ChildProcess::output() const {
  std::ifstream in(output_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> ChildProcess::wait_for(const std::string& pattern, std::chrono::milliseconds timeout) const {
  const std::regex re(pattern);
  std::optional<std::string> found;
  wait_until(
      [&] {
        const std::string out = output();
        std::smatch m;
        if (std::regex_search(out, m, re)) found = m.size() > 1 ? m[1].str() : m[0].str();
        return found.has_value();
      },
      timeout, std::chrono::milliseconds(20));
  return found;
}

std::size_t ChildProcess::count(const std::string& needle) const {
  std::istringstream in(output());
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  wait_until(
      [&] {
        if (status_) return true;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return true;
      },
      timeout);
  return status_;
}

bool ChildProcess::running() { return !wait(std::chrono::milliseconds(0)).has_value(); }

HostProcess::HostProcess(const std::string& config_yaml, std::map<std::string, std::string> env,
                         std::vector<std::string> extra_args) {
  config_ = dir_.write("host.yaml", config_yaml);
  if (env.find("NOTIFY_PLUGIN_PATH") == env.end()) env["NOTIFY_PLUGIN_PATH"] = plugin_dir();
  std::vector<std::string> argv{host_binary(), "--config", config_.string()};
  for (auto& a : extra_args) argv.push_back(a);
  child_ = std::make_unique<ChildProcess>(std::move(argv), std::move(env), dir_.path() / "output.log");
}

std::optional<std::string> HostProcess::wait_listening(std::chrono::milliseconds timeout) const {
  return child_->wait_for(R"(listening on (\S+))", timeout);
}

CommandResult run_command(std::vector<std::string> argv, std::map<std::string, std::string> env,
                          std::chrono::milliseconds timeout) {
  TempDir dir;
  if (env.find("NOTIFY_PLUGIN_PATH") == env.end()) env["NOTIFY_PLUGIN_PATH"] = plugin_dir();
  ChildProcess child(std::move(argv), std::move(env), dir.path() / "output.log");
  CommandResult r;
  auto code = child.wait(timeout);
  if (!code) {
    child.signal(SIGKILL);
    child.wait(std::chrono::seconds(5));
  }
  r.exit_code = code.value_or(-1);
  r.output = child.output();
  return r;
}

}  // namespace notify::testing
