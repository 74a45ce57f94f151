// notify-ctl: the operator's tool. One file per command group; this file only parses options (Poco::Util) and
// dispatches.
//
//   notify-ctl attestation verify FILE [--pcrs F] [--pcr0|1|2|8 HEX] [--nonce HEX] [--at RFC3339] [--allow-debug]
//                                      [--allow-development]
//   Sealed provisioning without KMS; the plaintext only ever on a trusted workstation:
//   notify-ctl attest --out DOC [--address A] [--transport tcp|vsock]                       (on the parent)
//   notify-ctl seal --doc DOC --expect-pcrs F | --pcr0|1|2|8 HEX --secret NAME --from-file F --out BLOB
//                   [--sign-key PEM] [--allow-debug] [--allow-development]                  (on the workstation)
//   notify-ctl provision --blob BLOB [--secret NAME] [--address A] [--transport tcp|vsock]  (on the parent)
//   notify-ctl provision --secret NAME --from-file F --expect-pcrs F [...]  DEV ONLY: all of the above in one go
//   notify-ctl send --user U[,U] --message M [--title T] [--request-id ID] [--data k=v,...] | send --file F
//   notify-ctl status ID | health | dead list | dead retry ID         [--url URL] [--token T] [--json]
//   notify-ctl enclave status [--address A] [--transport tcp|vsock] [--json]    (on the parent: over the link)

#include "ctl_options.hpp"

#include <Poco/Util/Application.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <iostream>

namespace notify::ctl {
int attestation_verify(const CtlOptions& options, const std::vector<std::string>& args);
int attest(const CtlOptions& options);
int seal(const CtlOptions& options);
int provision(const CtlOptions& options);
int http_send(const CtlOptions& options);
int http_status(const CtlOptions& options, const std::string& id);
int http_health(const CtlOptions& options);
int http_dead(const CtlOptions& options, const std::vector<std::string>& args);
int enclave_status(const CtlOptions& options);
}  // namespace notify::ctl

namespace {

using notify::ctl::CtlOptions;

class NotifyCtl final : public Poco::Util::Application {
 protected:
  void defineOptions(Poco::Util::OptionSet& set) override {
    Application::defineOptions(set);
    auto value = [&](const char* name, const char* arg, const char* help) {
      set.addOption(Poco::Util::Option(name, "", help)
                        .argument(arg)
                        .repeatable(false)
                        .callback(Poco::Util::OptionCallback<NotifyCtl>(this, &NotifyCtl::set_value)));
    };
    auto flag = [&](const char* name, const char* help) {
      set.addOption(Poco::Util::Option(name, "", help)
                        .callback(Poco::Util::OptionCallback<NotifyCtl>(this, &NotifyCtl::set_value)));
    };
    value("pcrs", "FILE", "expected PCRs: {\"PCR0\": \"hex\", ...} or nitro-cli build-enclave output");
    value("expect-pcrs", "FILE", "same as --pcrs (seal, provision)");
    for (const char* pcr : {"pcr0", "pcr1", "pcr2", "pcr8"}) value(pcr, "HEX", "expected PCR value (overrides --pcrs)");
    value("nonce", "HEX", "expected nonce");
    value("at", "TIME", "verify at this RFC 3339 UTC time, e.g. 2024-09-07T14:37:39Z (default: now)");
    flag("allow-debug", "accept debug-mode documents (PCR0 all zeros)");
    flag("allow-development", "accept development attestation (not AWS Nitro; dev only)");
    value("secret", "NAME", "secret name in the enclave, e.g. braze.api_key");
    value("from-file", "FILE", "file holding the secret (a trailing newline is dropped)");
    value("out", "FILE", "attest: where to write the document (raw CBOR); seal: where to write the blob");
    value("doc", "FILE", "seal: the attestation document from notify-ctl attest");
    value("sign-key", "FILE", "seal: the operator's private key (PEM, ECDSA P-256 or Ed25519) to sign the blob with");
    value("blob", "FILE", "provision: a blob sealed by notify-ctl seal");
    value("address", "ADDR", "enclave link address (default: ${ENCLAVE_CID:-16}:${ENCLAVE_PORT:-5000} on vsock)");
    value("transport", "NAME", "tcp or vsock (default vsock)");
    value("url", "URL", "parent HTTP API (default $NOTIFY_HTTP_URL or http://127.0.0.1:8088)");
    value("token", "TOKEN", "bearer token (default $NOTIFY_HTTP_TOKEN)");
    flag("json", "print the API's JSON");
    value("user", "IDS", "send: external_user_id(s), comma-separated");
    value("device-tokens", "TOKENS", "send: device token(s), comma-separated (FCM, APNs)");
    value("topic", "NAME", "send: an FCM topic");
    value("provider", "NAME", "send: the provider instance on the enclave (default: its default)");
    value("title", "TEXT", "send: title");
    value("message", "TEXT", "send: message");
    value("request-id", "ID", "send: idempotency key (default: a new UUID)");
    value("data", "K=V,...", "send: custom_data");
    value("campaign-id", "ID", "send: Braze campaign");
    value("file", "FILE", "send: a notification (or {\"notifications\": [...]}) as JSON");
    set.addOption(Poco::Util::Option("help", "h", "show help")
                      .callback(Poco::Util::OptionCallback<NotifyCtl>(this, &NotifyCtl::set_help)));
  }

  int main(const std::vector<std::string>& args) override {
    if (help_ || args.empty()) {
      Poco::Util::HelpFormatter f(options());
      f.setCommand(commandName());
      f.setUsage(
          "attestation verify FILE | attest --out DOC | seal --doc DOC --expect-pcrs F --secret NAME "
          "--from-file F --out BLOB | provision --blob BLOB | send ... | status ID | health | dead list | "
          "dead retry ID | enclave status");
      f.setHeader("Enclave Notify operator tool.");
      f.setFooter(
          "Without KMS, a secret is sealed offline: attest on the parent, seal on a trusted workstation, "
          "provision --blob on the parent. provision --secret NAME --from-file F --expect-pcrs F does all "
          "three at once and is DEV ONLY: it reads the plaintext on the machine it runs on.");
      f.format(help_ ? std::cout : std::cerr);
      return help_ ? EXIT_OK : EXIT_USAGE;
    }
    if (args.size() >= 2 && args[0] == "attestation" && args[1] == "verify") {
      return notify::ctl::attestation_verify(options_, {args.begin() + 2, args.end()});
    }
    if (args[0] == "attest" && args.size() == 1) return notify::ctl::attest(options_);
    if (args[0] == "seal" && args.size() == 1) return notify::ctl::seal(options_);
    if (args[0] == "provision" && args.size() == 1) return notify::ctl::provision(options_);
    if (args[0] == "send" && args.size() == 1) return notify::ctl::http_send(options_);
    if (args[0] == "status" && args.size() == 2) return notify::ctl::http_status(options_, args[1]);
    if (args[0] == "health" && args.size() == 1) return notify::ctl::http_health(options_);
    if (args[0] == "dead") return notify::ctl::http_dead(options_, {args.begin() + 1, args.end()});
    if (args[0] == "enclave" && args.size() == 2 && args[1] == "status") return notify::ctl::enclave_status(options_);
    std::cerr << "notify-ctl: unknown command '" << args[0] << (args.size() > 1 ? " " + args[1] : "")
              << "' (see --help)\n";
    return EXIT_USAGE;
  }

 private:
  void set_value(const std::string& name, const std::string& value) { options_.values[name] = value; }
  void set_help(const std::string&, const std::string&) {
    help_ = true;
    stopOptionsProcessing();
  }
  CtlOptions options_;
  bool help_ = false;
};

}  // namespace

POCO_APP_MAIN(NotifyCtl)
