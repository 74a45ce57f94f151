#pragma once
/// @file abi.hpp
/// The plugin SDK's ABI version. Bump it whenever any type in `core/include/notify/` changes layout or a virtual
/// function is added, removed or reordered. The loader refuses a plugin built against another value.

#include <cstdint>

namespace notify {

/// Current SDK ABI version. Every plugin descriptor records the value it was compiled with.
inline constexpr std::uint32_t kAbiVersion = 1;

}  // namespace notify

/// Default visibility for SDK types, so that typeinfo, vtables and exceptions resolve to one definition across the
/// host and plugins even though everything else is built with -fvisibility=hidden.
#define NOTIFY_API __attribute__((visibility("default")))
