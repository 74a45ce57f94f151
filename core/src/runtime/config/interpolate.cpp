#include "runtime/config/interpolate.hpp"

#include <cctype>
#include <cstdlib>

namespace notify::config {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Interpolated> interpolate(std::string_view text, const EnvLookup& env) {
  Interpolated out;
  out.value.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$') {
      out.value += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {  // escaped
      out.value += '$';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out.value += c;
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Error{Errc::invalid_argument, "unterminated '${' in '" + std::string(text.substr(i)) + "'"};
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::string_view name = body;
    std::optional<std::string_view> fallback;
    if (auto sep = body.find(":-"); sep != std::string_view::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    bool valid = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (char n : name) valid = valid && (std::isalnum(static_cast<unsigned char>(n)) || n == '_');
    if (!valid) return Error{Errc::invalid_argument, "bad variable reference '${" + std::string(body) + "}'"};
    std::string key(name);
    auto value = env(key);
    // Like the shell's ${VAR:-default}: the default applies when the variable is unset or empty.
    if (value && !value->empty()) {
      out.value += *value;
    } else if (fallback) {
      out.value += *fallback;
    } else if (value) {
      out.value += *value;
    } else {
      return Error{Errc::not_found, "environment variable " + key + " is not set (use ${" + key + ":-default})"};
    }
    out.variables.push_back(std::move(key));
    i = close;
  }
  return out;
}

}  // namespace notify::config
