#pragma once
// Where callbacks may go: https anywhere, plain http only to a loopback host (a receiver on the same machine), since
// the events name users' notifications and their outcomes. Unlike an endpoint URL (toolkit/url.hpp) a callback URL
// names a resource, so it may have a path and a query.

#include <notify/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace notify::callbacks {

struct CallbackUrl {
  std::string scheme;  ///< https or http
  std::string host;    ///< without brackets
  std::uint16_t port = 0;
  std::string target;  ///< path and query, at least "/"
};

/// Parses and checks `url`; errors say what is wrong without naming the setting (the caller adds that).
Result<CallbackUrl> parse_callback_url(std::string_view url);

}  // namespace notify::callbacks
