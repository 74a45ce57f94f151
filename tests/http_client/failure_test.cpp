// How a failed transfer is classified: what proves the server did not process a request, and what does not.
#include "failure.hpp"

#include <gtest/gtest.h>

using namespace notify;
using namespace notify::http;

namespace {

TransferFacts facts(CURLcode code, bool left, std::string text = {}) {
  TransferFacts f;
  f.code = code;
  f.request_left = left;
  f.curl_error = std::move(text);
  return f;
}

}  // namespace

TEST(HttpFailure, ConnectAndTlsFailuresAreNotSentEvenIfReportedLate) {
  for (auto code :
       {CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_COULDNT_RESOLVE_HOST}) {
    auto f = classify_failure(facts(code, true), "POST https://h:443");
    EXPECT_EQ(f.sent, Sent::no) << curl_easy_strerror(code);
    EXPECT_NE(f.message.find("(not sent)"), std::string::npos);
  }
}

TEST(HttpFailure, AnythingAfterTheRequestLeftMayHaveBeenDelivered) {
  for (auto code : {CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_HTTP2_STREAM,
                    CURLE_HTTP2}) {
    auto f = classify_failure(facts(code, true, "boom"), "POST https://h:443");
    EXPECT_EQ(f.sent, Sent::maybe) << curl_easy_strerror(code);
    EXPECT_NE(f.message.find("may have processed it"), std::string::npos);
  }
}

TEST(HttpFailure, FailuresBeforeTheRequestLeftAreNotSent) {
  // E.g. a send error while writing into a connection that was already dead, or a timeout while queued for one.
  auto f = classify_failure(facts(CURLE_OPERATION_TIMEDOUT, false), "POST https://h:443");
  EXPECT_EQ(f.sent, Sent::no);
  EXPECT_EQ(f.code, Errc::timed_out);
  EXPECT_EQ(classify_failure(facts(CURLE_SEND_ERROR, false), "x").sent, Sent::no);
}

TEST(HttpFailure, Http2RefusedStreamIsNotSentEvenAfterTheRequestLeft) {
  auto f = classify_failure(
      facts(CURLE_HTTP2_STREAM, true, "HTTP/2 stream 3 was not closed cleanly: REFUSED_STREAM (err 7)"), "x");
  EXPECT_EQ(f.sent, Sent::no);
  EXPECT_EQ(f.code, Errc::protocol_error);
  auto other = classify_failure(
      facts(CURLE_HTTP2_STREAM, true, "HTTP/2 stream 3 was not closed cleanly: INTERNAL_ERROR (err 2)"), "x");
  EXPECT_EQ(other.sent, Sent::maybe);
  // curl's own retries of refused streams gave up: what counts is whether the last attempt was refused.
  auto gave_up = facts(CURLE_SEND_ERROR, true, "Connection died, tried 5 times before giving up");
  EXPECT_EQ(classify_failure(gave_up, "x").sent, Sent::maybe);
  gave_up.refused_stream = true;
  EXPECT_EQ(classify_failure(gave_up, "x").sent, Sent::no);
}

TEST(HttpFailure, TheTransportsOwnConnectErrorIsReported) {
  auto f = facts(CURLE_COULDNT_CONNECT, false);
  f.connect_error = Error{Errc::unreachable, "connect to 3:8080: no route"};
  auto out = classify_failure(f, "POST https://h:443");
  EXPECT_EQ(out.code, Errc::unreachable);
  EXPECT_EQ(out.sent, Sent::no);
  EXPECT_NE(out.message.find("connect to 3:8080: no route"), std::string::npos);
}

#include <notify/http/retry_after.hpp>

TEST(RetryAfter, ReadsSecondsAndHttpDatesAndRefusesJunk) {
  using namespace std::chrono;
  const auto now = system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), milliseconds(0));  // already past
  EXPECT_EQ(parse_retry_after("99999999", now), milliseconds(86400000));                // capped at a day
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("", now));
  HttpResponse r;
  EXPECT_FALSE(retry_after(r, now));
  r.headers["retry-after"] = "7";
  EXPECT_EQ(retry_after(r, now), milliseconds(7000));
}
