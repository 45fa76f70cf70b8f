# libFuzzer targets: -DCW_FUZZ=ON with clang (scripts/install-deps.sh
# installs libFuzzer with CAUSEWAY_WITH_FUZZ=1). Usually together with
# -DCW_SANITIZE=address,undefined.
#
# The code under test is compiled a second time, with
# -fsanitize=fuzzer-no-link, into an object library that each target links:
# libFuzzer then sees the coverage of the decoders, the engine, the reports
# and the collector, not only of the harness. The harness and the libFuzzer
# runtime link with -fsanitize=fuzzer. The normal suite does not build these;
# it replays the corpora (cli_fuzz_replay_*, test_collector_fuzz_*).
#   fuzz_std|native|raceway|clocks|shiviz  tests/fuzz/corpus/<name>
#   fuzz_collector_ingest              tests/collector/corpus
#   fuzz_collector_http                tests/collector/corpus-http
option(CW_FUZZ "Build libFuzzer targets (needs clang with -fsanitize=fuzzer)"
       OFF)
if(NOT CW_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "CW_FUZZ needs clang (-DCMAKE_C_COMPILER=clang)")
endif()

# cw_fuzz_objects(NAME LIB...): an OBJECT library NAME holding the sources
# of the static libraries LIB..., with their include directories and
# definitions (passed on to the targets that link it), instrumented for
# libFuzzer. What the libraries link outside
# the group (jansson, lz4, civetweb...) is linked uninstrumented.
function(cw_fuzz_objects name)
  set(_srcs "")
  set(_deps "")
  add_library(${name} OBJECT)
  foreach(lib ${ARGN})
    get_target_property(_s ${lib} SOURCES)
    get_target_property(_d ${lib} SOURCE_DIR)
    foreach(f ${_s})
      if(IS_ABSOLUTE "${f}")
        list(APPEND _srcs ${f})
      else()
        list(APPEND _srcs ${_d}/${f})
      endif()
    endforeach()
    foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS
                 INTERFACE_INCLUDE_DIRECTORIES INTERFACE_COMPILE_DEFINITIONS)
      get_target_property(_v ${lib} ${prop})
      if(_v)
        set_property(TARGET ${name} APPEND PROPERTY ${prop} ${_v})
      endif()
    endforeach()
    get_target_property(_l ${lib} LINK_LIBRARIES)
    if(_l)
      list(APPEND _deps ${_l})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES _deps)
  list(REMOVE_ITEM _deps ${ARGN})
  target_sources(${name} PRIVATE ${_srcs})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer-no-link)
  target_link_libraries(${name} PUBLIC ${_deps})
endfunction()

function(cw_fuzz_target name objects)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE ${objects})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()

if(TARGET cw_report AND TARGET cw_analysis)
  cw_fuzz_objects(cw_fuzz_decoders cw_format cw_input cw_analysis cw_report)
  foreach(t std native raceway clocks shiviz)
    cw_fuzz_target(fuzz_${t} cw_fuzz_decoders
      ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${t}.c)
  endforeach()
endif()

if(TARGET cw_collector)
  cw_fuzz_objects(cw_fuzz_collector cw_format cw_input cw_analysis cw_report
    cw_collector)
  cw_fuzz_target(fuzz_collector_ingest cw_fuzz_collector
    ${CMAKE_CURRENT_SOURCE_DIR}/collector/fuzz_ingest.c)
  cw_fuzz_target(fuzz_collector_http cw_fuzz_collector
    ${CMAKE_CURRENT_SOURCE_DIR}/collector/fuzz_http.c)
endif()
