# Collector ingest benchmark (built, never run by ctest); see
# bench/bench_collector.sh.
if(TARGET cw_collector AND TARGET CURL::libcurl)
  add_executable(bench_collector ${CMAKE_CURRENT_SOURCE_DIR}/bench_collector.c)
  target_link_libraries(bench_collector PRIVATE cw_collector CURL::libcurl)
endif()

# Timeline query over a million kept events (GET /v1/timeline).
if(TARGET cw_collector)
  add_executable(bench_timeline ${CMAKE_CURRENT_SOURCE_DIR}/bench_timeline.c)
  target_link_libraries(bench_timeline PRIVATE cw_collector)
endif()
