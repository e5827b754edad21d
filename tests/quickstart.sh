#!/usr/bin/env bash
# Build and install jl, bring up the local test bed (a real OpenSSH sshd on 127.0.0.1 and Docker
# containers with Jupyter: a stand-in "GPU host"), and run jl's main job against it.
# Needs root (it installs packages and runs dockerd and sshd).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "quickstart: run as root" >&2; exit 1; }
  exec sudo -E "$0" "$@"
fi
step() { printf '== %s\n' "$*" >&2; }

step "dependencies"
"$root/tests/deps.sh" build
step "build and install jl"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target jl
cmake --install "$root/build" >/dev/null
step "installed $(command -v jl): $(jl --version)"
step "local test bed (first run: a few minutes)"
"$root/tests/testbed/testbed.sh" up
step "jl up cont1 (no host configured: jl uses the local test bed)"
jl up cont1
jl status
