# The demo bank's end-to-end tests: real processes (collector and the five
# services) on free ports, real HTTP, a real PostgreSQL for the PostgreSQL
# variant. Heavy, so only in the unsanitized (gcc) build; label e2e;bank.
if(TARGET bank-web AND TARGET bank-cli AND TARGET causeway-server AND
   NOT CW_SANITIZE)
  set(_bank_dir ${CMAKE_CURRENT_SOURCE_DIR}/bank)
  set(_bank_env "BANK_BUILD=${CMAKE_BINARY_DIR}")
  add_test(NAME bank_scenarios COMMAND bash ${_bank_dir}/bank_scenarios.sh)
  add_test(NAME bank_bad_input COMMAND bash ${_bank_dir}/bank_bad_input.sh)
  add_test(NAME bank_postgres
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/glue/with_postgres.sh
                   bash ${_bank_dir}/bank_postgres.sh)
  set_tests_properties(bank_scenarios bank_bad_input bank_postgres PROPERTIES
    LABELS "e2e;bank" TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "${_bank_env}")
  if(TARGET bank-loadsim)
    add_test(NAME bank_loadsim COMMAND bash ${_bank_dir}/bank_loadsim.sh)
    set_tests_properties(bank_loadsim PROPERTIES LABELS "e2e;bank"
      TIMEOUT 600 ENVIRONMENT "${_bank_env}")
  endif()
endif()
