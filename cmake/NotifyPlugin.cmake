# notify_add_plugin(<target> SOURCES <files...> [LIBRARIES <targets...>])
#
# One line per plugin. Builds a MODULE library named notify-<target>.so into ${NOTIFY_PLUGIN_OUTPUT_DIR}, linked
# against the SDK only (plus what the plugin asks for), with -Wl,--no-undefined so a missing symbol fails at link
# time rather than when the host loads it. <target> is e.g. "transport-tcp" or "provider-braze".
#
# The ABI contract: plugins exchange C++ types with the host, so the loader accepts only plugins whose build
# fingerprint (compiler, standard library and its ABI, SDK headers hash, sanitizers; core/include/notify/abi.hpp)
# equals its own. Linking notify::sdk here is what makes a plugin's fingerprint the tree's: it carries the SDK headers
# hash and the sanitizer definition; the compiler and flags are this build's.
function(notify_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE notify::sdk notify::warnings ${ARG_LIBRARIES})
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "notify-${target}"
    LIBRARY_OUTPUT_DIRECTORY ${NOTIFY_PLUGIN_OUTPUT_DIR})
  install(TARGETS ${target} LIBRARY DESTINATION lib/notify/plugins)
  # The list of every plugin the tree builds, for tests that check they all load (and share the host's fingerprint).
  set_property(GLOBAL APPEND PROPERTY NOTIFY_PLUGIN_TARGETS ${target})
endfunction()
