# The SDK's HTTP transport against a real civetweb server on loopback.
if(TARGET cw_transport AND TARGET cw_civetweb)
  cw_add_unit_test(test_transport
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_transport.c
    LIBS cw_transport cw_civetweb LABELS "sdk;transport")
endif()

# cw_shutdown with a collector that is down, stalls, or comes late (the
# public SDK with CAUSEWAY_ENDPOINT; the real causeway-server for the last).
if(TARGET causeway_static AND TARGET cw_transport AND TARGET causeway-server)
  cw_add_unit_test(test_sdk_shutdown
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sdk_shutdown.c
    LIBS causeway_static CURL::libcurl Threads::Threads
    LABELS "sdk;transport")
  set_property(TEST test_sdk_shutdown APPEND PROPERTY ENVIRONMENT
    "CW_SERVER_BIN=$<TARGET_FILE:causeway-server>")
  set_tests_properties(test_sdk_shutdown PROPERTIES TIMEOUT 120)
  add_dependencies(test_sdk_shutdown causeway-server)
endif()
