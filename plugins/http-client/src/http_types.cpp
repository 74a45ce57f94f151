#include <notify/http/http_types.hpp>

namespace notify::http {

std::optional<std::string> HttpResponse::header(std::string_view lower_case_name) const {
  auto it = headers.find(std::string(lower_case_name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

}  // namespace notify::http
