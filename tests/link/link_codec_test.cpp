// Frame and message codecs: round trips and every malformed input, without sockets.
#include "link/cbor_stream.hpp"
#include "link/frame.hpp"
#include "link/messages.hpp"

#include <gtest/gtest.h>

#include <functional>

using namespace notify;
using namespace notify::link;

namespace {
std::array<std::byte, kHeaderSize> header_of(const std::vector<std::byte>& frame) {
  std::array<std::byte, kHeaderSize> h{};
  std::copy_n(frame.begin(), kHeaderSize, h.begin());
  return h;
}
}  // namespace

TEST(Frame, HeaderRoundTrip) {
  auto frame = encode_frame(MessageType::deliver_request, 0x0102030405060708ULL, "payload");
  ASSERT_EQ(frame.size(), kHeaderSize + 7);
  auto h = decode_header(header_of(frame), 1024);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->type, MessageType::deliver_request);
  EXPECT_EQ(h->correlation_id, 0x0102030405060708ULL);
  EXPECT_EQ(h->payload_size, 7u);
  EXPECT_EQ(h->major, kProtocolMajor);
}

TEST(Frame, BadMagicIsRefused) {
  auto frame = encode_frame(MessageType::health_request, 1, "{}");
  frame[0] = std::byte{'G'};
  frame[1] = std::byte{'E'};
  auto h = decode_header(header_of(frame), 1024);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, Errc::protocol_error);
  EXPECT_NE(h.error().message.find("bad magic"), std::string::npos);
}

TEST(Frame, OversizedLengthIsRefusedFromTheHeaderAlone) {
  FrameHeader fh;
  fh.type = MessageType::deliver_request;
  fh.payload_size = 0xFFFFFFFFu;  // 4 GiB: must be refused without allocating
  auto h = decode_header(encode_header(fh), 4u << 20);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, Errc::resource_exhausted);
  EXPECT_NE(h.error().message.find("exceeds the maximum"), std::string::npos);
}

TEST(Frame, UnknownTypeAndReservedBytesAreRefused) {
  auto frame = encode_frame(MessageType::health_request, 1, "");
  auto bad_type = frame;
  bad_type[4] = std::byte{200};
  EXPECT_FALSE(decode_header(header_of(bad_type), 10).ok());
  auto bad_reserved = frame;
  bad_reserved[6] = std::byte{1};
  EXPECT_FALSE(decode_header(header_of(bad_reserved), 10).ok());
}

TEST(Frame, OtherMajorIsReportedNotHidden) {
  FrameHeader fh;
  fh.major = kProtocolMajor + 1;
  fh.type = MessageType::hello;
  auto h = decode_header(encode_header(fh), 10);
  ASSERT_TRUE(h.ok());  // the handshake, not the decoder, decides
  EXPECT_EQ(h->major, kProtocolMajor + 1);
}

TEST(Messages, DeliverRequestRoundTripKeepsEveryField) {
  std::vector<Notification> batch(2);
  batch[0].request_id = "r1";
  batch[0].external_user_ids = {"a", "b"};
  batch[0].title = "Tïtle \"q\"";
  batch[0].message = "line\nbreak";
  batch[0].custom_data = {{"k", "v"}};
  batch[0].trigger_properties_json = R"({"x":[1,2]})";
  batch[0].provider = "braze";
  batch[0].campaign_id = "c1";
  batch[1].request_id = "r2";
  batch[1].external_user_ids = {"c"};
  batch[1].canvas_id = "cv";
  auto request = decode_deliver_request(encode_deliver_request(batch, std::chrono::milliseconds(2500)));
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->budget, std::chrono::milliseconds(2500));
  const auto* decoded = &request->notifications;
  ASSERT_EQ(decoded->size(), 2u);
  const auto& n = (*decoded)[0];
  EXPECT_EQ(n.request_id, "r1");
  EXPECT_EQ(n.external_user_ids, batch[0].external_user_ids);
  EXPECT_EQ(n.title, batch[0].title);
  EXPECT_EQ(n.message, batch[0].message);
  EXPECT_EQ(n.custom_data, batch[0].custom_data);
  EXPECT_EQ(n.trigger_properties_json, batch[0].trigger_properties_json);
  EXPECT_EQ(n.provider, "braze");
  EXPECT_EQ(n.campaign_id, "c1");
  EXPECT_EQ((*decoded)[1].canvas_id, "cv");
}

TEST(Messages, DeliverReplyRoundTrip) {
  std::vector<DeliveryResult> rs = {DeliveryResult::delivered("d-1"), DeliveryResult::rejected("bad"),
                                    DeliveryResult::retryable("429", std::chrono::milliseconds(1500))};
  auto d = decode_deliver_reply(encode_deliver_reply(rs));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].reference, "d-1");
  EXPECT_EQ((*d)[1].outcome, Outcome::rejected);
  EXPECT_EQ((*d)[2].retry_after, std::chrono::milliseconds(1500));
}

namespace {
// Hand-built CBOR for the bad cases: what a broken or hostile parent could send.
std::string cbor_of(const std::function<void(cbor::Writer&)>& build) {
  std::string out;
  cbor::Writer w(out);
  build(w);
  return out;
}

// A notification record with the schema's nine fields, the given request_id written by `id`.
void notification_fields(cbor::Writer& w, const std::function<void(cbor::Writer&)>& id, std::size_t fields = 9) {
  w.array(fields);
  id(w);
  w.array(1);
  w.text("u");
  for (std::size_t i = 2; i < fields; ++i) {
    if (i == 4) {
      w.map(0);
    } else {
      w.text("");
    }
  }
}
}  // namespace

TEST(Messages, StrictDecodingNamesTheFieldAndTheOffset) {
  struct Case {
    std::string payload;
    const char* expect;
  } cases[] = {
      {"", "message ends early"},
      {std::string("\xff", 1), "a break is not part of the link protocol"},
      {std::string("\x9f", 1), "an indefinite-length item is not part of the link protocol"},
      {cbor_of([](auto& w) { w.text("deliver"); }), "deliver: expected an array, got a text string"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.uint(5);
       }),
       "notifications: expected an array, got an unsigned integer"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(1);
         w.uint(7);
       }),
       "notifications[0]: expected an array, got an unsigned integer"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(1);
         notification_fields(w, [](auto& v) { v.uint(1); });
       }),
       "notifications[0].request_id: expected a text string, got an unsigned integer"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(1);
         notification_fields(
             w, [](auto& v) { v.text("a"); }, 8);
       }),
       "notifications[0]: 8 elements, expected 9..64"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(1);
         w.array(9);
         w.text("a");
         w.array(2);
         w.text("u");
         w.uint(3);
         for (int i = 0; i < 7; ++i) w.text("");
       }),
       "notifications[0].external_user_ids[1]: expected a text string"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(1);
         w.array(9);
         w.text("a");
         w.array(1);
         w.text("u");
         w.text("t");
         w.text("m");
         w.map(1);
         w.text("k");
         w.uint(1);
         for (int i = 0; i < 4; ++i) w.text("");
       }),
       "notifications[0].custom_data.k: expected a text string"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.text("soon");
       }),
       "budget_ms: expected an unsigned integer, got a text string"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(3600001);
         w.array(0);
       }),
       "budget_ms: 3600001 is more than 3600000"},
      {std::string("\x82\x24\x80", 3), "a negative integer is not part of the link protocol"},
      {std::string("\x82\xf9\x3c\x00\x80", 5), "a float is not part of the link protocol"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(0);
         w.uint(9);
       }),
       "bytes after the message"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(5000);
       }),
       "notifications: 5000 elements, expected 0..1000"},
      {cbor_of([](auto& w) {
         w.array(2);
         w.uint(0);
         w.array(900);
       }),
       "(more than the message carries)"},
      {std::string("\x63"
                   "ab",
                   3),
       "message ends inside an item"},
  };
  for (const auto& c : cases) {
    auto d = decode_deliver_request(c.payload);
    ASSERT_FALSE(d.ok()) << c.expect;
    EXPECT_EQ(d.error().code, Errc::protocol_error);
    EXPECT_NE(d.error().message.find(c.expect), std::string::npos) << c.expect << " → " << d.error().message;
    EXPECT_NE(d.error().message.find("(at byte "), std::string::npos) << d.error().message;
  }
}

TEST(Messages, ARecordFromANewerMinorVersionHasItsExtraFieldsSkipped) {
  const auto payload = cbor_of([](auto& w) {
    w.array(3);  // a later minor's third field
    w.uint(2500);
    w.array(1);
    w.array(17);  // two fields this version does not know
    w.text("r-1");
    w.array(1);
    w.text("u");
    w.text("t");
    w.text("m");
    w.map(0);
    for (int i = 0; i < 4; ++i) w.text("");
    w.array(1);  // 2.2: device_tokens, topic, ttl_s, priority, collapse_key, condition
    w.text("tok");
    w.text("");
    w.uint(60);
    w.uint(2);
    w.text("ck");
    w.text("");
    w.map(1);
    w.text("new");
    w.array(2);
    w.uint(1);
    w.uint(2);
    w.text("later");
    w.text("ignored");
  });
  auto d = decode_deliver_request(payload);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->notifications.size(), 1u);
  EXPECT_EQ(d->notifications[0].request_id, "r-1");
  EXPECT_EQ(d->notifications[0].message, "m");
  EXPECT_EQ(d->notifications[0].device_tokens, std::vector<std::string>{"tok"});
  EXPECT_EQ(d->notifications[0].collapse_key, "ck");
  EXPECT_EQ(d->budget, std::chrono::milliseconds(2500));
}

TEST(Messages, ARecordFromA21ParentHasTheNewFieldsAtTheirDefaults) {
  const auto payload = cbor_of([](auto& w) {
    w.array(2);
    w.uint(0);
    w.array(1);
    notification_fields(w, [](auto& x) { x.text("old-1"); });
  });
  auto d = decode_deliver_request(payload);
  ASSERT_TRUE(d.ok()) << d.error().message;
  const auto& n = d->notifications.at(0);
  EXPECT_EQ(n.request_id, "old-1");
  EXPECT_EQ(n.external_user_ids, std::vector<std::string>{"u"});
  EXPECT_TRUE(n.device_tokens.empty());
  EXPECT_TRUE(n.topic.empty());
  EXPECT_EQ(n.ttl, std::chrono::seconds(0));
  EXPECT_EQ(n.priority, Priority::unset);
  // And a 2.1 reply (four fields per result) reads with no token results.
  const auto reply = cbor_of([](auto& w) {
    w.array(1);
    w.array(4);
    w.uint(0);
    w.text("ref");
    w.text("");
    w.uint(0);
  });
  auto r = decode_deliver_reply(reply);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at(0).reference, "ref");
  EXPECT_TRUE(r->at(0).tokens.empty());
}

TEST(Messages, DeviceTokenFieldsAndTokenResultsRoundTrip) {
  Notification n;
  n.request_id = "t-1";
  n.device_tokens = {"aa", "bb", "cc"};
  n.topic = "news";
  n.ttl = std::chrono::seconds(3600);
  n.priority = Priority::high;
  n.collapse_key = "score";
  n.condition = "'a' in topics && 'b' in topics";
  auto d = decode_deliver_request(encode_deliver_request(std::span(&n, 1)));
  ASSERT_TRUE(d.ok()) << d.error().message;
  const auto& m = d->notifications.at(0);
  EXPECT_EQ(m.device_tokens, n.device_tokens);
  EXPECT_EQ(m.topic, "news");
  EXPECT_EQ(m.ttl, std::chrono::seconds(3600));
  EXPECT_EQ(m.priority, Priority::high);
  EXPECT_EQ(m.collapse_key, "score");
  EXPECT_EQ(m.condition, "'a' in topics && 'b' in topics");

  std::vector<DeliveryResult> rs = {
      DeliveryResult::from_tokens({{"aa", TokenOutcome::delivered, "msg-1", ""},
                                   {"bb", TokenOutcome::invalid_token, "", "410 Unregistered"},
                                   {"cc", TokenOutcome::retryable, "", "503"}},
                                  std::chrono::milliseconds(700))};
  EXPECT_EQ(rs[0].outcome, Outcome::retryable);
  auto r = decode_deliver_reply(encode_deliver_reply(rs));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& x = r->at(0);
  EXPECT_EQ(x.outcome, Outcome::retryable);
  EXPECT_EQ(x.retry_after, std::chrono::milliseconds(700));
  ASSERT_EQ(x.tokens.size(), 3u);
  EXPECT_EQ(x.tokens[0].token, "aa");
  EXPECT_EQ(x.tokens[0].outcome, TokenOutcome::delivered);
  EXPECT_EQ(x.tokens[0].reference, "msg-1");
  EXPECT_EQ(x.tokens[1].outcome, TokenOutcome::invalid_token);
  EXPECT_EQ(x.tokens[1].reason, "410 Unregistered");
  EXPECT_EQ(x.tokens[2].outcome, TokenOutcome::retryable);
}

TEST(Messages, NotificationOutcomeFollowsItsTokens) {
  using T = TokenOutcome;
  auto of = [](std::vector<T> outcomes) {
    std::vector<TokenResult> ts;
    for (auto o : outcomes) ts.push_back({"t" + std::to_string(ts.size()), o, "ref", "why"});
    return DeliveryResult::from_tokens(std::move(ts)).outcome;
  };
  EXPECT_EQ(of({T::delivered, T::delivered}), Outcome::delivered);
  EXPECT_EQ(of({T::delivered, T::retryable}), Outcome::retryable);
  EXPECT_EQ(of({T::invalid_token, T::retryable}), Outcome::retryable);
  EXPECT_EQ(of({T::delivered, T::invalid_token}), Outcome::delivered);
  EXPECT_EQ(of({T::rejected, T::invalid_token}), Outcome::rejected);
  EXPECT_EQ(of({T::invalid_token}), Outcome::rejected);
  EXPECT_EQ(of({}), Outcome::rejected);
}

TEST(Messages, DeliverPartRoundTripAndRefusals) {
  DeliveryResult tokens = DeliveryResult::delivered("d-2");
  tokens.tokens = {{"tok-a", TokenOutcome::invalid_token, "", "gone"}};
  const std::vector<PartResult> part = {{3, DeliveryResult::rejected("bad")}, {999, tokens}};
  auto d = decode_deliver_part(encode_deliver_part(part));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].index, 3u);
  EXPECT_EQ((*d)[0].result.outcome, Outcome::rejected);
  EXPECT_EQ((*d)[0].result.reason, "bad");
  EXPECT_EQ((*d)[1].index, 999u);
  ASSERT_EQ((*d)[1].result.tokens.size(), 1u);
  EXPECT_EQ((*d)[1].result.tokens[0].outcome, TokenOutcome::invalid_token);
  // An index no batch can have (a deliver carries at most 1000), an empty part, and trailing bytes: each refused.
  const auto far = cbor_of([](auto& w) {
    w.array(1);
    w.array(2);
    w.uint(1000);
    w.array(4);
    w.uint(0);
    w.text("");
    w.text("");
    w.uint(0);
  });
  auto a = decode_deliver_part(far);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("results[0].index"), std::string::npos) << a.error().message;
  auto b = decode_deliver_part(cbor_of([](auto& w) { w.array(0); }));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("deliver_part"), std::string::npos) << b.error().message;
  auto c = decode_deliver_part(encode_deliver_part(part) + "x");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("bytes after the message"), std::string::npos) << c.error().message;
}

TEST(Messages, HostileTokenFieldsAreBoundedBeforeAnythingIsReserved) {
  // A token-result count the bytes cannot carry, an outcome past invalid_token, a priority past high, a ttl past a
  // year: each refused by name.
  const auto many = cbor_of([](auto& w) {
    w.array(1);
    w.array(5);
    w.uint(0);
    w.text("");
    w.text("");
    w.uint(0);
    w.array(1000);  // claims 1000 token results, carries none
  });
  auto a = decode_deliver_reply(many);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("results[0].tokens"), std::string::npos) << a.error().message;
  const auto too_many = cbor_of([](auto& w) {
    w.array(1);
    w.array(5);
    w.uint(0);
    w.text("");
    w.text("");
    w.uint(0);
    w.array(1001);
  });
  auto b = decode_deliver_reply(too_many);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("results[0].tokens"), std::string::npos) << b.error().message;
  const auto bad_outcome = cbor_of([](auto& w) {
    w.array(1);
    w.array(5);
    w.uint(2);
    w.text("");
    w.text("");
    w.uint(0);
    w.array(1);
    w.array(4);
    w.text("tok");
    w.uint(4);
    w.text("");
    w.text("");
  });
  auto c = decode_deliver_reply(bad_outcome);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("results[0].tokens[0].outcome: 4 is more than 3"), std::string::npos)
      << c.error().message;
  auto request_with = [](std::uint64_t ttl, std::uint64_t priority, std::size_t tokens) {
    return cbor_of([&](auto& w) {
      w.array(2);
      w.uint(0);
      w.array(1);
      w.array(14);
      w.text("h");
      w.array(1);
      w.text("u");
      w.text("");
      w.text("");
      w.map(0);
      for (int i = 0; i < 4; ++i) w.text("");
      w.array(tokens);  // a claimed count; at most two tokens follow
      for (std::size_t i = 0; i < tokens && i < 2; ++i) w.text("tok");
      w.text("");
      w.uint(ttl);
      w.uint(priority);
      w.text("");
    });
  };
  auto ok = decode_deliver_request(request_with(60, 2, 2));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  auto ttl = decode_deliver_request(request_with(365ULL * 24 * 3600 + 1, 0, 2));
  ASSERT_FALSE(ttl.ok());
  EXPECT_NE(ttl.error().message.find("ttl_s"), std::string::npos) << ttl.error().message;
  auto prio = decode_deliver_request(request_with(0, 3, 2));
  ASSERT_FALSE(prio.ok());
  EXPECT_NE(prio.error().message.find("priority: 3 is more than 2"), std::string::npos) << prio.error().message;
  auto count = decode_deliver_request(request_with(0, 0, 1001));
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.error().message.find("device_tokens"), std::string::npos) << count.error().message;
}

TEST(Messages, BadOutcomeAndBadBase64AreRefused) {
  const auto reply = cbor_of([](auto& w) {
    w.array(1);
    w.array(4);
    w.uint(3);
    w.text("");
    w.text("");
    w.uint(0);
  });
  auto r = decode_deliver_reply(reply);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("results[0].outcome: 3 is more than 2"), std::string::npos) << r.error().message;
  auto p = decode_provision_request(R"({"secret_name": "x", "mode": "sealed", "payload": "**"})");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("payload: not base64"), std::string::npos);
  auto m = decode_provision_request(R"({"secret_name": "x", "mode": "clear", "payload": ""})");
  ASSERT_FALSE(m.ok());
}

TEST(Messages, ProvisionAndAttestRoundTripBinary) {
  ProvisionRequest req{"braze.api_key", ProvisionMode::sealed, {std::byte{0}, std::byte{255}, std::byte{10}}};
  auto d = decode_provision_request(encode_provision_request(req));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->payload, req.payload);
  EXPECT_EQ(d->mode, ProvisionMode::sealed);
  AttestReply rep{{std::byte{1}, std::byte{2}}, true};
  auto a = decode_attest_reply(encode_attest_reply(rep));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->document, rep.document);
  EXPECT_TRUE(a->development);
}

TEST(Messages, AttestRequestCarriesItsPurposeAndRefusesAnUnknownOne) {
  AttestRequest prov{{std::byte{7}}, AttestPurpose::provisioning};
  auto p = decode_attest_request(encode_attest_request(prov));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->purpose, AttestPurpose::provisioning);
  EXPECT_EQ(p->nonce, prov.nonce);
  auto v = decode_attest_request(encode_attest_request(AttestRequest{{std::byte{1}}}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->purpose, AttestPurpose::verify);
  auto old = decode_attest_request(R"({"nonce": "AQ=="})");  // a protocol 1.0 client: a verifier's document
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->purpose, AttestPurpose::verify);
  auto bad = decode_attest_request(R"({"nonce": "", "purpose": "anything"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("purpose: 'anything' is not verify or provisioning"), std::string::npos);
  EXPECT_FALSE(decode_attest_request(R"({"nonce": "", "purpose": 1})").ok());
}

TEST(Messages, ErrorsCrossTheLinkWithTheirClass) {
  auto e = decode_error(encode_error({Errc::refused, "no"}));
  EXPECT_EQ(e.code, Errc::refused);
  EXPECT_EQ(e.message, "no");
  auto garbage = decode_error("{{{");
  EXPECT_EQ(garbage.code, Errc::protocol_error);
}

TEST(Messages, DeliverWithoutABudgetHasNoneAndALongRequestIdIsRefused) {
  Notification n;
  n.request_id = "r";
  auto plain = decode_deliver_request(encode_deliver_request(std::span(&n, 1)));
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->budget.count(), 0);  // budget 0: the sender gave no deadline
  n.request_id = std::string(kMaxRequestIdBytes, 'x');
  EXPECT_TRUE(decode_deliver_request(encode_deliver_request(std::span(&n, 1))).ok());
  n.request_id += "x";
  auto refused = decode_deliver_request(encode_deliver_request(std::span(&n, 1)));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("notifications[0].request_id: longer than 128 bytes"), std::string::npos)
      << refused.error().message;
}

TEST(Messages, APayloadOfTooManyItemsIsRefusedWhileItIsRead) {
  // A 4 MiB frame of 3-byte strings would be a million std::strings once decoded: the reader stops at its item
  // bound, having built no more than that.
  const auto payload = cbor_of([](auto& w) {
    w.array(2);
    w.uint(0);
    w.array(1000);
    for (int n = 0; n < 1000; ++n) {
      w.array(9);
      w.text("r");
      w.array(1000);
      for (int u = 0; u < 1000; ++u) w.text("abc");
      w.text("");
      w.text("");
      w.map(0);
      for (int i = 0; i < 4; ++i) w.text("");
    }
  });
  EXPECT_GT(payload.size(), 3'900'000u);
  auto d = decode_deliver_request(payload);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, Errc::protocol_error);
  EXPECT_NE(d.error().message.find("more items than a message may have"), std::string::npos) << d.error().message;
  // Bytes that would be structure in other encodings are only text here.
  Notification n;
  n.request_id = "r";
  n.external_user_ids = {"u"};
  n.message = std::string(300'000, ',') + std::string(1000, '[') + "\"\\\xff\x9f";
  auto ok = decode_deliver_request(encode_deliver_request(std::span(&n, 1)));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->notifications[0].message, n.message);
}

TEST(Messages, TheLargestBatchTheParentSendsIsUnderTheElementBound) {
  // The dispatcher's largest batch (100) of notifications at the ingress's bounds: 50 recipients, 50 device tokens,
  // 100 custom_data keys.
  std::vector<Notification> batch(100);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].request_id = "r" + std::to_string(i);
    for (int u = 0; u < 50; ++u) batch[i].external_user_ids.push_back("user-" + std::to_string(u));
    for (int t = 0; t < 50; ++t) batch[i].device_tokens.push_back("token-" + std::to_string(t));
    for (int k = 0; k < 100; ++k) batch[i].custom_data["key-" + std::to_string(k)] = "v";
    batch[i].message = "m";
  }
  auto d = decode_deliver_request(encode_deliver_request(batch, std::chrono::seconds(30)));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->notifications.size(), 100u);
}

TEST(Messages, LogLinesRoundTripAndTheirBoundsAreChecked) {
  LogsReply reply;
  reply.lines.push_back({1700000000123, LogLevel::warning, "link", "closing link connection"});
  reply.lines.push_back({1700000000456, LogLevel::error, "braze", "HTTP 401"});
  reply.dropped = 7;
  auto d = decode_logs_reply(encode_logs_reply(reply));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->lines.size(), 2u);
  EXPECT_EQ(d->lines[1].level, LogLevel::error);
  EXPECT_EQ(d->lines[1].component, "braze");
  EXPECT_EQ(d->lines[0].at_ms, 1700000000123);
  EXPECT_EQ(d->dropped, 7u);
  auto bad_level =
      decode_logs_reply(R"({"lines": [{"at_ms": 1, "level": 9, "component": "c", "message": "m"}], "dropped": 0})");
  ASSERT_FALSE(bad_level.ok());
  EXPECT_NE(bad_level.error().message.find("lines[0].level"), std::string::npos) << bad_level.error().message;
  EXPECT_EQ(decode_logs_request(encode_logs_request(50)).value(), 50u);
  EXPECT_FALSE(decode_logs_request(R"({"max": 0})").ok());
  EXPECT_FALSE(decode_logs_request(R"({"max": 1000000})").ok());
}
