// notify-host: the one binary that runs on the parent and inside the enclave. What it does comes only from its config.
//
//   notify-host --config FILE         run the services FILE declares until SIGINT/SIGTERM
//   notify-host --check-config FILE   validate FILE (and the plugin blocks in it), print it resolved and redacted
//   notify-host --list-plugins        list the plugins found in the search path

#include "host/host_runtime.hpp"

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <iostream>

namespace {

constexpr int kExitConfig = 78;  // EX_CONFIG from sysexits.h

class NotifyHostApp final : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(Poco::Util::OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("config", "c", "run the services declared in FILE")
                          .argument("FILE")
                          .repeatable(false)
                          .callback(Poco::Util::OptionCallback<NotifyHostApp>(this, &NotifyHostApp::set_config)));
    options.addOption(Poco::Util::Option("check-config", "", "validate FILE, print it resolved with secrets redacted")
                          .argument("FILE")
                          .repeatable(false)
                          .callback(Poco::Util::OptionCallback<NotifyHostApp>(this, &NotifyHostApp::set_check)));
    options.addOption(
        Poco::Util::Option("list-plugins", "", "list plugins in the search path (with -c: its plugins.path)")
            .callback(Poco::Util::OptionCallback<NotifyHostApp>(this, &NotifyHostApp::set_list)));
    options.addOption(Poco::Util::Option("help", "h", "show this help")
                          .callback(Poco::Util::OptionCallback<NotifyHostApp>(this, &NotifyHostApp::set_help)));
  }

  int main(const std::vector<std::string>& args) override {
    if (help_) {
      Poco::Util::HelpFormatter f(options());
      f.setCommand(commandName());
      f.setUsage("--config FILE | --check-config FILE | --list-plugins");
      f.setHeader("Enclave Notify host: loads transport and provider plugins and runs the services its YAML declares.");
      f.format(std::cout);
      return EXIT_OK;
    }
    if (!args.empty()) {
      std::cerr << "notify-host: unexpected argument '" << args.front() << "' (see --help)\n";
      return EXIT_USAGE;
    }
    if (list_) return list_plugins();
    if (!check_.empty()) return check_config();
    if (config_.empty()) {
      std::cerr << "notify-host: give --config FILE, --check-config FILE or --list-plugins (see --help)\n";
      return EXIT_USAGE;
    }
    return run_services();
  }

 private:
  void set_config(const std::string&, const std::string& v) { config_ = v; }
  void set_check(const std::string&, const std::string& v) { check_ = v; }
  void set_list(const std::string&, const std::string&) { list_ = true; }
  void set_help(const std::string&, const std::string&) {
    help_ = true;
    stopOptionsProcessing();
  }

  int run_services() {
    auto rt = notify::host::HostRuntime::create(config_, [] { Poco::Util::ServerApplication::terminate(); });
    if (!rt) {
      std::cerr << "notify-host: " << rt.error().message << "\n";
      return kExitConfig;
    }
    auto& runtime = *rt.value();
    runtime.log().info("notify-host starting with " + config_);
    if (auto st = runtime.start(); !st) {
      runtime.log().error("start failed: " + st.message());
      return EXIT_SOFTWARE;
    }
    waitForTerminationRequest();
    runtime.log().info("shutting down: finishing in-flight work");
    runtime.stop();
    runtime.log().info("stopped");
    return EXIT_OK;
  }

  int check_config() {
    auto rt = notify::host::HostRuntime::create(check_, {}, notify::host::HostRuntime::Mode::check);
    if (!rt) {
      std::cerr << rt.error().message << "\n";
      return kExitConfig;
    }
    std::cout << "# " << check_ << ": OK (secrets redacted)\n" << rt.value()->document().dump_redacted() << "\n";
    return EXIT_OK;
  }

  int list_plugins() {
    std::shared_ptr<notify::config::ConfigDocument> doc;
    if (!config_.empty()) {
      auto d = notify::config::ConfigDocument::load(config_, notify::config::process_env());
      if (!d) {
        std::cerr << d.error().message << "\n";
        return kExitConfig;
      }
      doc = d.value();
    }
    notify::plugin::PluginRegistry registry(notify::host::plugin_search_path(doc.get()));
    std::cout << "search path:";
    for (const auto& p : registry.search_path()) std::cout << " " << p.string();
    std::cout << "\n";
    // Every plugin that loads carries exactly this fingerprint; the ones that do not are listed with what differs.
    std::cout << "host build: abi " << notify::kAbiVersion << ", "
              << notify::plugin::describe(notify::plugin::host_fingerprint()) << "\n";
    int bad = 0;
    for (auto& [file, loaded] : registry.discover()) {
      if (!loaded) {
        ++bad;
        std::cout << "  ! " << loaded.error().message << "\n";
        continue;
      }
      const auto* d = loaded->descriptor;
      std::cout << "  " << notify::plugin_kind_name(d->kind) << " " << d->name << " " << d->version << " (abi "
                << d->abi_version << ") " << file.string() << "\n      " << d->summary << "\n";
      for (std::size_t i = 0; i < d->config_schema_size; ++i) {
        const auto& f = d->config_schema[i];
        std::cout << "      - " << f.key << (f.required ? " (required)" : "")
                  << (f.default_value ? std::string(" [default ") + f.default_value + "]" : "") << ": "
                  << (f.doc ? f.doc : "") << "\n";
      }
    }
    return bad == 0 ? EXIT_OK : EXIT_SOFTWARE;
  }

  std::string config_;
  std::string check_;
  bool list_ = false;
  bool help_ = false;
};

}  // namespace

POCO_SERVER_MAIN(NotifyHostApp)
