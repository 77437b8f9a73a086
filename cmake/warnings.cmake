# reactor_warnings(target): the project's warning set, errors when REACTOR_WERROR is on.
# Applied per target so nothing leaks into a parent project.
function(reactor_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla -Wformat=2)
    if(REACTOR_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
