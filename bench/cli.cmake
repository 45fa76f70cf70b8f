# Input-path benchmark of the CLI (built, never run by ctest).
if(TARGET cw_input AND TARGET cw_report AND TARGET cw_analysis)
  add_executable(bench_std_input ${CMAKE_CURRENT_SOURCE_DIR}/bench_std_input.c)
  target_link_libraries(bench_std_input PRIVATE cw_report cw_input cw_analysis)
endif()
