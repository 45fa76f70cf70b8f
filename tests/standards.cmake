# report_standards: SARIF (OASIS schema + GitHub's rules), JUnit
# (junit-10.xsd), Prometheus (promtool on a live collector) and the text
# report's safety (tests/cli/standards.sh). Starts a collector: gcc build
# only (label e2e).
if(TARGET causeway_cli AND TARGET causeway-server AND TARGET cw_test_cwt_gen
   AND TARGET cw_example_balance)
  add_test(NAME report_standards
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/standards.sh
            $<TARGET_FILE:causeway_cli> $<TARGET_FILE:cw_test_cwt_gen>
            ${CMAKE_SOURCE_DIR} $<TARGET_FILE:causeway-server>
            $<TARGET_FILE:cw_example_balance>)
  set_tests_properties(report_standards PROPERTIES
    LABELS "cli;standards;e2e" TIMEOUT 120)
endif()
