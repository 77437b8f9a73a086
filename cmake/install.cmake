# Install rules: the header, the static and shared libraries, a CMake package
# (find_package(reactor CONFIG) -> reactor::reactor, with a version file) and reactor.pc.
# Included from the top-level CMakeLists.txt after the library targets exist.
option(REACTOR_INSTALL "Generate install rules" ${REACTOR_TOP_LEVEL})
if(NOT REACTOR_INSTALL)
  return()
endif()
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(REACTOR_INSTALL_TARGETS)
foreach(target reactor_shared reactor_static)
  if(TARGET ${target})
    list(APPEND REACTOR_INSTALL_TARGETS ${target})
  endif()
endforeach()
set(REACTOR_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/reactor)

install(TARGETS ${REACTOR_INSTALL_TARGETS} EXPORT reactorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT reactor_development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT reactor_runtime
          NAMELINK_COMPONENT reactor_development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT reactor_runtime
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/reactor.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT reactor_development)
install(EXPORT reactorTargets NAMESPACE reactor:: DESTINATION ${REACTOR_CMAKE_DIR}
  COMPONENT reactor_development)

# Before 1.0 a minor release may break the API (the SOVERSION says the same).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(REACTOR_VERSION_COMPATIBILITY SameMinorVersion)
else()
  set(REACTOR_VERSION_COMPATIBILITY SameMajorVersion)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/reactor-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/reactor-config.cmake
  INSTALL_DESTINATION ${REACTOR_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/reactor-config-version.cmake
  COMPATIBILITY ${REACTOR_VERSION_COMPATIBILITY})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reactor-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/reactor-config-version.cmake
  DESTINATION ${REACTOR_CMAKE_DIR} COMPONENT reactor_development)

# pkg-config: `pkg-config --libs reactor` links the shared library when there is one;
# --static adds REACTOR_STATIC (needed on Windows, where it turns dllimport off) and the
# system libraries the static library needs.
set(REACTOR_PC_CFLAGS "")
set(REACTOR_PC_CFLAGS_PRIVATE "")
set(REACTOR_PC_LIBS_PRIVATE "")
if(TARGET reactor_shared)
  set(REACTOR_PC_CFLAGS_PRIVATE " -DREACTOR_STATIC")
else()
  set(REACTOR_PC_CFLAGS " -DREACTOR_STATIC")
endif()
foreach(lib IN LISTS REACTOR_PLATFORM_LIBS)
  string(APPEND REACTOR_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
# Relocatable: paths relative to the .pc file, so the tree can be installed or moved anywhere.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(REACTOR_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(REACTOR_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH REACTOR_PC_UP /r/${CMAKE_INSTALL_LIBDIR}/pkgconfig /r)
  string(REGEX REPLACE "/$" "" REACTOR_PC_UP "${REACTOR_PC_UP}")
  set(REACTOR_PC_PREFIX "\${pcfiledir}/${REACTOR_PC_UP}")
  set(REACTOR_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(REACTOR_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(REACTOR_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/reactor.pc.in ${CMAKE_CURRENT_BINARY_DIR}/reactor.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reactor.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT reactor_development)
