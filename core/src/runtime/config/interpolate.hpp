#pragma once
// `${VAR}` and `${VAR:-default}` substitution from the environment, applied to each YAML scalar after parsing (never
// to raw text, so a value cannot inject YAML structure).

#include <notify/result.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace notify::config {

/// Looks a variable up; the default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

struct Interpolated {
  std::string value;
  /// Names of the variables that were substituted (so a dump can redact values that came from e.g. *_KEY).
  std::vector<std::string> variables;
};

/// Expands every `${NAME}` / `${NAME:-default}` in `text`. `$$` is a literal `$`. An unset variable without a default,
/// or a malformed reference, is an error naming the variable.
Result<Interpolated> interpolate(std::string_view text, const EnvLookup& env);

}  // namespace notify::config
