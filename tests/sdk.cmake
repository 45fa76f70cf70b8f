# Tests of the core SDK (libcauseway), label "sdk". They link the static
# library for the internal view (cw__ symbols, replay helper).
set(CW_SDK_TEST_INC ${CMAKE_CURRENT_SOURCE_DIR}/sdk)

function(cw_sdk_test name)
  cw_add_unit_test(${name} SOURCES unit/${name}.c ${ARGN}
    LIBS cw_sdk_replay Threads::Threads LABELS sdk)
  target_include_directories(${name} PRIVATE ${CW_SDK_TEST_INC})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
endfunction()

if(TARGET cw_sdk_replay)
  cw_sdk_test(test_sdk_hb)
  cw_sdk_test(test_sdk_core)
  cw_sdk_test(test_sdk_snapshot)
  cw_sdk_test(test_sdk_vclock)
  cw_sdk_test(test_sdk_ring)
  cw_sdk_test(test_sdk_stamp)
  cw_sdk_test(test_sdk_retire)
  cw_sdk_test(test_sdk_stress)
  cw_sdk_test(test_sdk_encode)
  cw_sdk_test(test_sdk_file)
  cw_sdk_test(test_sdk_internal)
  target_compile_definitions(test_sdk_file PRIVATE
    CW_EXAMPLE_BALANCE="$<TARGET_FILE:cw_example_balance>")
  add_dependencies(test_sdk_file cw_example_balance)
  # Lock fast path, and `causeway check` on an SDK trace (needs the CLI).
  if(TARGET causeway_cli)
    cw_sdk_test(test_sdk_lockpath)
    target_link_libraries(test_sdk_lockpath PRIVATE PkgConfig::JANSSON)
    target_compile_definitions(test_sdk_lockpath PRIVATE
      CW_CLI="$<TARGET_FILE:causeway_cli>")
    add_dependencies(test_sdk_lockpath causeway_cli)
    cw_sdk_test(test_sdk_remote_retire)
    target_link_libraries(test_sdk_remote_retire PRIVATE PkgConfig::JANSSON)
    target_compile_definitions(test_sdk_remote_retire PRIVATE
      CW_CLI="$<TARGET_FILE:causeway_cli>")
    add_dependencies(test_sdk_remote_retire causeway_cli)
  endif()
endif()

# The installed package works for an out-of-tree consumer (CMake package
# and pkg-config). Needs the libraries built: it runs after a full build.
if(TARGET causeway)
  set(CW_CONSUMER_FLAGS "")
  if(CW_SANITIZE)
    set(CW_CONSUMER_FLAGS "-fsanitize=${CW_SANITIZE}")
  endif()
  add_test(NAME sdk_consumer
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/sdk/consumer.sh
            ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/sdk/consumer
            "${CW_CONSUMER_FLAGS}")
  set_tests_properties(sdk_consumer PROPERTIES LABELS sdk TIMEOUT 300)
endif()
