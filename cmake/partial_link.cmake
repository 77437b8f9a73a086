# partial_link.cmake - links the static library's objects into one relocatable object and makes
# every defined symbol that is not reactor_* local to it, so that only the API can meet a host
# program's symbols at link time (an amalgamation's `static`, without one big source file).
# Run as `cmake -DCC=<compiler> -DNM=<nm> -DOBJCOPY=<objcopy> -DOUT=<file.o> -DOBJS=<a|b|..> -P`.
cmake_minimum_required(VERSION 3.21)
string(REPLACE "|" ";" OBJS "${OBJS}")
execute_process(COMMAND ${CC} -r -nostdlib -o ${OUT} ${OBJS}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "partial link failed: ${err}")
endif()
execute_process(COMMAND ${NM} -g --defined-only ${OUT} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${OUT}: ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(internal)
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-fA-F]+ [A-Z] ([^ ]+)$")
    set(name ${CMAKE_MATCH_1})
    if(NOT name MATCHES "^reactor_")
      list(APPEND internal ${name})
    endif()
  endif()
endforeach()
list(JOIN internal "\n" text)
file(WRITE ${OUT}.local "${text}\n")
execute_process(COMMAND ${OBJCOPY} --localize-symbols=${OUT}.local ${OUT}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJCOPY} failed on ${OUT}: ${err}")
endif()
