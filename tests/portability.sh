#!/usr/bin/env bash
# Nothing outside sys/ may name an OS-specific call: the layers above sys build and behave the
# same on Linux and macOS. Looks through src/ and include/ (sys/ and the host's shell scripts
# left out) for Linux-only and macOS-only calls, constants, headers and OS conditionals, with
# `//` comments stripped; `/proc` paths count in the layers that run on the laptop (the host's
# /proc is read by scripts run there, and the core parses what they print).
# Usage: tests/portability.sh [ROOT]    (ROOT defaults to the checkout)
#        tests/portability.sh --self-test   (checks that a planted call is found)
set -euo pipefail

if [ "${1:-}" = --self-test ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src/cmd" "$tmp/src/sys" "$tmp/src/core" "$tmp/include/jl/tunnel"
  printf 'int f() { return signalfd(-1, 0, 0); }  // a signalfd\n' >"$tmp/src/sys/ok.cpp"
  printf '// accept4 and /proc in a comment are fine\nint g();\n' >"$tmp/src/cmd/fine.cpp"
  printf 'std::string p = "/proc/net/tcp";  // parsed text of the host\n' >"$tmp/src/core/host.cpp"
  "$0" "$tmp" >/dev/null || { echo "portability self-test: a clean tree was refused" >&2; exit 1; }
  for planted in 'int fd = accept4(l, nullptr, nullptr, 0);' 'send(fd, p, n, MSG_NOSIGNAL);' \
    '#include <sys/epoll.h>' '#ifdef __APPLE__' 'auto t = read("/proc/self/stat");' \
    'int kq = kqueue();'; do
    printf '%s\n' "$planted" >"$tmp/include/jl/tunnel/bad.hpp"
    if "$0" "$tmp" >/dev/null 2>&1; then
      echo "portability self-test: missed: $planted" >&2
      exit 1
    fi
  done
  echo "portability self-test: ok (6 planted calls found, a clean tree passed)"
  exit 0
fi

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# Linux-only, then macOS-only names; each as a whole word.
names='signalfd|signalfd_siginfo|accept4|SOCK_NONBLOCK|SOCK_CLOEXEC|MSG_NOSIGNAL|TCP_USER_TIMEOUT'
names+='|TCP_KEEPIDLE|TCP_INFO|tcp_info|pipe2|dup3|epoll_[a-z_]+|inotify_[a-z_]+|eventfd|timerfd_[a-z_]+'
names+='|getrandom|SO_PEERCRED|ucred|prctl|CLOCK_BOOTTIME|memfd_create|sendfile|splice'
names+='|AF_NETLINK|NETLINK_[A-Z_]+|RTMGRP_[A-Z0-9_]+|__linux__'
names+='|kqueue|kevent|EVFILT_[A-Z]+|SO_NOSIGPIPE|getentropy|TCP_KEEPALIVE|TCP_RXT_CONNDROPTIME'
names+='|getpeereid|PF_ROUTE|CLOCK_UPTIME_RAW|__APPLE__|__MACH__'
headers='<(linux/[^>]+|sys/(signalfd|epoll|inotify|eventfd|timerfd|prctl|random|event)\.h)>'

mapfile -t files < <(find src include -type f \( -name '*.cpp' -o -name '*.hpp' \) \
  -not -path 'src/sys/*' -not -path 'include/jl/sys/*' | sort)
local_layers='^(src|include/jl)/(ssh|tunnel|cmd|cli)/|^src/main\.cpp$'

found=0
for f in "${files[@]}"; do
  code=$(sed -E 's#(^|[[:space:]])//.*$##' "$f")
  hits=$(grep -nE "(^|[^A-Za-z0-9_])($names)([^A-Za-z0-9_]|$)|$headers" <<<"$code" || true)
  if [[ $f =~ $local_layers ]]; then
    hits+=$(grep -nE '"/proc(/|")' <<<"$code" || true)
  fi
  if [ -n "$hits" ]; then
    found=1
    while IFS= read -r line; do
      [ -n "$line" ] && echo "$f:$line" >&2
    done <<<"$hits"
  fi
done
if [ "$found" -ne 0 ]; then
  echo "portability: the OS-specific calls above belong in sys/ (behind an interface with a" \
    "Linux, a macOS and a plain-POSIX implementation)" >&2
  exit 1
fi
echo "portability: no OS-specific call outside sys/ (${#files[@]} files)"
