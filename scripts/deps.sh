#!/usr/bin/env bash
# scripts/deps.sh - installs the Debian packages a build needs, if missing.
# Sourced by scripts/test and scripts/demo: `ensure_packages pkg...`.
# Uses apt-get directly as root, through sudo otherwise.

ensure_packages() {
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
ensure_foreign_arch() {
  local arch=$1
  dpkg --print-foreign-architectures | grep -qx "$arch" && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "adding dpkg architecture: $arch"
  $sudo dpkg --add-architecture "$arch"
}
