#pragma once
// What a provider hands the shared HTTP client and what it gets back. A failure says not only what went wrong but
// whether the server may have acted on the request, because that decides whether a retry risks a duplicate push.

#include <notify/result.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace notify::http {

struct Header {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "POST";
  /// Absolute https URL; its host is the TLS server name (SNI and certificate check) whatever the egress address is.
  std::string url;
  std::vector<Header> headers;
  std::string body;  ///< sent as is, with Content-Length; empty = no body
};

struct HttpResponse {
  int status = 0;
  /// Header names in lower case (HTTP/2 sends them so); a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;
  int http_version = 0;  ///< 1 for HTTP/1.x, 2 for HTTP/2

  /// The value of `lower_case_name`, if the response had it.
  [[nodiscard]] std::optional<std::string> header(std::string_view lower_case_name) const;
};

/// Whether a failed request can have been processed by the server.
enum class Sent : std::uint8_t {
  no,     ///< provably not processed: never sent, connection refused, TLS failed, HTTP/2 REFUSED_STREAM: safe to retry
  maybe,  ///< some of it left after the connection was up: the server may have acted on it
};

struct HttpFailure {
  Errc code = Errc::internal;
  Sent sent = Sent::maybe;
  std::string message;  ///< names the method, URL host and what failed; never a header value or the body
};

/// A response (any status), or a failure.
struct HttpResult {
  std::optional<HttpResponse> response;
  HttpFailure failure;  ///< meaningful only without a response

  [[nodiscard]] bool ok() const noexcept { return response.has_value(); }
};

}  // namespace notify::http
