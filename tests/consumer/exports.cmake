# exports.cmake - lists the library's exported symbols (a shared library's exports, or a static
# archive's global definitions) and fails unless they are exactly the REACTOR_API functions of
# reactor.h: nothing that is not reactor_*, nothing missing.
# Run as `cmake -DLIB=<file> -DTOOL=<nm|objdump> -DKIND=<elf|pe|archive> -DHEADER=<reactor.h> -P`.
cmake_minimum_required(VERSION 3.21)
if(KIND STREQUAL "archive")
  execute_process(COMMAND ${TOOL} -g --defined-only ${LIB} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(line_re "^[0-9a-fA-F]+ [A-Za-z] ([^ ]+)$")
elseif(KIND STREQUAL "elf")
  execute_process(COMMAND ${TOOL} -D --defined-only ${LIB} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(line_re "^[0-9a-fA-F]+ [A-Za-z] ([^ ]+)$")
else()
  # objdump -p: the export table lists "[Ordinal/Name Pointer] Table" then "\t[   0] name".
  execute_process(COMMAND ${TOOL} -p ${LIB} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  string(FIND "${out}" "[Ordinal/Name Pointer] Table" at)
  if(at LESS 0)
    message(FATAL_ERROR "${LIB}: no export table in objdump -p output")
  endif()
  string(SUBSTRING "${out}" ${at} -1 out)
  string(REGEX REPLACE "\n[ \t]*\n.*" "" out "${out}") # up to the table's end
  set(line_re "^[ \t]*\\[ *[0-9]+\\] ([^ ]+)$")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TOOL} failed on ${LIB}: ${err}")
endif()

string(REPLACE "\n" ";" lines "${out}")
set(exports)
foreach(line IN LISTS lines)
  if(line MATCHES "${line_re}")
    list(APPEND exports ${CMAKE_MATCH_1})
  endif()
endforeach()
list(SORT exports)
list(LENGTH exports n)
list(JOIN exports "\n  " shown)
message(STATUS "${LIB} exports ${n} symbols:\n  ${shown}")

file(STRINGS ${HEADER} decls REGEX "^REACTOR_API ")
set(declared)
foreach(d IN LISTS decls)
  if(d MATCHES "([A-Za-z0-9_]+)\\(")
    list(APPEND declared ${CMAKE_MATCH_1})
  endif()
endforeach()

set(bad)
set(undeclared)
foreach(s IN LISTS exports)
  if(NOT s MATCHES "^reactor_")
    list(APPEND bad ${s})
  elseif(NOT s IN_LIST declared)
    list(APPEND undeclared ${s})
  endif()
endforeach()
set(missing)
foreach(s IN LISTS declared)
  if(NOT s IN_LIST exports)
    list(APPEND missing ${s})
  endif()
endforeach()
if(bad OR undeclared OR missing OR n EQUAL 0)
  message(FATAL_ERROR "exports not named reactor_*: ${bad}\n"
                      "reactor_* exports the header does not declare: ${undeclared}\n"
                      "REACTOR_API functions not exported: ${missing}")
endif()
