# Collector ingest benchmark (built, never run by ctest); see
# bench/bench_collector.sh.
if(TARGET cw_collector AND TARGET CURL::libcurl)
  add_executable(bench_collector ${CMAKE_CURRENT_SOURCE_DIR}/bench_collector.c)
  target_link_libraries(bench_collector PRIVATE cw_collector CURL::libcurl)
endif()
