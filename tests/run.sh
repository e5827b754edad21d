#!/usr/bin/env bash
# Run jl's whole test suite. Two builds, both with warnings as errors:
#   - g++ and libstdc++, with the Linux implementation of each OS call: the unit tests and the
#     end-to-end suite against the real local test bed (OpenSSH sshd, dockerd, Jupyter in
#     containers; built and started if needed);
#   - clang and libc++, portable (the plain-POSIX implementation of each OS call, what a Mac
#     runs short of its own calls), with AddressSanitizer + UBSan: the unit tests and the whole
#     end-to-end suite again.
# Also: no OS-specific call outside sys/, the remote scripts, the man page, the Debian package
# (built, then installed with apt into a clean Debian root), and the fuzz targets
# (JL_FUZZ_SECONDS each, default 30).
# Needs root (it installs packages and runs dockerd and sshd).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "tests/run.sh: run as root" >&2; exit 1; }
  exec sudo -E "$0" "$@"
fi
jobs=$(nproc)
step() { printf '\n== %s\n' "$*" >&2; }

step "dependencies"
"$root/tests/deps.sh" test

step "build (warnings are errors)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJL_WERROR=ON >/dev/null
cmake --build "$root/build" -j "$jobs"

step "portability: no OS-specific call outside sys/"
"$root/tests/portability.sh" --self-test
"$root/tests/portability.sh"

step "Homebrew formula and its install script: Ruby syntax, shellcheck"
ruby -wc "$root/packaging/homebrew/jl.rb" >/dev/null
shellcheck "$root/packaging/homebrew/install.sh"

step "remote scripts: shellcheck, and parsed by dash and busybox sh"
shellcheck "$root"/src/core/scripts/*.sh
for f in "$root"/src/core/scripts/*.sh; do dash -n "$f" && busybox sh -n "$f"; done

step "man page: renders without warnings, documents every command and option"
"$root/tests/manpage.sh" "$root/docs/jl.1" "$root/build/jl"

step "Debian package: build, check, install into a clean Debian root"
"$root/tests/package.sh" "$root/build"

step "build: clang + libc++, portable, with AddressSanitizer + UBSan"
# GoogleTest is built from the sources Debian ships, against libc++; fmt is used header-only.
cmake -S "$root" -B "$root/build-asan" -DCMAKE_CXX_COMPILER=clang++ -DJL_LIBCXX=ON \
  -DJL_PORTABLE=ON -DCMAKE_BUILD_TYPE=Debug -DJL_SANITIZE=ON -DJL_WERROR=ON >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target jl_unit_tests jl

step "unit tests: clang + libc++, portable, under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" -L unit --output-on-failure -j "$jobs"

step "unit and end-to-end tests"
ctest --test-dir "$root/build" --output-on-failure

step "end-to-end tests again: jl built portable with clang + libc++, under ASan + UBSan"
# The link suite's cuts and download are what they are in the first pass (60 s, 1 GiB); here it
# checks the same paths under the sanitizers with 20 s cuts and 128 MiB.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  JL_LINK_CUT_SECS=20 JL_LINK_BYTES=134217728 \
  ctest --test-dir "$root/build-asan" -L e2e --output-on-failure

step "fuzzing: every parser of outside input, ${JL_FUZZ_SECONDS:-30} s each"
"$root/tests/fuzz/run.sh" "${JL_FUZZ_SECONDS:-30}"
