#pragma once
/// @file abi.hpp
/// The plugin ABI contract: the ABI version and the build fingerprint.
///
/// Plugins and the host exchange C++ types across `dlopen` (std::string, std::vector, std::map, std::variant,
/// std::unique_ptr/shared_ptr, vtables, exceptions). Their layout depends on the compiler, the standard library and
/// its ABI mode, the sanitizers and the SDK headers themselves, none of which the dynamic linker checks. So a plugin
/// is supported only when built against the same SDK build as the host: every plugin embeds a BuildFingerprint in its
/// descriptor, the host computes its own the same way (NOTIFY_BUILD_FINGERPRINT), and the loader refuses any
/// difference, naming the plugin file and the differing parts. `notify_add_plugin` (cmake/NotifyPlugin.cmake) builds
/// plugins that way.

#include <cstdint>
#include <version>  // defines __GLIBCXX__ / _LIBCPP_VERSION

namespace notify {

/// Current SDK ABI version. Bump it whenever any type in `core/include/notify/` changes layout or a virtual function
/// is added, removed or reordered; every plugin descriptor records the value it was compiled with.
/// 2: the descriptor carries a BuildFingerprint. 3: Provider::deliver_by (a deadline for the batch).
/// 4: Notification device_tokens/topic/ttl/priority/collapse_key, DeliveryResult::tokens (per-token outcomes).
/// 5: PluginContext::metrics (ProviderMetrics); Notification::condition.
/// 6: Provider::deliver_streaming and ResultSink (results reported as each call to the service ends).
inline constexpr std::uint32_t kAbiVersion = 6;

/// What a plugin was built with, as the loader compares it, field by field (plain strings, so that any build can read
/// any other's and a mismatch can say which part differs). Each field points to a string literal of the library it
/// comes from. Fill it with NOTIFY_BUILD_FINGERPRINT, never by hand.
struct BuildFingerprint {
  const char* compiler;          ///< "gcc 12.2.0 (c++abi 1017)": id, version, Itanium C++ ABI version
  const char* standard_library;  ///< "libstdc++ 20230528 cxx11-abi": release and ABI mode (debug mode noted)
  const char* sdk_headers;       ///< content hash of core/include/notify/*.hpp, computed by CMake at configure time
  const char* sanitizers;        ///< "none" or a list such as "address,undefined"
};

}  // namespace notify

/// Default visibility for SDK types, so that typeinfo, vtables and exceptions resolve to one definition across the
/// host and plugins even though everything else is built with -fvisibility=hidden.
#define NOTIFY_API __attribute__((visibility("default")))

// ---- how the fingerprint is computed: macros only, evaluated in the translation unit that uses them -----------------
// (Macros, not inline functions or variables: the host's and each plugin's value must come from their own build, and
// an inline entity defined differently in two builds would be an ODR violation.)

#define NOTIFY_ABI_STR_(x) #x
#define NOTIFY_ABI_STR(x) NOTIFY_ABI_STR_(x)

#if defined(__clang__)
#define NOTIFY_ABI_COMPILER_ \
  "clang " NOTIFY_ABI_STR(__clang_major__) "." NOTIFY_ABI_STR(__clang_minor__) "." NOTIFY_ABI_STR(__clang_patchlevel__)
#elif defined(__GNUC__)
#define NOTIFY_ABI_COMPILER_ \
  "gcc " NOTIFY_ABI_STR(__GNUC__) "." NOTIFY_ABI_STR(__GNUC_MINOR__) "." NOTIFY_ABI_STR(__GNUC_PATCHLEVEL__)
#else
#define NOTIFY_ABI_COMPILER_ "unknown compiler"
#endif
#if defined(__GXX_ABI_VERSION)
#define NOTIFY_ABI_COMPILER NOTIFY_ABI_COMPILER_ " (c++abi " NOTIFY_ABI_STR(__GXX_ABI_VERSION) ")"
#else
#define NOTIFY_ABI_COMPILER NOTIFY_ABI_COMPILER_
#endif

// The standard library's debug mode changes container layouts, so it is part of the library's identity.
#if defined(_GLIBCXX_DEBUG)
#define NOTIFY_ABI_STDLIB_DEBUG_ " debug-mode"
#else
#define NOTIFY_ABI_STDLIB_DEBUG_ ""
#endif
#if defined(_LIBCPP_VERSION)
#define NOTIFY_ABI_STDLIB "libc++ " NOTIFY_ABI_STR(_LIBCPP_VERSION) " abi " NOTIFY_ABI_STR(_LIBCPP_ABI_VERSION)
#elif defined(__GLIBCXX__)
#if _GLIBCXX_USE_CXX11_ABI
#define NOTIFY_ABI_STDLIB "libstdc++ " NOTIFY_ABI_STR(__GLIBCXX__) " cxx11-abi" NOTIFY_ABI_STDLIB_DEBUG_
#else
#define NOTIFY_ABI_STDLIB "libstdc++ " NOTIFY_ABI_STR(__GLIBCXX__) " pre-cxx11-abi" NOTIFY_ABI_STDLIB_DEBUG_
#endif
#else
#define NOTIFY_ABI_STDLIB "unknown standard library"
#endif

// Set by CMake on the notify::sdk target. A build that includes the SDK some other way gets "unset", which no CMake
// build has, so its plugins are refused rather than trusted.
#if !defined(NOTIFY_SDK_HEADERS_HASH)
#define NOTIFY_SDK_HEADERS_HASH "unset"
#endif

// Each present sanitizer contributes ",name"; the leading comma is skipped below. GCC defines __SANITIZE_ADDRESS__
// and __SANITIZE_THREAD__; clang answers __has_feature; nobody has a macro for UBSan, so CMake defines
// NOTIFY_SANITIZE_UNDEFINED on notify::sdk when the build uses -fsanitize=undefined.
#define NOTIFY_ABI_SAN_ADDRESS_ ""
#define NOTIFY_ABI_SAN_THREAD_ ""
#if defined(__SANITIZE_ADDRESS__)
#undef NOTIFY_ABI_SAN_ADDRESS_
#define NOTIFY_ABI_SAN_ADDRESS_ ",address"
#endif
#if defined(__SANITIZE_THREAD__)
#undef NOTIFY_ABI_SAN_THREAD_
#define NOTIFY_ABI_SAN_THREAD_ ",thread"
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#undef NOTIFY_ABI_SAN_ADDRESS_
#define NOTIFY_ABI_SAN_ADDRESS_ ",address"
#endif
#if __has_feature(thread_sanitizer)
#undef NOTIFY_ABI_SAN_THREAD_
#define NOTIFY_ABI_SAN_THREAD_ ",thread"
#endif
#endif
#if defined(NOTIFY_SANITIZE_UNDEFINED) && NOTIFY_SANITIZE_UNDEFINED
#define NOTIFY_ABI_SAN_UNDEFINED_ ",undefined"
#else
#define NOTIFY_ABI_SAN_UNDEFINED_ ""
#endif
#define NOTIFY_ABI_SAN_LIST_ "" NOTIFY_ABI_SAN_ADDRESS_ NOTIFY_ABI_SAN_UNDEFINED_ NOTIFY_ABI_SAN_THREAD_
#define NOTIFY_ABI_SANITIZERS (sizeof(NOTIFY_ABI_SAN_LIST_) > 1 ? NOTIFY_ABI_SAN_LIST_ + 1 : "none")

/// The fingerprint of the current build, as a constant notify::BuildFingerprint. The export macros put it in every
/// plugin descriptor; the loader computes the host's with the same macro.
#define NOTIFY_BUILD_FINGERPRINT \
  (::notify::BuildFingerprint{NOTIFY_ABI_COMPILER, NOTIFY_ABI_STDLIB, NOTIFY_SDK_HEADERS_HASH, NOTIFY_ABI_SANITIZERS})
