# The SDK's HTTP transport against a real civetweb server on loopback.
if(TARGET cw_transport AND TARGET cw_civetweb)
  cw_add_unit_test(test_transport
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_transport.c
    LIBS cw_transport cw_civetweb LABELS "sdk;transport")
endif()
