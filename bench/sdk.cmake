# SDK benchmarks (bench/bench_sdk.sh runs them with the TSan baseline).
if(TARGET causeway)
  add_executable(bench_sdk_hotpath bench_sdk_hotpath.c)
  target_link_libraries(bench_sdk_hotpath PRIVATE causeway::sdk)
  add_executable(bench_sdk_raw bench_sdk_raw.c)
  target_link_libraries(bench_sdk_raw PRIVATE Threads::Threads)
  add_executable(bench_sdk_cpu bench_sdk_cpu.c)
  target_link_libraries(bench_sdk_cpu PRIVATE causeway::sdk)
  add_executable(bench_sdk_tasks bench_sdk_tasks.c)
  target_link_libraries(bench_sdk_tasks PRIVATE causeway::sdk)
  # Smoke runs with tiny sizes, so the benchmarks keep working (label
  # "bench"; the figures are not checked).
  add_test(NAME bench_sdk_smoke_hotpath COMMAND bench_sdk_hotpath 5)
  add_test(NAME bench_sdk_smoke_tasks COMMAND bench_sdk_tasks 2000)
  add_test(NAME bench_sdk_smoke_cpu COMMAND bench_sdk_cpu cw 2 2000)
  set_tests_properties(bench_sdk_smoke_hotpath bench_sdk_smoke_tasks
    bench_sdk_smoke_cpu
    PROPERTIES LABELS bench TIMEOUT 120)
endif()
