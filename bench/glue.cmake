# HTTP glue benchmark (built, never run by ctest); see bench/bench_http.sh.
if(TARGET causeway_http)
  add_executable(bench_http ${CMAKE_CURRENT_SOURCE_DIR}/bench_http.c)
  target_link_libraries(bench_http PRIVATE causeway_http_static)
  target_include_directories(bench_http PRIVATE
    ${PROJECT_SOURCE_DIR}/sdk/http)
endif()
