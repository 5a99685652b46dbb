#!/usr/bin/env bash
# scripts/deps.sh - makes sure the tools a script needs are there.
# SPDX-License-Identifier: MIT
#
# Sourced by scripts/test, scripts/demo and scripts/bench:
#   ensure_packages pkg...     Debian package names
# On Debian and Ubuntu (apt-get and dpkg present) it installs the missing
# packages, with apt-get directly as root and through sudo otherwise.
# Anywhere else it installs nothing: it checks for what each package
# provides (a command, or a pkg-config module) and names what is missing.

# deps_probe PKG: succeeds when what Debian's PKG provides is usable here;
# returns 2 for a package it cannot check without dpkg.
deps_probe() {
  case $1 in
    build-essential) command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 ;;
    cmake | pkg-config | valgrind | clang | python3) command -v "$1" >/dev/null 2>&1 ;;
    check) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists check ;;
    gcc-aarch64-linux-gnu) command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ;;
    qemu-user) command -v qemu-aarch64 >/dev/null 2>&1 ;;
    *) return 2 ;;
  esac
}

# deps_what PKG: what a user without apt-get must install, in words.
deps_what() {
  case $1 in
    build-essential) echo "a C compiler (cc) and make (a C++ compiler, c++, is optional: the C++ test)" ;;
    check) echo "the Check unit-test library with its pkg-config file (check.pc; e.g. check-devel, or check from Homebrew)" ;;
    gcc-aarch64-linux-gnu) echo "an AArch64 cross compiler (aarch64-linux-gnu-gcc)" ;;
    qemu-user) echo "qemu-user (qemu-aarch64)" ;;
    *) echo "$1" ;;
  esac
}

ensure_packages() {
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    local missing=() unknown=() pkg rc
    for pkg in "$@"; do
      rc=0
      deps_probe "$pkg" || rc=$?
      case $rc in
        0) ;;
        2) unknown+=("$pkg") ;;
        *) missing+=("$pkg") ;;
      esac
    done
    if [ ${#unknown[@]} -gt 0 ]; then
      echo "note: no apt-get here; assuming these are installed (they cannot be checked): ${unknown[*]}" >&2
    fi
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "error: no apt-get here, so nothing can be installed automatically. Missing:" >&2
    for pkg in "${missing[@]}"; do
      echo "  - $(deps_what "$pkg")" >&2
    done
    echo "Install them with your system's package manager and re-run." >&2
    return 1
  fi
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "error: missing packages (${missing[*]}) and not root and no sudo; install them and re-run" >&2
      return 1
    fi
  fi
  echo "installing: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || return 1
}

# ensure_foreign_arch ARCH: lets dpkg install ARCH's packages (multiarch), for
# cross-building; ensure_packages then runs apt-get update before installing.
# This changes the machine's package configuration for good, so the caller
# announces it first (scripts/test aarch64 does).
ensure_foreign_arch() {
  local arch=$1
  if ! command -v dpkg >/dev/null 2>&1; then
    echo "error: adding the $arch architecture needs dpkg (Debian/Ubuntu)" >&2
    return 1
  fi
  dpkg --print-foreign-architectures | grep -qx "$arch" && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "adding dpkg architecture: $arch (dpkg --add-architecture $arch)"
  $sudo dpkg --add-architecture "$arch"
}
