#pragma once
// Turns how a curl transfer ended into an HttpFailure: the error class, and whether the server may have processed
// the request (the provider's retry decision rests on it).

#include <notify/http/http_types.hpp>

#include <curl/curl.h>

#include <optional>
#include <string>
#include <string_view>

namespace notify::http {

/// What the client saw of one transfer before it failed.
struct TransferFacts {
  CURLcode code = CURLE_OK;
  /// Request bytes (headers) were handed to the connection: from here on the server may act on it.
  bool request_left = false;
  /// The server refused the stream of the latest attempt (HTTP/2 REFUSED_STREAM, or above a GOAWAY's last stream
  /// id), as curl's informational text reports it before it retries or gives up.
  bool refused_stream = false;
  /// curl's error text; it may name an HTTP/2 error code such as REFUSED_STREAM.
  std::string curl_error;
  /// The egress transport's own error when it could not connect (curl only says "couldn't connect").
  std::optional<Error> connect_error;
};

/// `what` names the request for the message, e.g. "POST https://example.com" (no path: it may carry ids).
HttpFailure classify_failure(const TransferFacts& facts, std::string_view what);

}  // namespace notify::http
