# Install rules: the header, the library, a CMake package (find_package(reactor CONFIG) ->
# reactor::reactor, with a version file) and reactor.pc for pkg-config.
option(REACTOR_INSTALL "Generate install rules" ${REACTOR_TOP_LEVEL})
if(NOT REACTOR_INSTALL)
  return()
endif()
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS reactor EXPORT reactorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES include/reactor.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT reactorTargets NAMESPACE reactor::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/reactor)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/reactor-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/reactor-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/reactor)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/reactor-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reactor-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/reactor-config-version.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/reactor)

# pkg-config: a static build lists its system libraries and REACTOR_STATIC for consumers.
set(REACTOR_PC_CFLAGS "")
set(REACTOR_PC_LIBS_PRIVATE "")
if(NOT BUILD_SHARED_LIBS)
  set(REACTOR_PC_CFLAGS "-DREACTOR_STATIC")
endif()
foreach(lib IN LISTS REACTOR_PLATFORM_LIBS)
  string(APPEND REACTOR_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/reactor.pc.in ${CMAKE_CURRENT_BINARY_DIR}/reactor.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reactor.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
