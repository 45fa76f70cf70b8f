# Finds causeway's Debian-packaged dependencies and exposes imported targets.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
find_package(CURL)
find_package(SQLite3)
find_package(PostgreSQL)

# civetweb 1.15 ships no .pc file and its CMake config aborts without the
# civetweb binary package, so locate it by hand (see shared/setup.md).
find_path(CIVETWEB_INCLUDE_DIR civetweb.h)
find_library(CIVETWEB_LIBRARY civetweb)
if(CIVETWEB_INCLUDE_DIR AND CIVETWEB_LIBRARY AND NOT TARGET cw_civetweb)
  add_library(cw_civetweb UNKNOWN IMPORTED)
  set_target_properties(cw_civetweb PROPERTIES
    IMPORTED_LOCATION "${CIVETWEB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CIVETWEB_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
