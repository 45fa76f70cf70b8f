# Tests of the analysis engine (label "analysis").
if(TARGET cw_analysis)
  foreach(t race deadlock misc anomaly)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_analysis_${t}.c)
      cw_add_unit_test(test_analysis_${t}
        SOURCES unit/test_analysis_${t}.c unit/test_analysis_util.c
        LIBS cw_analysis
        LABELS analysis)
    endif()
  endforeach()
endif()

# Potential deadlocks against an independent brute-force reference of
# design 4.2 on seeded random traces (tests/deadlock/difftest.py).
find_package(Python3 COMPONENTS Interpreter QUIET)
if(TARGET cw_analysis AND TARGET cw_input AND TARGET causeway_cli
   AND Python3_Interpreter_FOUND)
  add_executable(cw_test_dl_batch deadlock/dl_batch.c)
  target_link_libraries(cw_test_dl_batch PRIVATE cw_input cw_analysis)
  add_test(NAME analysis_deadlock_difftest
           COMMAND ${Python3_EXECUTABLE}
                   ${CMAKE_CURRENT_SOURCE_DIR}/deadlock/difftest.py
                   $<TARGET_FILE:causeway_cli> $<TARGET_FILE:cw_test_dl_batch>
                   --small 2000 --large 3)
  set_tests_properties(analysis_deadlock_difftest PROPERTIES
                       LABELS "analysis" TIMEOUT 600)
endif()
