// link-probe ADDRESS REQUEST_ID TIMES: sends the same notification TIMES over one link connection and prints each
// result. A test helper for what a parent does when it re-sends after a lost acknowledgement.
#include "link/link_client.hpp"
#include "tcp_transport.hpp"

#include <iostream>

namespace {
class StderrLog final : public notify::Log {
 public:
  bool enabled(notify::LogLevel l) const noexcept override { return l >= notify::LogLevel::info; }
  void write(notify::LogLevel, std::string_view m) noexcept override { std::cerr << m << "\n"; }
};
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: link-probe ADDRESS REQUEST_ID TIMES\n";
    return 64;
  }
  StderrLog log;
  notify::link::ClientOptions o;
  o.address = argv[1];
  o.node_name = "link-probe";
  notify::link::LinkClient client(std::make_shared<notify::tcp::TcpTransport>(), o, log);
  client.start();
  notify::Notification n;
  n.request_id = argv[2];
  n.external_user_ids = {"probe-user"};
  n.title = "probe";
  n.message = "probe";
  const int times = std::stoi(argv[3]);
  for (int i = 0; i < times; ++i) {
    auto r = client.deliver(std::span(&n, 1));
    if (!r) {
      std::cerr << "deliver failed: " << r.error().message << "\n";
      return 1;
    }
    std::cout << notify::outcome_name((*r)[0].outcome) << " " << (*r)[0].reference << "\n";
    if ((*r)[0].outcome != notify::Outcome::delivered) return 1;
  }
  return 0;
}
