# bench/prefix_symbols.cmake - merges object files into one and renames every
# global symbol it defines with a prefix, so that a second copy of the library
# links into coro-bench beside coro_static (send_shared_fp_ns).
# SPDX-License-Identifier: MIT
#
#   cmake -DLD=... -DOBJCOPY=... -DNM=... -DPREFIX=p_ -DOUT=all.o
#         -DOBJECTS="a.o;b.o" -P prefix_symbols.cmake
#
# 1. ld -r merges the objects, resolving their references to one another.
# 2. objcopy --localize-hidden turns the hidden (internal, coro__*) symbols
#    into local ones: no other object can see or clash with them.
# 3. The global symbols still defined (the public API) get PREFIX; the
#    references to them inside follow, since relocations name symbols by
#    index. Undefined symbols (libc's) keep their names.
foreach(var LD OBJCOPY NM PREFIX OUT OBJECTS)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "prefix_symbols.cmake: -D${var}=... is required")
  endif()
endforeach()

set(merged "${OUT}.merged.o")
execute_process(COMMAND "${LD}" -r -o "${merged}" ${OBJECTS} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "prefix_symbols.cmake: ${LD} -r failed (${rc})")
endif()
execute_process(COMMAND "${OBJCOPY}" --localize-hidden "${merged}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "prefix_symbols.cmake: ${OBJCOPY} --localize-hidden failed (${rc})")
endif()
execute_process(COMMAND "${NM}" --defined-only --extern-only --format=posix "${merged}"
  OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "prefix_symbols.cmake: ${NM} failed (${rc})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(map "")
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_]*) ")
    string(APPEND map "${CMAKE_MATCH_1} ${PREFIX}${CMAKE_MATCH_1}\n")
    math(EXPR count "${count} + 1")
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "prefix_symbols.cmake: no global symbols in ${merged}")
endif()
file(WRITE "${OUT}.syms" "${map}")
execute_process(COMMAND "${OBJCOPY}" "--redefine-syms=${OUT}.syms" "${merged}" "${OUT}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "prefix_symbols.cmake: ${OBJCOPY} --redefine-syms failed (${rc})")
endif()
