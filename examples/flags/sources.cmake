# examples/flags/sources.cmake - the flags demo's objects, shared by the example, its tests and coro-bench.
# SPDX-License-Identifier: MIT
#
# Included by examples/CMakeLists.txt (the `flags` program), tests/aio (the
# test_aio_flags suite links these objects) and bench/ (flags_sequential_ms,
# flags_concurrent_ms). Each consumer compiles them with _GNU_SOURCE and the
# folder on its include path: coro_flags_dir.
set(coro_flags_dir ${PROJECT_SOURCE_DIR}/examples/flags)
set(coro_flags_sources gif.c http.c site.c server.c client.c client_aio.c compare.c)
list(TRANSFORM coro_flags_sources PREPEND ${coro_flags_dir}/)
