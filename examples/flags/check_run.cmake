# check_run.cmake - runs the flags program and checks what it prints (CTest).
# SPDX-License-Identifier: MIT
#
# cmake -DPROGRAM=<flags> -DMODE=help|run|compare [-DDIR=<folder>] [-DALLOW_STDERR=ON]
#       -P check_run.cmake
#
# help     `flags --help` exits 0 and prints the usage (both commands, every option).
# run      `flags --delay 10 --dir DIR` (a server in-process, the concurrent
#          client) exits 0 and prints the 21 codes, each once, one a line, then
#          "elapsed in X.XXs"; DIR then holds the 21 {cc}.gif files.
# compare  `flags get --compare --delay 10 --dir DIR`: both runs as above, then
#          the "concurrent was N.Nx faster" line.
# The times vary, so the lines are checked by pattern, not against a golden file.
cmake_minimum_required(VERSION 3.16)
set(codes CN IN US ID BR PK NG BD RU JP KR MX PH VN ET EG DE IR TR CD FR)

function(run_flags)
  execute_process(COMMAND ${PROGRAM} ${ARGN}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE status)
  if(NOT status STREQUAL "0")
    message(FATAL_ERROR "${PROGRAM} ${ARGN} exited with ${status}\nstderr:\n${err}\nstdout:\n${out}")
  endif()
  if(NOT err STREQUAL "" AND NOT ALLOW_STDERR)
    message(FATAL_ERROR "${PROGRAM} ${ARGN} wrote to stderr:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# Checks that `text` is one download's output: 21 code lines, then elapsed.
function(check_download text)
  string(REGEX MATCHALL "[^\n]*\n" lines "${text}")
  list(LENGTH lines n)
  if(NOT n EQUAL 22)
    message(FATAL_ERROR "want 21 code lines and the elapsed line, got ${n} lines:\n${text}")
  endif()
  set(seen "")
  foreach(i RANGE 0 20)
    list(GET lines ${i} line)
    string(STRIP "${line}" cc)
    if(NOT cc IN_LIST codes)
      message(FATAL_ERROR "line ${i}: '${cc}' is not one of the codes:\n${text}")
    endif()
    if(cc IN_LIST seen)
      message(FATAL_ERROR "${cc} printed twice:\n${text}")
    endif()
    list(APPEND seen ${cc})
  endforeach()
  list(GET lines 21 last)
  if(NOT last MATCHES "^elapsed in [0-9]+\\.[0-9][0-9]s\n$")
    message(FATAL_ERROR "last line '${last}' is not 'elapsed in X.XXs'")
  endif()
endfunction()

function(check_files)
  foreach(cc IN LISTS codes)
    string(TOLOWER ${cc} lower)
    if(NOT EXISTS "${DIR}/${lower}.gif")
      message(FATAL_ERROR "${DIR}/${lower}.gif was not written")
    endif()
    file(READ "${DIR}/${lower}.gif" head LIMIT 6)
    if(NOT head STREQUAL "GIF89a")
      message(FATAL_ERROR "${DIR}/${lower}.gif is not a GIF89a file")
    endif()
  endforeach()
endfunction()

if(MODE STREQUAL "help")
  run_flags(--help)
  foreach(word "usage: flags" "flags serve" --sequential --concurrent --compare --dir --port
      --delay --host "elapsed in X.XXs")
    string(FIND "${out}" "${word}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "--help does not mention '${word}':\n${out}")
    endif()
  endforeach()
elseif(MODE STREQUAL "run")
  file(REMOVE_RECURSE "${DIR}")
  run_flags(--delay 10 --dir "${DIR}")
  check_download("${out}")
  check_files()
elseif(MODE STREQUAL "compare")
  file(REMOVE_RECURSE "${DIR}")
  run_flags(get --compare --delay 10 --dir "${DIR}")
  if(NOT out MATCHES "^sequential:\n(.*)concurrent:\n(.*)concurrent was [0-9]+\\.[0-9]x faster \\([0-9]+\\.[0-9][0-9]s / [0-9]+\\.[0-9][0-9]s\\)\n$")
    message(FATAL_ERROR "unexpected --compare output:\n${out}")
  endif()
  check_download("${CMAKE_MATCH_1}")
  check_download("${CMAKE_MATCH_2}")
  check_files()
else()
  message(FATAL_ERROR "check_run.cmake: MODE must be help, run or compare")
endif()
