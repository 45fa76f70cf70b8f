# Tests for the native batch codec (sdk/format).
cw_add_unit_test(test_format SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_format.c
  LIBS cw_format LABELS "sdk;format")
