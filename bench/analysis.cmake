# Analysis engine benchmarks (built, never run by ctest).
if(TARGET cw_analysis)
  add_library(cw_gen_trace_core STATIC ${CMAKE_CURRENT_SOURCE_DIR}/gen_trace_core.c)
  add_executable(gen_trace ${CMAKE_CURRENT_SOURCE_DIR}/gen_trace.c)
  target_link_libraries(gen_trace PRIVATE cw_gen_trace_core)
  add_executable(bench_analysis ${CMAKE_CURRENT_SOURCE_DIR}/bench_analysis.c)
  target_link_libraries(bench_analysis PRIVATE cw_analysis cw_gen_trace_core)
  add_executable(bench_analysis_scale
    ${CMAKE_CURRENT_SOURCE_DIR}/bench_analysis_scale.c)
  target_link_libraries(bench_analysis_scale PRIVATE cw_analysis)
endif()
# Potential-deadlock benchmark (bench/bench_deadlock.sh).
if(TARGET cw_analysis AND TARGET cw_input)
  add_executable(gen_dl_trace ${CMAKE_CURRENT_SOURCE_DIR}/gen_dl_trace.c)
  add_executable(bench_dl_race ${CMAKE_CURRENT_SOURCE_DIR}/bench_dl_race.c)
  target_link_libraries(bench_dl_race PRIVATE cw_input cw_analysis)
endif()
