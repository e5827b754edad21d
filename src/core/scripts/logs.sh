# shellcheck shell=sh
# Runs inside the container as its default user (who owns the 0600 log jl's start made).
n=$1 log=$2 lines=$3 follow=$4
m() { printf '@@%s %s\n' "$n" "$*"; }
if [ ! -e "$log" ]; then m missing; exit 0; fi
if [ ! -r "$log" ]; then m unreadable "$(id -un 2>/dev/null)"; exit 0; fi
m begin
if [ "$follow" = 1 ]; then
  # tail runs in the background (its stdin is /dev/null); this shell waits for its own stdin to
  # end, which happens when jl closes the channel, then stops tail: nothing is left behind.
  # GNU tail polls files on overlayfs (containers' usual root) once a second; ask for 0.1 s where
  # tail understands it.
  set --
  tail -s 0.1 -n 0 -- "$log" >/dev/null 2>&1 </dev/null && set -- -s 0.1
  tail "$@" -n "$lines" -f -- "$log" &
  t=$!
  cat >/dev/null
  kill "$t" 2>/dev/null
  wait "$t" 2>/dev/null
else
  tail -n "$lines" -- "$log"
fi
m end
