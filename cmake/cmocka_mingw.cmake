# reactor_cmocka for the mingw-w64 cross build: Debian ships no mingw cmocka, so the static
# library is built from Debian's cmocka source package (the upstream tarball, SHA-256 pinned)
# with ExternalProject into the build tree. None of cmocka's code is in this repository.
#
# The tarball is taken from REACTOR_CMOCKA_TARBALL when set; otherwise it is fetched at configure
# time with apt-get through a private source list built from the machine's own Debian entries
# (deb -> deb-src), leaving /etc/apt untouched. cmocka's installed cmocka-config.cmake names a
# DLL import library that the static build does not make, so the archive is imported directly.
include(ExternalProject)

set(REACTOR_CMOCKA_VERSION 1.1.5)
set(REACTOR_CMOCKA_SHA256 f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6)
set(REACTOR_CMOCKA_TARBALL "" CACHE FILEPATH "cmocka_${REACTOR_CMOCKA_VERSION}.orig.tar.xz to build for mingw")

set(_cm_dir ${CMAKE_BINARY_DIR}/_deps/cmocka)
set(_cm_tar ${_cm_dir}/src/cmocka_${REACTOR_CMOCKA_VERSION}.orig.tar.xz)

function(_reactor_cmocka_fetch)
  find_program(_apt apt-get)
  if(NOT _apt)
    message(FATAL_ERROR "cmocka for mingw: no apt-get; set REACTOR_CMOCKA_TARBALL to "
                        "cmocka_${REACTOR_CMOCKA_VERSION}.orig.tar.xz")
  endif()
  set(parts ${_cm_dir}/apt/sources.list.d)
  file(REMOVE_RECURSE ${_cm_dir}/apt)
  file(MAKE_DIRECTORY ${parts} ${_cm_dir}/apt/lists/partial ${_cm_dir}/apt/cache/archives/partial
       ${_cm_dir}/src)
  # deb-src twins of the machine's Debian entries, deb822 and one-line formats alike.
  set(found FALSE)
  file(GLOB deb822 /etc/apt/sources.list.d/*.sources)
  foreach(f IN LISTS deb822)
    file(READ ${f} text)
    if(text MATCHES "Types:[^\n]*deb" AND text MATCHES "debian")
      string(REGEX REPLACE "Types:[^\n]*" "Types: deb-src" text "${text}")
      get_filename_component(name ${f} NAME)
      file(WRITE ${parts}/${name} "${text}")
      set(found TRUE)
    endif()
  endforeach()
  file(GLOB oneline /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  foreach(f IN LISTS oneline)
    file(STRINGS ${f} lines REGEX "^deb [^\n]*debian")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^deb " "deb-src " line "${line}")
      file(APPEND ${parts}/from-list.list "${line}\n")
      set(found TRUE)
    endforeach()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "cmocka for mingw: no Debian apt source found to derive deb-src from; "
                        "set REACTOR_CMOCKA_TARBALL")
  endif()
  set(opts -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${parts}
      -o Dir::State::Lists=${_cm_dir}/apt/lists -o Dir::Cache=${_cm_dir}/apt/cache
      -o APT::Sandbox::User=root)
  execute_process(COMMAND ${_apt} ${opts} update
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmocka for mingw: apt-get update of the private source list failed: ${err}")
  endif()
  execute_process(COMMAND ${_apt} ${opts} source --download-only cmocka=${REACTOR_CMOCKA_VERSION}-*
                  WORKING_DIRECTORY ${_cm_dir}/src RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT EXISTS ${_cm_tar})
    execute_process(COMMAND ${_apt} ${opts} source --download-only cmocka
                    WORKING_DIRECTORY ${_cm_dir}/src RESULT_VARIABLE rc OUTPUT_QUIET
                    ERROR_VARIABLE err)
  endif()
  if(NOT rc EQUAL 0 OR NOT EXISTS ${_cm_tar})
    message(FATAL_ERROR "cmocka for mingw: apt-get source cmocka failed: ${err}")
  endif()
endfunction()

if(REACTOR_CMOCKA_TARBALL)
  set(_cm_tar ${REACTOR_CMOCKA_TARBALL})
elseif(NOT EXISTS ${_cm_tar})
  message(STATUS "cmocka for mingw: fetching Debian's source package")
  _reactor_cmocka_fetch()
endif()
file(SHA256 ${_cm_tar} _cm_sum)
if(NOT _cm_sum STREQUAL REACTOR_CMOCKA_SHA256)
  message(FATAL_ERROR "cmocka for mingw: ${_cm_tar} has SHA-256 ${_cm_sum}, "
                      "expected ${REACTOR_CMOCKA_SHA256}")
endif()

set(_cm_install ${_cm_dir}/install)
set(_cm_lib ${_cm_install}/lib/libcmocka-static.a)
ExternalProject_Add(reactor_cmocka_build
  URL ${_cm_tar}
  URL_HASH SHA256=${REACTOR_CMOCKA_SHA256}
  DOWNLOAD_EXTRACT_TIMESTAMP TRUE
  PREFIX ${_cm_dir}
  INSTALL_DIR ${_cm_install}
  CMAKE_ARGS
    -DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}
    -DCMAKE_INSTALL_PREFIX=<INSTALL_DIR>
    -DCMAKE_INSTALL_LIBDIR=lib
    -DCMAKE_BUILD_TYPE=Release
    -DWITH_STATIC_LIB=ON
    -DWITH_EXAMPLES=OFF
    -DUNIT_TESTING=OFF
  BUILD_BYPRODUCTS ${_cm_lib})

file(MAKE_DIRECTORY ${_cm_install}/include)
add_library(reactor_cmocka STATIC IMPORTED GLOBAL)
set_target_properties(reactor_cmocka PROPERTIES
  IMPORTED_LOCATION ${_cm_lib}
  INTERFACE_INCLUDE_DIRECTORIES ${_cm_install}/include)
add_dependencies(reactor_cmocka reactor_cmocka_build)
