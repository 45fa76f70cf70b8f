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
endif()
