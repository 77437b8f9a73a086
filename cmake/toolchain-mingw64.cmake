# Cross-builds for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64-x86-64-win32) and runs
# the test executables under Wine through CTest's cross-compiling emulator.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(REACTOR_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${REACTOR_MINGW_PREFIX}-gcc)
set(CMAKE_RC_COMPILER ${REACTOR_MINGW_PREFIX}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${REACTOR_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Wine's first process starts wineserver and its services, which inherit that process's
# stdio: started from a CTest pipe they can hold it open after the test ends (a passing run
# hung for 600 s). So every run first makes sure a persistent wineserver exists with its stdio
# on /dev/null and the prefix is booted (by whichever test comes first; the others find it up),
# then runs the test. scripts/windows-test.sh also boots the prefix up front.
find_program(REACTOR_WINE NAMES wine wine64)
if(REACTOR_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      /bin/sh -c "((wineserver -p60 || true) && ${REACTOR_WINE} wineboot) </dev/null >/dev/null 2>&1 || true && exec ${REACTOR_WINE} \"$0\" \"$@\"")
endif()
