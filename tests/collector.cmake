# Collector tests (server/collector): unit tests of its modules and
# integration tests that run the real causeway-server over HTTP.
if(TARGET cw_collector AND TARGET CURL::libcurl)
  add_library(cw_collector_testlib STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/collector/testlib.c)
  target_include_directories(cw_collector_testlib PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}/collector)
  target_link_libraries(cw_collector_testlib PUBLIC cw_format CURL::libcurl
    PkgConfig::JANSSON)

  function(cw_collector_it name)
    cw_add_unit_test(${name}
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/${name}.c
      LIBS cw_collector_testlib ${ARGN} LABELS "collector")
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "CW_SERVER_BIN=$<TARGET_FILE:causeway-server>")
    add_dependencies(${name} causeway-server)
  endfunction()

  cw_collector_it(test_collector_http)
  cw_collector_it(test_collector_durability)
  cw_collector_it(test_collector_load)
  cw_collector_it(test_collector_order)
  cw_collector_it(test_collector_auth)
  cw_collector_it(test_collector_protocol)

  add_executable(cw_send ${CMAKE_CURRENT_SOURCE_DIR}/collector/cw_send.c)
  target_link_libraries(cw_send PRIVATE cw_collector_testlib)
  find_program(CW_CURL_CLI curl)
  if(TARGET PostgreSQL::PostgreSQL AND CW_CURL_CLI)
    add_test(NAME test_collector_postgres
      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/collector/test_postgres.sh
        $<TARGET_FILE:causeway-server> $<TARGET_FILE:cw_send>
        ${CMAKE_CURRENT_SOURCE_DIR}/collector/raceway-lost-update.json)
    set_tests_properties(test_collector_postgres PROPERTIES
      LABELS "collector;postgres" SKIP_RETURN_CODE 77 TIMEOUT 120)
  endif()
endif()

if(TARGET cw_collector)
  foreach(t test_collector_store test_collector_modules)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c)
      cw_add_unit_test(${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c
        LIBS cw_collector LABELS "collector")
    endif()
  endforeach()
endif()

# Fuzz target for the ingest decoders. The normal suite replays the corpus
# (plus deterministic mutations) through the target without libFuzzer; with
# clang and -DCW_COLLECTOR_LIBFUZZER=ON a libFuzzer binary is built too:
#   fuzz_collector_ingest tests/collector/corpus
if(TARGET cw_collector)
  set(_fz ${CMAKE_CURRENT_SOURCE_DIR}/collector)
  add_executable(test_collector_fuzz_replay ${_fz}/fuzz_ingest.c
    ${_fz}/fuzz_replay.c)
  target_link_libraries(test_collector_fuzz_replay PRIVATE cw_collector)
  add_test(NAME test_collector_fuzz_replay
    COMMAND test_collector_fuzz_replay ${_fz}/corpus)
  set_tests_properties(test_collector_fuzz_replay PROPERTIES
    LABELS "collector;fuzz")
  option(CW_COLLECTOR_LIBFUZZER "Build the collector libFuzzer target" OFF)
  if(CW_COLLECTOR_LIBFUZZER AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    # The collector and codec sources are compiled into the target so that
    # libFuzzer sees their coverage.
    get_target_property(_srcs cw_collector SOURCES)
    set(_abs "")
    foreach(f ${_srcs})
      list(APPEND _abs ${CMAKE_SOURCE_DIR}/server/collector/${f})
    endforeach()
    add_executable(fuzz_collector_ingest ${_fz}/fuzz_ingest.c ${_abs}
      ${CMAKE_SOURCE_DIR}/sdk/format/cw_format.c)
    target_compile_options(fuzz_collector_ingest PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_collector_ingest PRIVATE -fsanitize=fuzzer)
    get_target_property(_defs cw_collector INTERFACE_COMPILE_DEFINITIONS)
    if(_defs)
      target_compile_definitions(fuzz_collector_ingest PRIVATE ${_defs})
    endif()
    get_target_property(_libs cw_collector INTERFACE_LINK_LIBRARIES)
    list(REMOVE_ITEM _libs cw_format)
    target_include_directories(fuzz_collector_ingest PRIVATE
      ${CMAKE_SOURCE_DIR}/server/collector ${CMAKE_SOURCE_DIR}/server/analysis
      ${CMAKE_SOURCE_DIR}/sdk/format)
    target_link_libraries(fuzz_collector_ingest PRIVATE ${_libs})
  endif()
endif()
