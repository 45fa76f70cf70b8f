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

# Data-driven cases: one CTest test per tests/data/<case>/ directory, run by
# tests/cli/data_runner against the causeway binary.
if(TARGET causeway_cli AND TARGET cw_format)
  add_library(cw_test_cwtspec STATIC cli/cwt_spec.c)
  target_include_directories(cw_test_cwtspec PUBLIC cli)
  target_link_libraries(cw_test_cwtspec PUBLIC cw_format)

  cw_add_unit_test(test_input_native
    SOURCES unit/test_input_native.c unit/test_input_fake_engine.c
    LIBS cw_input cw_test_cwtspec LABELS cli)

  add_executable(cw_data_runner cli/data_runner.c)
  target_link_libraries(cw_data_runner PRIVATE cw_test_cwtspec
                        PkgConfig::JANSSON)
  add_executable(cw_test_cwt_gen cli/cwt_gen.c)
  target_link_libraries(cw_test_cwt_gen PRIVATE cw_test_cwtspec)
  add_executable(cw_test_cwt_split cli/cwt_split.c)
  target_link_libraries(cw_test_cwt_split PRIVATE cw_format)

  # End-to-end: exit codes, options, report formats, run and dump. The SDK's
  # instrumented example joins in once it is built.
  set(CW_E2E_EXAMPLE "")
  if(TARGET cw_example_balance)
    set(CW_E2E_EXAMPLE $<TARGET_FILE:cw_example_balance>)
  endif()
  add_test(NAME cli_e2e
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_e2e.sh
                   $<TARGET_FILE:causeway_cli> $<TARGET_FILE:cw_test_cwt_gen>
                   ${CMAKE_SOURCE_DIR} ${CW_E2E_EXAMPLE})
  set_tests_properties(cli_e2e PROPERTIES LABELS "cli")

  file(GLOB CW_DATA_CASES LIST_DIRECTORIES true
       ${CMAKE_CURRENT_SOURCE_DIR}/data/*)
  foreach(dir ${CW_DATA_CASES})
    if(IS_DIRECTORY ${dir} AND EXISTS ${dir}/expected.json)
      get_filename_component(case ${dir} NAME)
      add_test(NAME cli_data_${case}
               COMMAND cw_data_runner $<TARGET_FILE:causeway_cli> ${dir})
      set_tests_properties(cli_data_${case} PROPERTIES LABELS "cli;data")
    endif()
  endforeach()
endif()

# Same input, same answer: every Raceway and native case of tests/data goes
# to `causeway check` and, in shuffled batch order, to a real collector;
# the JSON reports must be equal (tests/cli/compare_cli_collector.py).
if(TARGET causeway_cli AND TARGET causeway-server AND TARGET cw_test_cwt_gen)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    file(GLOB CW_COMPARE_CASES LIST_DIRECTORIES true
         ${CMAKE_CURRENT_SOURCE_DIR}/data/raceway-*
         ${CMAKE_CURRENT_SOURCE_DIR}/data/native-*)
    add_test(NAME cli_collector_compare
             COMMAND ${Python3_EXECUTABLE}
                     ${CMAKE_CURRENT_SOURCE_DIR}/cli/compare_cli_collector.py
                     $<TARGET_FILE:causeway_cli>
                     $<TARGET_FILE:causeway-server>
                     $<TARGET_FILE:cw_test_cwt_gen>
                     $<TARGET_FILE:cw_test_cwt_split> ${CW_COMPARE_CASES})
    set_tests_properties(cli_collector_compare PROPERTIES
      LABELS "cli;collector" TIMEOUT 300)
  endif()
endif()

# Inputs with explicit clocks: every native case survives `causeway dump
# --format clocks` (same report), and a real ShiViz sample log gives the
# races an independent vector-clock computation finds.
if(TARGET causeway_cli AND TARGET cw_test_cwt_gen)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    file(GLOB CW_NATIVE_CASES LIST_DIRECTORIES true
         ${CMAKE_CURRENT_SOURCE_DIR}/data/native-*)
    add_test(NAME cli_clocks_roundtrip
             COMMAND ${Python3_EXECUTABLE}
                     ${CMAKE_CURRENT_SOURCE_DIR}/cli/clocks_roundtrip.py
                     $<TARGET_FILE:causeway_cli>
                     $<TARGET_FILE:cw_test_cwt_gen> ${CW_NATIVE_CASES})
    add_test(NAME cli_shiviz_sample
             COMMAND ${Python3_EXECUTABLE}
                     ${CMAKE_CURRENT_SOURCE_DIR}/cli/shiviz_check.py
                     $<TARGET_FILE:causeway_cli>
                     ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/shiviz/tsviz_shared_var_4_threads.log)
    add_test(NAME cli_docs_summary_keys
             COMMAND ${Python3_EXECUTABLE}
                     ${CMAKE_CURRENT_SOURCE_DIR}/cli/docs_summary_keys.py
                     $<TARGET_FILE:causeway_cli>
                     ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/lost-update.std
                     ${CMAKE_SOURCE_DIR}/docs/cli.md
                     ${CMAKE_SOURCE_DIR}/docs/http-api.md)
    set_tests_properties(cli_clocks_roundtrip cli_shiviz_sample
      cli_docs_summary_keys PROPERTIES LABELS "cli")
  endif()
endif()

# Report writers and suppressions, on the real engine.
if(TARGET cw_report AND TARGET cw_analysis)
  cw_add_unit_test(test_report_suppress
    SOURCES unit/test_report_suppress.c
    LIBS cw_report cw_input cw_analysis LABELS cli)
  cw_add_unit_test(test_report_formats
    SOURCES unit/test_report_formats.c
    LIBS cw_report cw_input cw_analysis LABELS cli)
endif()

# Fuzz targets for the decoders. Their corpora (tests/fuzz/corpus/<target>)
# are replayed by a plain driver in the normal suite; the libFuzzer binaries
# fuzz_<target> are tests/fuzz.cmake's (-DCW_FUZZ=ON with clang).
if(TARGET cw_report AND TARGET cw_analysis)
  foreach(t std native raceway clocks shiviz)
    add_executable(cw_replay_${t} fuzz/fuzz_${t}.c fuzz/replay_main.c)
    target_link_libraries(cw_replay_${t} PRIVATE cw_report cw_input
                          cw_analysis)
    add_test(NAME cli_fuzz_replay_${t}
             COMMAND cw_replay_${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${t})
    set_tests_properties(cli_fuzz_replay_${t} PROPERTIES LABELS "cli;fuzz")
  endforeach()
endif()

# `causeway check --server`: the SDK example streams to a real collector over
# HTTP, then the CLI gates on its findings.
if(TARGET causeway_cli AND TARGET causeway-server AND
   TARGET cw_example_balance)
  add_test(NAME cli_server
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_server.sh
                   $<TARGET_FILE:causeway_cli> $<TARGET_FILE:causeway-server>
                   $<TARGET_FILE:cw_example_balance>)
  set_tests_properties(cli_server PROPERTIES LABELS "cli;collector" TIMEOUT 120)
endif()
