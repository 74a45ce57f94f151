#pragma once
// Owners for libcurl's handles, so that no easy handle, multi handle, header list or parsed URL leaks on any path.

#include <curl/curl.h>

#include <memory>

namespace notify::http {

struct EasyDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* h) const noexcept { curl_multi_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
struct CurlStringDeleter {
  void operator()(char* s) const noexcept { curl_free(s); }
};

using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;
using CurlUrl = std::unique_ptr<CURLU, UrlDeleter>;
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

/// A header list built by appending; curl_slist_append returns a new head, so the owner swaps it in.
class HeaderList {
 public:
  /// False when out of memory (the list is unchanged).
  bool append(const char* line) noexcept {
    curl_slist* head = curl_slist_append(list_.get(), line);
    if (head == nullptr) return false;
    (void)list_.release();  // NOLINT(bugprone-unused-return-value): `head` now owns the old nodes too
    list_.reset(head);
    return true;
  }
  [[nodiscard]] curl_slist* get() const noexcept { return list_.get(); }

 private:
  std::unique_ptr<curl_slist, SlistDeleter> list_;
};

}  // namespace notify::http
