# Tests for the HTTP glue and the database wrappers (sdk/http, sdk/db) and
# the multi-process integration scripts in tests/glue/.
# The statement classifier is part of libcauseway (sdk/db/cw_sql.c).
if(TARGET cw_sdk_internal)
  cw_add_unit_test(test_db_sql
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_db_sql.c
    LIBS cw_sdk_internal LABELS "glue;db")
  target_include_directories(test_db_sql PRIVATE ${PROJECT_SOURCE_DIR}/sdk/db)
endif()

# ---- HTTP glue -------------------------------------------------------------
set(CW_GLUE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/glue)
set(CW_GLUE_BIN ${CMAKE_BINARY_DIR}/glue-bin)
if(TARGET causeway_http)
  cw_add_unit_test(test_http_headers
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http_headers.c
    LIBS causeway_http_static LABELS "glue;http")
  cw_add_unit_test(test_http_glue
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http_glue.c
    LIBS causeway_http_static LABELS "glue;http")
  foreach(t test_http_headers test_http_glue)
    target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/sdk/http)
  endforeach()

  add_library(cw_glue_util STATIC ${CW_GLUE_DIR}/glue_util.c)
  target_link_libraries(cw_glue_util PUBLIC causeway_http_static)
  foreach(p glue_service glue_client)
    add_executable(${p} ${CW_GLUE_DIR}/${p}.c)
    target_link_libraries(${p} PRIVATE cw_glue_util)
    set_target_properties(${p} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CW_GLUE_BIN})
  endforeach()
endif()
if(TARGET cw_format)
  add_executable(glue_traces ${CW_GLUE_DIR}/glue_traces.c)
  target_link_libraries(glue_traces PRIVATE cw_format)
  set_target_properties(glue_traces PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CW_GLUE_BIN})
endif()
add_executable(glue_check ${CW_GLUE_DIR}/glue_check.c)
target_link_libraries(glue_check PRIVATE PkgConfig::JANSSON)
set_target_properties(glue_check PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CW_GLUE_BIN})

# The causeway CLI: whichever executable target provides it.
set(CW_GLUE_CLI_TARGET "")
foreach(t causeway_cli causeway)
  if(TARGET ${t} AND NOT CW_GLUE_CLI_TARGET)
    get_target_property(_type ${t} TYPE)
    if(_type STREQUAL "EXECUTABLE")
      set(CW_GLUE_CLI_TARGET ${t})
    endif()
  endif()
endforeach()

# cw_add_glue_script(NAME SCRIPT [ARGS...]): a multi-process scenario run by
# bash with the glue programs and the causeway CLI.
function(cw_add_glue_script name script)
  add_test(NAME ${name} COMMAND bash ${CW_GLUE_DIR}/${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES
    LABELS "glue;integration" TIMEOUT 60 SKIP_RETURN_CODE 77
    ENVIRONMENT "GLUE_BIN=${CW_GLUE_BIN};GLUE_CLI=$<$<BOOL:${CW_GLUE_CLI_TARGET}>:$<TARGET_FILE:${CW_GLUE_CLI_TARGET}>>")
endfunction()

if(TARGET causeway_http AND CW_GLUE_CLI_TARGET)
  cw_add_glue_script(glue_http_race http_race.sh)
endif()
if(TARGET causeway_http AND TARGET causeway-server)
  cw_add_glue_script(glue_http_deadlock http_deadlock.sh)
  set_property(TEST glue_http_deadlock APPEND PROPERTY ENVIRONMENT
    "GLUE_SERVER=$<TARGET_FILE:causeway-server>")
  # ~40 s alone: after the deadlocked services stop, each query to the
  # collector waits seconds for a free worker; under a loaded -j2 run the
  # default 60 s is not enough.
  set_tests_properties(glue_http_deadlock PROPERTIES TIMEOUT 150)
  # The same with a 100 ms threshold, below the SDK's 200 ms flush interval
  # (issue 11: the collector missed the cycle in 8 of 10 such runs when the
  # waiter's batch came first).
  cw_add_glue_script(glue_http_deadlock_100 http_deadlock.sh)
  set_property(TEST glue_http_deadlock_100 APPEND PROPERTY ENVIRONMENT
    "GLUE_SERVER=$<TARGET_FILE:causeway-server>" "GLUE_HTTP_WAITS=100")
  set_tests_properties(glue_http_deadlock_100 PROPERTIES TIMEOUT 150)
endif()

# ---- Databases ------------------------------------------------------------
if(TARGET causeway_sqlite AND TARGET cw_format)
  cw_add_unit_test(test_db_sqlite
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_db_sqlite.c
    LIBS causeway_sqlite_static cw_format LABELS "glue;db")
endif()
if(TARGET causeway_pq AND TARGET cw_format)
  # Needs a server: run under with_postgres.sh (skips only without the
  # PostgreSQL binaries).
  add_executable(test_db_pq ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_db_pq.c)
  target_link_libraries(test_db_pq PRIVATE causeway_pq_static cw_format
    PkgConfig::CMOCKA)
  add_test(NAME test_db_pq COMMAND bash ${CW_GLUE_DIR}/with_postgres.sh
    $<TARGET_FILE:test_db_pq>)
  set_tests_properties(test_db_pq PROPERTIES LABELS "glue;db"
    TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
if(TARGET causeway_sqlite AND TARGET causeway_pq)
  add_executable(glue_dbxfer ${CW_GLUE_DIR}/glue_dbxfer.c)
  target_link_libraries(glue_dbxfer PRIVATE causeway_sqlite_static causeway_pq_static
    Threads::Threads)
  set_target_properties(glue_dbxfer PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CW_GLUE_BIN})
  if(CW_GLUE_CLI_TARGET)
    cw_add_glue_script(glue_db_sqlite db_lost_update.sh sqlite)
    cw_add_glue_script(glue_db_pq with_postgres.sh bash
      ${CW_GLUE_DIR}/db_lost_update.sh pq)
  endif()
endif()

# ---- docs/examples: compiled here so CI keeps them building ------------------
set(CW_DOC_EXAMPLES ${PROJECT_SOURCE_DIR}/docs/examples)
if(TARGET causeway_http)
  foreach(ex http_service http_client)
    add_executable(example_${ex} ${CW_DOC_EXAMPLES}/${ex}.c)
    target_link_libraries(example_${ex} PRIVATE causeway::http)
  endforeach()
  # The service calls civetweb itself (the glue links it privately).
  target_link_libraries(example_http_service PRIVATE cw_civetweb)
endif()
if(TARGET causeway_sqlite)
  add_executable(example_db_sqlite ${CW_DOC_EXAMPLES}/db_sqlite.c)
  target_link_libraries(example_db_sqlite PRIVATE causeway::sqlite)
  # Runs too: a fresh database file in the build tree.
  add_test(NAME example_db_sqlite COMMAND example_db_sqlite
    ${CMAKE_CURRENT_BINARY_DIR}/example_db_sqlite.db)
  set_tests_properties(example_db_sqlite PROPERTIES LABELS "glue;db")
endif()
if(TARGET causeway_pq)
  add_executable(example_db_pq ${CW_DOC_EXAMPLES}/db_pq.c)
  target_link_libraries(example_db_pq PRIVATE causeway::pq)
  add_test(NAME example_db_pq COMMAND bash ${CW_GLUE_DIR}/with_postgres.sh
    bash -c "exec $<TARGET_FILE:example_db_pq> \"$CW_PG_CONNINFO\"")
  set_tests_properties(example_db_pq PROPERTIES LABELS "glue;db"
    TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
