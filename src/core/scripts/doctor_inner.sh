# shellcheck shell=sh
# Runs inside the container as its default user, after prelude.sh and jupyter_config.sh.
# Positional parameters: nonce, port.
port=$2 cfgpy=
t() { s=$1; shift; if command -v timeout >/dev/null 2>&1; then timeout "$s" "$@"; else "$@"; fi; }
m id "$(id -u 2>/dev/null)" "$(id -un 2>/dev/null)"
for a in jupyter-lab:jupyterlab jupyter-notebook:notebook jupyter-server:jupyter_server; do
  exe=${a%%:*} dist=${a#*:}
  p=$(command -v "$exe" 2>/dev/null) || continue
  m app "$exe" "$p"
  v='' first=''
  IFS= read -r first <"$p" 2>/dev/null
  case $first in
    '#!'*python*)
      # The app's own interpreter knows its version without starting the app (much faster).
      [ -n "$cfgpy" ] || cfgpy=${first#??}
      # The shebang's words, split on purpose (#!/usr/bin/env python3); no globbing.
      set -f
      # shellcheck disable=SC2086
      v=$(t 10 ${first#??} -c 'import sys, importlib.metadata as d; print(d.version(sys.argv[1]))' "$dist" 2>/dev/null </dev/null)
      set +f;;
  esac
  [ -n "$v" ] || v=$(t 15 "$p" --version 2>/dev/null </dev/null | tail -n 1)
  m app-version "$exe" "$v"
done
if [ -n "$cfgpy" ]; then
  m jupyter-config
  set -f
  # shellcheck disable=SC2086 # the shebang's words
  jupyter_config $cfgpy
  set +f
fi
live_servers_all
m tcp
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
m port "$port"
hex=$(printf '%04X' "$port")
for f in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$f" ] || continue
  while read -r _ addr _ st _ _ _ _ _ inode _; do
    [ "$st" = 0A ] || continue
    case $addr in *:"$hex") ;; *) continue;; esac
    if command -v find >/dev/null 2>&1; then
      links=$(find /proc/[0-9]*/fd -lname "socket:\[$inode\]" 2>/dev/null)
    else
      links=
      for l in /proc/[0-9]*/fd/*; do
        [ "$(readlink "$l" 2>/dev/null)" = "socket:[$inode]" ] && links="$links $l"
      done
    fi
    for l in $links; do
      pid=${l#/proc/}; pid=${pid%%/*}
      m holder "$pid"
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null
      echo
    done
  done <"$f"
done
if command -v nvidia-smi >/dev/null 2>&1; then
  out=$(t 10 nvidia-smi -L 2>&1 </dev/null)
  m gpu "$?"
  printf '%s\n' "$out"
else
  m gpu-none
fi
m inner-end
