# Hardening tests of the collector (issue 12, docs/security.md). The heavy
# ones (tmpfs, slow-client load, memory) carry the label `e2e` and run only
# in the plain gcc build, not under the sanitizers.
if(TARGET causeway-server AND TARGET cw_send AND NOT CW_SANITIZE)
  set(_sec ${CMAKE_CURRENT_SOURCE_DIR}/collector/e2e)
  add_test(NAME test_security_disk_full
    COMMAND bash ${_sec}/test_disk_full.sh $<TARGET_FILE:causeway-server>)
  set_tests_properties(test_security_disk_full PROPERTIES
    LABELS "collector;e2e" SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

if(TARGET causeway-server AND TARGET cw_collector_testlib AND NOT CW_SANITIZE)
  add_executable(test_security_slow_clients
    ${CMAKE_CURRENT_SOURCE_DIR}/collector/e2e/slow_clients.c)
  target_link_libraries(test_security_slow_clients PRIVATE
    cw_collector_testlib Threads::Threads)
  add_test(NAME test_security_slow_clients COMMAND test_security_slow_clients)
  set_tests_properties(test_security_slow_clients PROPERTIES
    LABELS "collector;e2e" SKIP_RETURN_CODE 77 TIMEOUT 120
    ENVIRONMENT "CW_SERVER_BIN=$<TARGET_FILE:causeway-server>")
  add_dependencies(test_security_slow_clients causeway-server)
endif()

if(TARGET causeway-server AND TARGET cw_collector_testlib AND NOT CW_SANITIZE)
  add_executable(test_security_memory
    ${CMAKE_CURRENT_SOURCE_DIR}/collector/e2e/mem_amplification.c)
  target_link_libraries(test_security_memory PRIVATE
    cw_collector_testlib PkgConfig::LZ4 Threads::Threads)
  add_test(NAME test_security_memory COMMAND test_security_memory)
  set_tests_properties(test_security_memory PROPERTIES
    LABELS "collector;e2e" TIMEOUT 120
    ENVIRONMENT "CW_SERVER_BIN=$<TARGET_FILE:causeway-server>")
  add_dependencies(test_security_memory causeway-server)
endif()
