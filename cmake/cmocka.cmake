# Provides the imported target reactor_cmocka for the tests.
# Linux: Debian's libcmocka-dev (the README's set-up installs it).
# Windows (mingw-w64 cross build): a static cmocka built from Debian's source package by
# cmake/cmocka_mingw.cmake into the build tree.
if(TARGET reactor_cmocka)
  return()
endif()
if(WIN32)
  include(${CMAKE_CURRENT_LIST_DIR}/cmocka_mingw.cmake)
else()
  find_path(REACTOR_CMOCKA_INCLUDE cmocka.h)
  find_library(REACTOR_CMOCKA_LIBRARY cmocka)
  if(NOT REACTOR_CMOCKA_INCLUDE OR NOT REACTOR_CMOCKA_LIBRARY)
    message(FATAL_ERROR "cmocka not found: apt-get install libcmocka-dev (or turn REACTOR_BUILD_TESTS off)")
  endif()
  add_library(reactor_cmocka UNKNOWN IMPORTED)
  set_target_properties(reactor_cmocka PROPERTIES
    IMPORTED_LOCATION ${REACTOR_CMOCKA_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${REACTOR_CMOCKA_INCLUDE})
endif()
