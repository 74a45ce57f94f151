#pragma once
// Endpoint URLs of the form scheme://host[:port][/] (Braze's REST endpoint, KMS's, IMDS's), read with Poco::URI so
// a bracketed IPv6 host ("https://[::1]:8443") reads as it should. An endpoint names a server, not a resource: a
// path other than "/", a query, a fragment or user info is refused, as is a scheme the caller does not list.

#include <notify/result.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace notify::toolkit {

struct UrlEndpoint {
  std::string scheme;      ///< lower case, one of those the caller allowed
  std::string host;        ///< lower case, without brackets: "::1", not "[::1]"
  std::uint16_t port = 0;  ///< as given, or the scheme's default (443 for https, 80 for http)

  /// "host:port" with an IPv6 host bracketed: a transport address.
  [[nodiscard]] std::string authority() const;
  /// The HTTP Host header: the host (bracketed if IPv6), with ":port" unless it is the scheme's default.
  [[nodiscard]] std::string host_header() const;
};

/// Parses `url`, allowing only `schemes` (e.g. {"https"}). `what` names the setting in errors ("braze endpoint").
Result<UrlEndpoint> parse_endpoint_url(std::string_view url, std::initializer_list<std::string_view> schemes,
                                       std::string_view what);

}  // namespace notify::toolkit
