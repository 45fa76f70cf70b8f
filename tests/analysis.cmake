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
