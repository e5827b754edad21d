#!/usr/bin/env bash
# Install what building and testing jl needs, from Debian's (or Ubuntu's) packages.
# Usage: tests/deps.sh [build|test]   (test = build + what the test bed and checks need)
set -euo pipefail

what=${1:-test}
build=(cmake make g++ pkg-config libssh-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev)
test=(clang-format python3 curl openssh-client openssh-server docker.io debootstrap
  debian-archive-keyring iproute2 procps ca-certificates man-db groff-base dpkg-dev binutils
  bash-completion zsh fish ksh tcsh csh git util-linux python3-jupyter-core python3-traitlets chromium
  shellcheck busybox dash docker-registry clang libc++-dev libc++abi-dev ruby)

want=("${build[@]}")
[ "$what" = test ] && want+=("${test[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# The browser suite drives Chromium with playwright-core from npm: Node.js and npm, unless a
# Node.js with its own npm is installed already.
if [ "$what" = test ] && ! command -v npm >/dev/null 2>&1; then
  for p in nodejs npm; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
