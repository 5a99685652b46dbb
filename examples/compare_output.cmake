# compare_output.cmake - runs an example and compares its stdout with a golden file.
# SPDX-License-Identifier: MIT
#
# cmake -DPROGRAM=<exe> -DEXPECTED=<golden.txt> [-DACTUAL=<file>] [-DALLOW_STDERR=ON]
#       -P compare_output.cmake
#
# Fails when the program exits non-zero, writes to stderr (unless
# ALLOW_STDERR: sanitizer runtimes warn there about stack switching), or
# prints anything but the golden file, byte for byte. On a mismatch it names
# the first line that differs, and saves what the program printed to ACTUAL
# for `diff`.
cmake_minimum_required(VERSION 3.16) # policies for script mode: while(TRUE) works
foreach(var PROGRAM EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_output.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${PROGRAM}
  OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE status)
file(READ ${EXPECTED} expected)

if(NOT status STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with ${status}\nstderr:\n${errors}\nstdout:\n${actual}")
endif()
if(NOT errors STREQUAL "" AND NOT ALLOW_STDERR)
  message(FATAL_ERROR "${PROGRAM} wrote to stderr:\n${errors}")
endif()
if(actual STREQUAL expected)
  return()
endif()

if(DEFINED ACTUAL)
  file(WRITE ${ACTUAL} "${actual}")
  set(saved "\nstdout saved to ${ACTUAL}; compare with\n  diff -u ${EXPECTED} ${ACTUAL}")
endif()

# Takes the next line off the front of the text in `rest_var`; sets `line_var`
# and `more_var` (false once the text is used up). Walks with string(FIND)
# rather than turning the text into a list, which would break on ';' and '['.
function(take_line rest_var line_var more_var)
  set(rest "${${rest_var}}")
  if(rest STREQUAL "")
    set(${more_var} FALSE PARENT_SCOPE)
    set(${line_var} "" PARENT_SCOPE)
    return()
  endif()
  string(FIND "${rest}" "\n" nl)
  if(nl EQUAL -1)
    set(line "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${nl} line)
    math(EXPR next "${nl} + 1")
    string(SUBSTRING "${rest}" ${next} -1 rest)
  endif()
  set(${line_var} "${line}" PARENT_SCOPE)
  set(${rest_var} "${rest}" PARENT_SCOPE)
  set(${more_var} TRUE PARENT_SCOPE)
endfunction()

set(want "${expected}")
set(got "${actual}")
set(number 0)
while(TRUE)
  math(EXPR number "${number} + 1")
  take_line(want want_line want_more)
  take_line(got got_line got_more)
  if(NOT want_more AND NOT got_more)
    message(FATAL_ERROR "${PROGRAM}: the output differs from ${EXPECTED} only in the "
      "final newline${saved}")
  endif()
  if(NOT want_more)
    message(FATAL_ERROR "${PROGRAM}: line ${number} is extra:\n+${got_line}${saved}")
  endif()
  if(NOT got_more)
    message(FATAL_ERROR "${PROGRAM}: line ${number} is missing:\n-${want_line}${saved}")
  endif()
  if(NOT want_line STREQUAL got_line)
    message(FATAL_ERROR "${PROGRAM}: line ${number} differs:\n"
      "-${want_line}\n+${got_line}${saved}")
  endif()
endwhile()
# Not reached: the loop ends with a message on every path. Fail all the same.
message(FATAL_ERROR "${PROGRAM}: the output differs from ${EXPECTED}${saved}")
