#include "failure.hpp"

namespace notify::http {
namespace {

// Failures that happen before a request can leave, whatever the client saw: resolving, connecting, TLS.
bool before_sending(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return true;
    default:
      return false;
  }
}

Errc errc_of(const TransferFacts& f) {
  if (f.connect_error) return f.connect_error->code;
  switch (f.code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Errc::timed_out;
    case CURLE_COULDNT_CONNECT:
      return Errc::refused;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Errc::not_found;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return Errc::refused;
    case CURLE_GOT_NOTHING:
      return Errc::closed;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return Errc::protocol_error;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      return Errc::resource_exhausted;
    case CURLE_OUT_OF_MEMORY:
      return Errc::internal;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return Errc::invalid_argument;
    default:
      return Errc::io_error;
  }
}

}  // namespace

HttpFailure classify_failure(const TransferFacts& facts, std::string_view what) {
  HttpFailure out;
  out.code = errc_of(facts);
  // RFC 9113 §8.7: a stream reset with REFUSED_STREAM, or above a GOAWAY's last stream id (which nghttp2 closes with
  // REFUSED_STREAM), was not processed. curl retries those itself on a new connection; this is when that failed too.
  const bool refused_stream = facts.refused_stream || facts.curl_error.find("REFUSED_STREAM") != std::string::npos;
  out.sent = (before_sending(facts.code) || facts.connect_error || !facts.request_left || refused_stream) ? Sent::no
                                                                                                          : Sent::maybe;
  std::string detail =
      facts.connect_error ? facts.connect_error->message
                          : (facts.curl_error.empty() ? std::string(curl_easy_strerror(facts.code)) : facts.curl_error);
  out.message = std::string(what) + ": " + detail +
                (out.sent == Sent::no ? " (not sent)" : " (after the request left: the server may have processed it)");
  return out;
}

}  // namespace notify::http
