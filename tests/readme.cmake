# The README's C example compiles, runs and reports what the README says.
if(TARGET causeway AND TARGET causeway_cli)
  add_test(NAME readme_example
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/readme_example.sh
                   ${CMAKE_SOURCE_DIR} $<TARGET_FILE:causeway>
                   $<TARGET_FILE:causeway_cli> ${CMAKE_C_COMPILER}
                   "${CW_SANITIZE}")
  set_tests_properties(readme_example PROPERTIES LABELS "sdk;docs")
endif()
