# Tests of the input decoders, the report writers and the causeway CLI.
# Decoder unit tests link a recording engine stand-in
# (unit/test_input_fake_engine.c), not the real engine.
if(TARGET cw_input)
  cw_add_unit_test(test_input_std
    SOURCES unit/test_input_std.c unit/test_input_fake_engine.c
    LIBS cw_input LABELS cli)
  cw_add_unit_test(test_input_raceway
    SOURCES unit/test_input_raceway.c unit/test_input_fake_engine.c
    LIBS cw_input LABELS cli)
endif()
