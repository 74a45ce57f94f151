#pragma once
/// @file result.hpp
/// Error values. Nothing throws across the plugin boundary: every SDK call that can fail returns a `Status` or a
/// `Result<T>`, whose message is meant for an operator (it names the address, file or limit involved and never a
/// secret).

#include <notify/abi.hpp>

#include <string>
#include <utility>
#include <variant>

namespace notify {

/// Broad class of a failure: callers branch on it (retry or not), operators read the message.
enum class Errc : int {
  ok = 0,
  invalid_argument,    ///< caller's input is malformed (bad address, bad config value)
  not_found,           ///< a named thing does not exist (plugin, secret, host name)
  timed_out,           ///< a deadline passed
  refused,             ///< the peer actively refused (ECONNREFUSED, allowlist, 401)
  unreachable,         ///< no route, network down, address not available
  closed,              ///< the peer closed the stream or the object was shut down
  io_error,            ///< any other OS-level I/O failure
  protocol_error,      ///< the peer spoke something we do not accept
  unsupported,         ///< the kernel or build lacks a feature (e.g. no AF_VSOCK)
  resource_exhausted,  ///< a limit was hit (connections, queue, frame size)
  internal,            ///< a bug or an unexpected exception
};

/// A short, stable name for an Errc, for logs and metrics.
constexpr const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::timed_out:
      return "timed_out";
    case Errc::refused:
      return "refused";
    case Errc::unreachable:
      return "unreachable";
    case Errc::closed:
      return "closed";
    case Errc::io_error:
      return "io_error";
    case Errc::protocol_error:
      return "protocol_error";
    case Errc::unsupported:
      return "unsupported";
    case Errc::resource_exhausted:
      return "resource_exhausted";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

/// A failure: a class and a human-readable message.
struct NOTIFY_API Error {
  Errc code = Errc::internal;
  std::string message;
};

/// Success, or an Error.
class NOTIFY_API Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  Status(Errc code, std::string message) : error_{code, std::move(message)}, ok_(false) {}

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  [[nodiscard]] const Error& error() const noexcept { return error_; }
  [[nodiscard]] Errc code() const noexcept { return ok_ ? Errc::ok : error_.code; }
  [[nodiscard]] const std::string& message() const noexcept { return error_.message; }

 private:
  Error error_{Errc::ok, {}};
  bool ok_ = true;
};

/// A value of type T, or an Error.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  Result(Errc code, std::string message) : v_(Error{code, std::move(message)}) {}

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }
  [[nodiscard]] Status status() const { return ok() ? Status{} : Status{error()}; }

 private:
  std::variant<T, Error> v_;
};

}  // namespace notify
