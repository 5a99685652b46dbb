# toolchain-aarch64-linux-gnu.cmake - cross-build for AArch64 Linux from a
# Debian host, with the tests run under qemu-user.
# SPDX-License-Identifier: MIT
#
#   cmake -S . -B build-aarch64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
#
# Needs Debian's gcc-aarch64-linux-gnu and qemu-user, and for the tests the
# arm64 Check package (dpkg --add-architecture arm64; apt-get install
# check:arm64). scripts/test's aarch64 configuration installs all of them.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
# ctest (and add_test commands naming a target) run binaries through this.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
# The tests are linked statically (tests/CMakeLists.txt): under Debian 12's
# qemu-user (7.2) a dynamically linked guest that forks hangs in the child,
# and Check runs every test in a forked child.
set(CORO_TESTS_STATIC ON CACHE BOOL "Link the tests statically (for qemu-user)")
# Libraries and headers for the target come from Debian's multiarch paths;
# pkg-config must look only at the arm64 .pc files.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
