# check_docs.cmake - fails when the documentation points outside the repository.
# SPDX-License-Identifier: MIT
#
# cmake -DROOT=<source dir> -P check_docs.cmake
#
# The docs must be readable with nothing but the repository: no paths into a
# shared area beside it, no ids of seed files, no "the issue", no style guide
# kept elsewhere. Rule tags (B4, Y13, ...) are fine: docs/semantics.md defines
# them. Checked: every file under docs/ and include/, and README.md.
cmake_minimum_required(VERSION 3.16)
if(NOT DEFINED ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<source dir> -P check_docs.cmake")
endif()

file(GLOB_RECURSE files LIST_DIRECTORIES false "${ROOT}/docs/*" "${ROOT}/include/*")
list(APPEND files "${ROOT}/README.md")

# CMake's regular expressions have no {n} repetition: spell the seed id out.
string(REPEAT "[0-9a-f]" 16 hex16)
set(patterns
  "shared/"                        # a path into the area beside the repository
  "[0-9][0-9][0-9]_${hex16}"       # a seed file id such as 000_<16 hex digits>
  "[Tt]he issue"                   # a task description the reader cannot see
  "STYLE\\.md")                    # a style guide outside the repository

set(found 0)
foreach(file IN LISTS files)
  if(file MATCHES "\\.(svg|png|tsv)$")
    continue()
  endif()
  file(STRINGS "${file}" lines)
  set(lineno 0)
  foreach(line IN LISTS lines)
    math(EXPR lineno "${lineno} + 1")
    foreach(pattern IN LISTS patterns)
      if(line MATCHES "${pattern}")
        file(RELATIVE_PATH rel "${ROOT}" "${file}")
        message(SEND_ERROR "${rel}:${lineno}: mentions '${CMAKE_MATCH_0}' (points outside the repository)")
        math(EXPR found "${found} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()

list(LENGTH files nfiles)
if(found GREATER 0)
  message(FATAL_ERROR "${found} reference(s) outside the repository in ${nfiles} files")
endif()
message(STATUS "docs self-contained: ${nfiles} files checked")
