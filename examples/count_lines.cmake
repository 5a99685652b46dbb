# count_lines.cmake - fails when a C file has more lines of code than allowed.
# SPDX-License-Identifier: MIT
#
# cmake -DSOURCE=<file.c> -DMAX_LINES=<n> -P count_lines.cmake
#
# A line of code is a line left non-blank once comments are removed: /* ... */
# (across lines too) and // to the end of the line. Braces and #include lines
# count. String literals holding comment markers are not expected in SOURCE.
cmake_minimum_required(VERSION 3.16)
if(NOT DEFINED SOURCE OR NOT DEFINED MAX_LINES)
  message(FATAL_ERROR "usage: cmake -DSOURCE=<file.c> -DMAX_LINES=<n> -P count_lines.cmake")
endif()
file(READ "${SOURCE}" text)

# Remove /* ... */ comments, keeping their newlines so line structure stays.
set(out "")
while(TRUE)
  string(FIND "${text}" "/*" open)
  if(open EQUAL -1)
    string(APPEND out "${text}")
    break()
  endif()
  string(SUBSTRING "${text}" 0 ${open} before)
  string(APPEND out "${before}")
  math(EXPR after_open "${open} + 2")
  string(SUBSTRING "${text}" ${after_open} -1 text)
  string(FIND "${text}" "*/" close)
  if(close EQUAL -1)
    message(FATAL_ERROR "${SOURCE}: unterminated comment")
  endif()
  string(SUBSTRING "${text}" 0 ${close} comment)
  string(REGEX REPLACE "[^\n]" "" newlines "${comment}")
  string(APPEND out "${newlines}")
  math(EXPR after_close "${close} + 2")
  string(SUBSTRING "${text}" ${after_close} -1 text)
endwhile()

# Semicolons and square brackets have meaning in CMake lists: neutralise
# them before splitting into lines.
string(REPLACE ";" "," out "${out}")
string(REPLACE "[" "(" out "${out}")
string(REPLACE "]" ")" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
set(count 0)
foreach(line IN LISTS lines)
  string(REGEX REPLACE "//.*$" "" line "${line}")
  string(STRIP "${line}" line)
  if(NOT line STREQUAL "")
    math(EXPR count "${count} + 1")
  endif()
endforeach()

if(count GREATER MAX_LINES)
  message(FATAL_ERROR "${SOURCE}: ${count} lines of code, more than ${MAX_LINES}")
endif()
message(STATUS "${SOURCE}: ${count} lines of code (at most ${MAX_LINES})")
