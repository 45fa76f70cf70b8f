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

# Fuzz targets of the collector: fuzz_ingest (the ingest functions: the first
# byte picks the route) and fuzz_http (raw HTTP requests to an in-process
# causeway-server: civetweb's parser, routing, auth, limits and ingest, the
# code the server runs). The normal suite replays their corpora (plus
# deterministic mutations) without libFuzzer; the libFuzzer binaries are
# tests/fuzz.cmake's (-DCW_FUZZ=ON with clang).
if(TARGET cw_collector)
  set(_fz ${CMAKE_CURRENT_SOURCE_DIR}/collector)
  add_executable(test_collector_fuzz_replay ${_fz}/fuzz_ingest.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay_main.c)
  target_link_libraries(test_collector_fuzz_replay PRIVATE cw_collector)
  add_test(NAME test_collector_fuzz_replay
    COMMAND test_collector_fuzz_replay --mutations 500 ${_fz}/corpus)
  set_tests_properties(test_collector_fuzz_replay PROPERTIES
    LABELS "collector;fuzz")
  add_executable(test_collector_fuzz_http ${_fz}/fuzz_http.c
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay_main.c)
  target_link_libraries(test_collector_fuzz_http PRIVATE cw_collector)
  add_test(NAME test_collector_fuzz_http
    COMMAND test_collector_fuzz_http --mutations 500 ${_fz}/corpus-http)
  set_tests_properties(test_collector_fuzz_http PROPERTIES
    LABELS "collector;fuzz" TIMEOUT 300)
  # Regrows corpus/native-*.bin (valid batches) after a format change.
  add_executable(fuzz_collector_seeds ${_fz}/fuzz_seeds.c)
  target_link_libraries(fuzz_collector_seeds PRIVATE cw_collector)
endif()
