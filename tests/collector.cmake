# Collector tests (server/collector): unit tests of its modules and
# integration tests that run the real causeway-server over HTTP.
if(TARGET cw_collector AND TARGET CURL::libcurl)
  add_library(cw_collector_testlib STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/collector/testlib.c)
  target_include_directories(cw_collector_testlib PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}/collector)
  target_link_libraries(cw_collector_testlib PUBLIC cw_format CURL::libcurl
    PkgConfig::JANSSON)

  function(cw_collector_it name)
    cw_add_unit_test(${name}
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/${name}.c
      LIBS cw_collector_testlib ${ARGN} LABELS "collector")
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "CW_SERVER_BIN=$<TARGET_FILE:causeway-server>")
    add_dependencies(${name} causeway-server)
  endfunction()

  cw_collector_it(test_collector_http)
  cw_collector_it(test_collector_durability)
  cw_collector_it(test_collector_load)
  cw_collector_it(test_collector_order)
  cw_collector_it(test_collector_auth)
endif()

if(TARGET cw_collector)
  foreach(t test_collector_store test_collector_modules)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c)
      cw_add_unit_test(${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/${t}.c
        LIBS cw_collector LABELS "collector")
    endif()
  endforeach()
endif()
