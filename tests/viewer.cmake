# The viewer's browser test (tests/viewer): a real collector loaded with
# fixture traces, Debian's Chromium driven by playwright-core. Heavy, so it
# runs in the plain gcc build only (label e2e); scripts/test.sh installs
# Chromium, Node and the pinned npm packages (CAUSEWAY_WITH_BROWSER=1).
if(TARGET causeway-server AND TARGET cw_test_cwt_gen AND NOT CW_SANITIZE
   AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
  find_program(CW_NODE node)
  add_test(NAME viewer_browser
    COMMAND ${CMAKE_COMMAND} -E env
      CW_SERVER_BIN=$<TARGET_FILE:causeway-server>
      CW_CWT_GEN=$<TARGET_FILE:cw_test_cwt_gen>
      CW_SOURCE_DIR=${CMAKE_SOURCE_DIR}
      CW_SHOTS_DIR=${CMAKE_BINARY_DIR}/viewer-screenshots
      ${CW_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/viewer/viewer.test.mjs)
  set_tests_properties(viewer_browser PROPERTIES LABELS "e2e;viewer"
    TIMEOUT 240)
endif()

# The collector routes the viewer needs (timeline, marks, stream tokens,
# headers), against a real causeway-server.
if(COMMAND cw_collector_it AND TARGET cw_test_cwtspec)
  cw_collector_it(test_collector_viewer cw_test_cwtspec)
endif()
