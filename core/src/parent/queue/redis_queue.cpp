#include "parent/queue/redis_queue.hpp"

#include "parent/queue/notification_record.hpp"

#include <notify/toolkit/host_port.hpp>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <sstream>
#include <string_view>

namespace notify::delivery {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

Result<Reply> command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  if (r == nullptr) return Error{Errc::io_error, std::string("redis: ") + (c->errstr[0] ? c->errstr : "no reply")};
  Reply reply(r);
  if (r->type == REDIS_REPLY_ERROR) {
    const std::string msg(r->str, r->len);
    return Error{msg.find("queue full") != std::string::npos ? Errc::resource_exhausted : Errc::io_error,
                 "redis: " + msg};
  }
  return reply;
}

// Sends every command before reading any reply, so Redis runs them in one pass and (appendfsync always) covers them
// with one fsync. One result per command, in order; every reply is read even after an error reply, so the connection
// stays in step. A broken connection fails the commands not yet answered.
std::vector<Result<Reply>> pipeline(redisContext* c, const std::vector<std::vector<std::string>>& commands) {
  std::vector<Result<Reply>> out;
  out.reserve(commands.size());
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (c->err != 0 || redisGetReply(c, &raw) != REDIS_OK) {
      out.emplace_back(Error{Errc::io_error, std::string("redis: ") + (c->errstr[0] ? c->errstr : "no reply")});
      continue;
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      const std::string msg(reply->str, reply->len);
      out.emplace_back(Error{msg.find("queue full") != std::string::npos ? Errc::resource_exhausted : Errc::io_error,
                             "redis: " + msg});
      continue;
    }
    out.emplace_back(std::move(reply));
  }
  return out;
}

std::string str(const redisReply* r) {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string(r->str, r->len);
}

// A number this queue stored itself (attempts, due times, accept times). A field never set (nil) reads as 0; anything
// else that is not a whole number means the hash was altered behind our back, and is said, not read as 0.
template <typename T>
Result<T> stored_number(const redisReply* r, std::string_view field, const std::string& id) {
  const std::string s = str(r);
  if (s.empty()) return T{0};
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) {
    return Error{Errc::internal,
                 "queue: stored " + std::string(field) + " of " + id + " is not a number: '" + s.substr(0, 32) + "'"};
  }
  return value;
}

constexpr const char* kEnqueue = R"LUA(
local prefix, cap, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local n = (#ARGV - 3) / 2
local result, fresh, seen = {}, {}, {}
for i = 0, n - 1 do
  local id = ARGV[4 + 2 * i]
  if seen[id] or redis.call('EXISTS', prefix .. ':n:' .. id) == 1 then
    table.insert(result, redis.call('HGET', prefix .. ':n:' .. id, 'state') or 'queued')
  else
    seen[id] = true
    table.insert(fresh, i)
    table.insert(result, '')
  end
end
local open = redis.call('SCARD', KEYS[1])
if open + #fresh > cap then
  return redis.error_reply('queue full: ' .. open .. ' unfinished of ' .. cap .. '; nothing from this batch was accepted')
end
for _, i in ipairs(fresh) do
  local id = ARGV[4 + 2 * i]
  redis.call('HSET', prefix .. ':n:' .. id, 'body', ARGV[5 + 2 * i], 'state', 'queued', 'attempts', 0,
             'next_attempt_ms', now, 'reference', '', 'reason', '', 'created_ms', now)
  redis.call('SADD', KEYS[1], id)
  redis.call('XADD', KEYS[2], '*', 'id', id)
end
return result
)LUA";

constexpr const char* kPromote = R"LUA(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('XADD', KEYS[2], '*', 'id', id)
end
return #ids
)LUA";

constexpr const char* kComplete = R"LUA(
local h = ARGV[1] .. ':n:' .. ARGV[2]
if redis.call('EXISTS', h) == 0 then return redis.error_reply('no notification ' .. ARGV[2]) end
local attempts = redis.call('HINCRBY', h, 'attempts', 1)
local state = 'queued'
if ARGV[3] == 'delivered' then state = 'delivered'
elseif ARGV[3] == 'rejected' then state = 'rejected'
elseif attempts >= tonumber(ARGV[7]) then state = 'dead' end
redis.call('HSET', h, 'state', state, 'reason', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', h, 'reference', ARGV[4]) end
if state == 'queued' then
  redis.call('HSET', h, 'next_attempt_ms', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
else
  redis.call('SREM', KEYS[1], ARGV[2])
end
if state == 'dead' then redis.call('ZADD', KEYS[3], ARGV[8], ARGV[2]) end
if state == 'delivered' or state == 'rejected' then redis.call('ZADD', ARGV[1] .. ':finished', ARGV[8], ARGV[2]) end
if state ~= 'queued' and ARGV[13] == '1' then redis.call('SADD', ARGV[1] .. ':unannounced', ARGV[2]) end
redis.call('RPUSH', ARGV[1] .. ':h:' .. ARGV[2], ARGV[11])
if ARGV[12] ~= '' then redis.call('HSET', h, 'tokens', ARGV[12]) end
if ARGV[9] ~= '' then redis.call('XACK', KEYS[4], ARGV[10], ARGV[9]) end
return state
)LUA";

constexpr const char* kRetryDead = R"LUA(
local h = ARGV[1] .. ':n:' .. ARGV[2]
if redis.call('HGET', h, 'state') ~= 'dead' then return 0 end
redis.call('HSET', h, 'state', 'queued', 'attempts', 0, 'next_attempt_ms', ARGV[3])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'id', ARGV[2])
return 1
)LUA";

}  // namespace

void RedisQueue::ContextFree::operator()(redisContext* c) const noexcept { redisFree(c); }

RedisQueue::RedisQueue(redisContext* ctx, RedisOptions redis, QueueOptions options)
    : redis_(std::move(redis)), options_(std::move(options)) {
  main_.ctx.reset(ctx);  // the lease connection is made on first use
  if (!options_.clock) options_.clock = toolkit::real_clock();
}
RedisQueue::~RedisQueue() = default;

Result<std::unique_ptr<redisContext, RedisQueue::ContextFree>> RedisQueue::connect(const RedisOptions& redis,
                                                                                   const std::string& stream_key) {
  timeval timeout{5, 0};
  redisContext* raw = nullptr;
  if (!redis.address.empty() && redis.address.front() == '/') {
    raw = redisConnectUnixWithTimeout(redis.address.c_str(), timeout);
  } else {
    // hiredis takes the host unbracketed ("::1") and resolves names itself.
    auto where = toolkit::parse_host_port(redis.address, "queue.redis_address (or a /unix/socket path)",
                                          toolkit::PortRule::nonzero);
    if (!where) return where.error();
    raw = redisConnectWithTimeout(where->host.c_str(), where->port, timeout);
  }
  if (raw == nullptr) return Error{Errc::resource_exhausted, "redis " + redis.address + ": cannot allocate a context"};
  std::unique_ptr<redisContext, ContextFree> c(raw);
  if (c->err != 0) return Error{Errc::unreachable, "redis " + redis.address + ": " + c->errstr};
  timeval io{10, 0};
  redisSetTimeout(c.get(), io);
  auto created = command(c.get(), {"XGROUP", "CREATE", stream_key, redis.group, "0", "MKSTREAM"});
  if (!created && created.error().message.find("BUSYGROUP") == std::string::npos) return created.error();
  return c;
}

Result<std::unique_ptr<RedisQueue>> RedisQueue::open(RedisOptions redis, QueueOptions options) {
  if (redis.consumer.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    redis.consumer = std::string(host) + ":" + std::to_string(::getpid());
  }
  auto c = connect(redis, redis.prefix + ":stream");
  if (!c) return c.error();
  return std::unique_ptr<RedisQueue>(new RedisQueue(c->release(), redis, std::move(options)));  // private constructor
}

Result<redisContext*> RedisQueue::context(Link& link) {
  if (link.ctx && link.ctx->err == 0) return link.ctx.get();
  if (link.ctx) {  // it broke during the last call: hiredis contexts are not usable after an I/O or protocol error
    link.last_error = link.ctx->errstr;
    link.ctx.reset();
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < link.next_reconnect) {
    return Error{Errc::unreachable, "redis " + redis_.address + " unreachable (" + link.last_error + "); reconnecting"};
  }
  auto c = connect(redis_, key("stream"));
  if (!c) {
    link.last_error = c.error().message;
    link.next_reconnect = now + link.reconnect_backoff.next();
    return Error{Errc::unreachable, c.error().message + "; reconnecting"};
  }
  link.reconnect_backoff.reset();
  link.ctx = std::move(c.value());
  return link.ctx.get();
}

Result<std::vector<Enqueued>> RedisQueue::enqueue(std::span<const Notification> batch) {
  EnqueueJob job{batch, Error{Errc::internal, "queue: not run"}};
  enqueues_.submit(job);
  return std::move(job.result);
}

void RedisQueue::enqueue_group(std::span<EnqueueJob* const> group) {
  std::lock_guard lock(main_.mu);
  const std::string now = std::to_string(options_.clock->epoch_ms());
  std::vector<std::vector<std::string>> commands;
  commands.reserve(group.size());
  for (const EnqueueJob* job : group) {
    std::vector<std::string> args = {
        "EVAL", kEnqueue, "2", key("open"), key("stream"), redis_.prefix, std::to_string(options_.capacity), now};
    for (const auto& n : job->batch) {
      args.push_back(n.request_id);
      args.push_back(encode_notification_record(n));
    }
    commands.push_back(std::move(args));
  }
  auto c = context(main_);
  if (!c) {
    for (EnqueueJob* job : group) job->result = c.error();
    return;
  }
  auto replies = pipeline(*c, commands);
  for (std::size_t j = 0; j < group.size(); ++j) {
    auto& r = replies[j];
    if (!r) {
      group[j]->result = r.error();
      continue;
    }
    const auto batch = group[j]->batch;
    std::vector<Enqueued> out;
    for (std::size_t i = 0; i < batch.size() && i < (*r)->elements; ++i) {
      const auto st = str((*r)->element[i]);
      out.push_back(
          {batch[i].request_id, !st.empty(), st.empty() ? State::queued : parse_state(st).value_or(State::queued)});
    }
    group[j]->result = std::move(out);
  }
}

Result<std::vector<Leased>> RedisQueue::lease(std::size_t max) {
  std::lock_guard lock(leases_.mu);
  auto live = context(leases_);
  if (!live) return live.error();
  redisContext* c = *live;
  if (auto p = command(
          c, {"EVAL", kPromote, "2", key("delayed"), key("stream"), std::to_string(options_.clock->epoch_ms())});
      !p)
    return p.error();
  // Entries another (crashed) consumer held longer than a lease, then new ones.
  std::vector<std::pair<std::string, std::string>> entries;  // stream entry id, request id
  auto collect = [&](const redisReply* list) {
    if (list == nullptr || list->type != REDIS_REPLY_ARRAY) return;
    for (std::size_t i = 0; i < list->elements; ++i) {
      const redisReply* e = list->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;  // deleted entry
      const redisReply* fields = e->element[1];
      for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
        if (str(fields->element[f]) == "id") entries.emplace_back(str(e->element[0]), str(fields->element[f + 1]));
      }
    }
  };
  auto claimed = command(c, {"XAUTOCLAIM", key("stream"), redis_.group, redis_.consumer,
                             std::to_string(options_.lease.count()), "0-0", "COUNT", std::to_string(max)});
  if (!claimed) return claimed.error();
  if ((*claimed)->elements >= 2) collect((*claimed)->element[1]);
  if (entries.size() < max) {
    auto fresh = command(c, {"XREADGROUP", "GROUP", redis_.group, redis_.consumer, "COUNT",
                             std::to_string(max - entries.size()), "STREAMS", key("stream"), ">"});
    if (!fresh) return fresh.error();
    if ((*fresh)->type == REDIS_REPLY_ARRAY) {
      for (std::size_t s = 0; s < (*fresh)->elements; ++s) collect((*fresh)->element[s]->element[1]);
    }
  }
  std::vector<std::vector<std::string>> reads;
  reads.reserve(entries.size());
  for (const auto& [entry, id] : entries)
    reads.push_back({"HMGET", key("n:" + id), "state", "body", "attempts", "created_ms", "tokens"});
  auto records = pipeline(c, reads);
  std::vector<Leased> out;
  std::vector<std::vector<std::string>> marks;  // in flight, or acknowledged when stale: one pipelined write
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [entry, id] = entries[i];
    auto& h = records[i];
    if (!h) return h.error();
    const auto state = str((*h)->element[0]);
    if (state != "queued" && state != "in_flight") {  // finished or gone: a stale entry
      marks.push_back({"XACK", key("stream"), redis_.group, entry});
      continue;
    }
    auto n = decode_notification_record(str((*h)->element[1]));
    if (!n) return Error{Errc::internal, "queue: stored notification " + id + " unreadable: " + n.error().message};
    auto attempts = stored_number<int>((*h)->element[2], "attempts", id);
    if (!attempts) return attempts.error();
    auto accepted_ms = stored_number<std::int64_t>((*h)->element[3], "accepted_ms", id);
    if (!accepted_ms) return accepted_ms.error();
    auto tokens = decode_token_states(str((*h)->element[4]));
    if (!tokens) return Error{Errc::internal, "queue: token states of " + id + ": " + tokens.error().message};
    auto invalid = keep_pending_tokens(*n, *tokens);
    marks.push_back({"HSET", key("n:" + id), "state", "in_flight"});
    {
      std::lock_guard entries(entries_mu_);
      entry_of_[id] = entry;
    }
    out.push_back({std::move(n.value()), *attempts, *accepted_ms, std::move(invalid)});
  }
  for (auto& r : pipeline(c, marks)) {
    if (!r) return r.error();  // the entries stay pending for this consumer and are taken over after a lease
  }
  return out;
}

std::vector<std::string> RedisQueue::complete_args(const std::string& request_id, const DeliveryResult& result,
                                                   int attempts, const std::string& tokens) {
  const auto now = options_.clock->epoch_ms();
  std::string entry;
  {
    std::lock_guard entries(entries_mu_);
    if (auto it = entry_of_.find(request_id); it != entry_of_.end()) {
      entry = it->second;
      entry_of_.erase(it);
    }
  }
  std::chrono::milliseconds delay;
  {
    std::lock_guard rng(rng_mu_);
    delay = retry_delay(options_, attempts, result.retry_after, rng_);
  }
  const auto due = now + delay.count();
  Poco::JSON::Object h(Poco::JSON_PRESERVE_KEY_ORDER);
  h.set("at_ms", static_cast<Poco::Int64>(now));
  h.set("outcome", std::string(outcome_name(result.outcome)));
  h.set("detail", result.outcome == Outcome::delivered ? result.reference : result.reason);
  std::ostringstream history;
  h.stringify(history);
  return {"EVAL",
          kComplete,
          "4",
          key("open"),
          key("delayed"),
          key("dead"),
          key("stream"),
          redis_.prefix,
          request_id,
          outcome_name(result.outcome),
          result.reference,
          result.reason,
          std::to_string(due),
          std::to_string(options_.max_attempts),
          std::to_string(now),
          entry,
          redis_.group,
          history.str(),
          tokens,
          options_.track_unannounced ? "1" : "0"};
}

Status RedisQueue::complete(const std::string& request_id, const DeliveryResult& result) {
  const std::pair<std::string, DeliveryResult> one{request_id, result};
  return complete_batch(std::span(&one, 1)).status();
}

Result<std::vector<State>> RedisQueue::complete_batch(std::span<const std::pair<std::string, DeliveryResult>> results) {
  CompleteJob job{results, Error{Errc::internal, "queue: not run"}};
  completions_.submit(job);
  return std::move(job.result);
}

void RedisQueue::complete_group(std::span<CompleteJob* const> group) {
  std::lock_guard lock(main_.mu);
  auto live = context(main_);
  if (!live) {
    for (CompleteJob* job : group) job->result = live.error();
    return;
  }
  redisContext* c = *live;
  // Attempt counts first (for the backoff), with the record and its token states when the result has per-token
  // results (to merge them), pipelined; then every outcome of every job, pipelined.
  std::vector<std::vector<std::string>> reads;
  for (const CompleteJob* job : group) {
    for (const auto& [id, r] : job->results) {
      if (r.tokens.empty()) {
        reads.push_back({"HMGET", key("n:" + id), "attempts"});
      } else {
        reads.push_back({"HMGET", key("n:" + id), "attempts", "body", "tokens"});
      }
    }
  }
  auto counts = pipeline(c, reads);
  // A job whose attempt counts cannot be read sends nothing (all or nothing per job, as one call would).
  std::vector<std::optional<Error>> failed(group.size());
  std::vector<int> attempts;
  std::vector<std::optional<TokenMerge>> merged;
  attempts.reserve(counts.size());
  merged.reserve(counts.size());
  std::size_t k = 0;
  for (std::size_t j = 0; j < group.size(); ++j) {
    for (const auto& [id, r] : group[j]->results) {
      auto& count = counts[k++];
      Result<int> stored =
          count ? stored_number<int>((*count)->element[0], "attempts", id) : Result<int>(count.error());
      if (!stored && !failed[j]) failed[j] = stored.error();
      attempts.push_back(stored ? *stored + 1 : 0);
      merged.emplace_back();
      if (!stored || r.tokens.empty()) continue;
      auto n = decode_notification_record(str((*count)->element[1]));
      auto states = decode_token_states(str((*count)->element[2]));
      if (!n || !states) {
        if (!failed[j]) {
          failed[j] = Error{Errc::internal, "queue: stored notification " + id +
                                                " unreadable: " + (n ? states.error().message : n.error().message)};
        }
        continue;
      }
      merged.back() = merge_token_results(*n, *states, r);
    }
  }
  std::vector<std::vector<std::string>> writes;
  k = 0;
  for (std::size_t j = 0; j < group.size(); ++j) {
    for (const auto& [id, r] : group[j]->results) {
      const int n = attempts[k];
      const auto& m = merged[k++];
      if (failed[j]) continue;
      if (m) {
        writes.push_back(complete_args(id, m->effective, n, encode_token_states(m->stored)));
      } else {
        writes.push_back(complete_args(id, r, n, {}));
      }
    }
  }
  auto replies = pipeline(c, writes);
  k = 0;
  for (std::size_t j = 0; j < group.size(); ++j) {
    if (failed[j]) {
      group[j]->result = *failed[j];
      continue;
    }
    std::vector<State> states;
    std::optional<Error> first_error;
    for (std::size_t i = 0; i < group[j]->results.size(); ++i) {
      auto& reply = replies[k++];
      if (!reply) {
        if (!first_error) first_error = reply.error();
        continue;
      }
      states.push_back(parse_state(str(reply->get())).value_or(State::queued));  // kComplete returns the new state
    }
    if (first_error)
      group[j]->result = *first_error;
    else
      group[j]->result = std::move(states);
  }
}

Result<std::optional<Record>> RedisQueue::status(const std::string& request_id) {
  std::lock_guard lock(main_.mu);
  auto c = context(main_);
  if (!c) return c.error();
  auto h = command(*c, {"HMGET", key("n:" + request_id), "body", "state", "attempts", "reference", "reason",
                        "next_attempt_ms", "tokens"});
  if (!h) return h.error();
  if ((*h)->element[0]->type == REDIS_REPLY_NIL) return std::optional<Record>{};
  Record rec;
  auto n = decode_notification_record(str((*h)->element[0]));
  if (!n) return n.error();
  rec.notification = std::move(n.value());
  rec.state = parse_state(str((*h)->element[1])).value_or(State::queued);
  auto attempts = stored_number<int>((*h)->element[2], "attempts", request_id);
  if (!attempts) return attempts.error();
  rec.attempts = *attempts;
  rec.reference = str((*h)->element[3]);
  rec.reason = str((*h)->element[4]);
  auto next_attempt_ms = stored_number<std::int64_t>((*h)->element[5], "next_attempt_ms", request_id);
  if (!next_attempt_ms) return next_attempt_ms.error();
  rec.next_attempt_ms = *next_attempt_ms;
  auto tokens = decode_token_states(str((*h)->element[6]));
  if (!tokens) return tokens.error();
  rec.tokens = token_states(rec.notification, *tokens, rec.state);
  auto hist = command(*c, {"LRANGE", key("h:" + request_id), "0", "-1"});
  if (!hist) return hist.error();
  for (std::size_t i = 0; i < (*hist)->elements; ++i) {
    try {
      auto o = Poco::JSON::Parser().parse(str((*hist)->element[i])).extract<Poco::JSON::Object::Ptr>();
      rec.history.push_back(
          {o->getValue<Poco::Int64>("at_ms"), o->getValue<std::string>("outcome"), o->getValue<std::string>("detail")});
    } catch (const std::exception&) {
      rec.history.push_back({0, "unreadable", ""});
    }
  }
  return std::optional<Record>(std::move(rec));
}

Result<std::vector<std::string>> RedisQueue::dead_ids(std::size_t limit) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(main_.mu);
    auto c = context(main_);
    if (!c) return c.error();
    auto r = command(*c, {"ZRANGE", key("dead"), "0", std::to_string(static_cast<long long>(limit) - 1)});
    if (!r) return r.error();
    for (std::size_t i = 0; i < (*r)->elements; ++i) ids.push_back(str((*r)->element[i]));
  }
  return ids;
}

Status RedisQueue::retry_dead(const std::string& request_id) {
  std::lock_guard lock(main_.mu);
  auto c = context(main_);
  if (!c) return c.error();
  auto r = command(*c, {"EVAL", kRetryDead, "3", key("dead"), key("open"), key("stream"), redis_.prefix, request_id,
                        std::to_string(options_.clock->epoch_ms())});
  if (!r) return r.error();
  if ((*r)->integer == 0) return Error{Errc::not_found, "queue: no dead notification " + request_id};
  return {};
}

Result<std::vector<std::string>> RedisQueue::unannounced_ids(std::size_t limit) {
  std::lock_guard lock(main_.mu);
  auto c = context(main_);
  if (!c) return c.error();
  // Any `limit` of them: the caller marks what it was given as announced, so the next call gets others.
  auto r = command(*c, {"SRANDMEMBER", key("unannounced"), std::to_string(limit)});
  if (!r) return r.error();
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < (*r)->elements; ++i) ids.push_back(str((*r)->element[i]));
  return ids;
}

Status RedisQueue::mark_announced(std::span<const std::string> request_ids) {
  if (request_ids.empty()) return {};
  std::vector<std::string> args = {"SREM", key("unannounced")};
  args.insert(args.end(), request_ids.begin(), request_ids.end());
  std::lock_guard lock(main_.mu);
  auto c = context(main_);
  if (!c) return c.error();
  return command(*c, args).status();
}

Result<std::size_t> RedisQueue::purge_finished() {
  static constexpr const char* kPurge = R"LUA(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. ':n:' .. id, ARGV[1] .. ':h:' .. id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
)LUA";
  std::lock_guard lock(main_.mu);
  std::size_t total = 0;
  for (;;) {  // in slices of 1000, so one purge never blocks Redis for long
    auto c = context(main_);
    if (!c) return c.error();
    auto r = command(*c, {"EVAL", kPurge, "1", key("finished"), redis_.prefix,
                          std::to_string(options_.clock->epoch_ms() - options_.retention.count())});
    if (!r) return r.error();
    total += static_cast<std::size_t>((*r)->integer);
    if ((*r)->integer < 1000) return total;
  }
}

Result<std::size_t> RedisQueue::depth() {
  std::lock_guard lock(main_.mu);
  auto c = context(main_);
  if (!c) return c.error();
  auto r = command(*c, {"SCARD", key("open")});
  if (!r) return r.error();
  return static_cast<std::size_t>((*r)->integer);
}

}  // namespace notify::delivery
