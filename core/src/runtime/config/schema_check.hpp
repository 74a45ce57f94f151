#pragma once
// Checks a schema itself (not a config against it): what the code may rely on when it reads a key. A default must
// parse as its key's type, a required key cannot have one (it would never apply), keys are unique, nested schemas
// are well formed. Problems are programming errors; a unit test walks every host schema with this.

#include <notify/config_view.hpp>
#include <notify/result.hpp>

#include <span>
#include <string>

namespace notify::config {

/// Every problem of `schema` (found at dotted `path`), one per line, as Errc::internal; ok when there is none.
Status check_schema(std::span<const FieldSpec> schema, const std::string& path);

}  // namespace notify::config
