# Fails unless every test of the build carries exactly one tier label: unit, e2e or vm (see tests/CMakeLists.txt).
# Run by CTest as Tests.EveryTestHasExactlyOneTierLabel (itself unit, so `ctest -L unit` checks the tiers too):
#   cmake -DCTEST=<ctest> -DBUILD_DIR=<build dir> -P check_tier_labels.cmake
# It asks CTest itself which tests each label selects (ctest -N -L '^tier$'), after test discovery, so gtest cases
# and add_test()s are seen alike, and compares with the list of all tests by test number. A gtest executable that is
# not built shows up as <target>_NOT_BUILT, without labels: that fails too, since its tests would otherwise silently
# drop out of every tier.
cmake_minimum_required(VERSION 3.19)

# The tests `ctest -N [args]` lists, as test numbers in `out_numbers`; their names go to `out_names_<number>`.
function(list_tests out_numbers)
  execute_process(COMMAND "${CTEST}" --test-dir "${BUILD_DIR}" -N ${ARGN}
                  OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "ctest -N ${ARGN} failed (${rc}): ${err}")
  endif()
  string(REPLACE ";" "," text "${text}")  # CMake lists are ';'-separated
  string(REPLACE "\n" ";" lines "${text}")
  set(numbers "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^ *Test +#([0-9]+): (.*)$")
      list(APPEND numbers ${CMAKE_MATCH_1})
      set(names_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}" PARENT_SCOPE)
    endif()
  endforeach()
  set(${out_numbers} ${numbers} PARENT_SCOPE)
endfunction()

set(tiers unit e2e vm)
list_tests(all)
foreach(tier IN LISTS tiers)
  list_tests(in_${tier} -L "^${tier}$")
endforeach()

set(bad "")
set(summary "")
foreach(tier IN LISTS tiers)
  list(LENGTH in_${tier} n)
  list(APPEND summary "${n} ${tier}")
endforeach()
foreach(number IN LISTS all)
  set(found "")
  foreach(tier IN LISTS tiers)
    if(number IN_LIST in_${tier})
      list(APPEND found ${tier})
    endif()
  endforeach()
  list(LENGTH found n_found)
  set(name "${names_${number}}")
  if(n_found EQUAL 1)
    continue()
  elseif(name MATCHES "_NOT_BUILT$")
    list(APPEND bad "  ${name}: the executable is not built, so its tests are in no tier (build all targets)")
  elseif(n_found EQUAL 0)
    list(APPEND bad "  ${name}: no tier label (give it LABELS unit, e2e or vm)")
  else()
    list(APPEND bad "  ${name}: several tier labels (${found}); exactly one")
  endif()
endforeach()

list(LENGTH all n_all)
list(JOIN summary ", " summary)
message(STATUS "${n_all} tests: ${summary}")
if(bad)
  list(LENGTH bad n_bad)
  list(JOIN bad "\n" bad)
  message(FATAL_ERROR "${n_bad} test(s) without exactly one tier label:\n${bad}")
endif()
