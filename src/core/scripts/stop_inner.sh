# shellcheck shell=sh disable=SC2034 # m, from prelude.sh, reads $n
# Runs inside the container after prelude.sh: waits for a server to end, escalating, then
# cleans up.
n=$1 pid=$2 f=$3 graceful=$4
is_jupyter() {
  case $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) in *jupyter*) return 0;; esac
  return 1
}
wait_gone() {
  i=0
  while alive "$pid"; do
    [ "$i" -ge "$1" ] && return 1
    sleep 0.05 2>/dev/null || sleep 1
    i=$((i + 1))
  done
  return 0
}
cleanup() {
  if [ -n "$f" ]; then rm -f -- "$f" "${f%.json}-open.html"; fi
}
if [ "$graceful" = 1 ]; then
  if wait_gone 100; then m gone shutdown; cleanup; exit 0; fi
elif ! alive "$pid"; then
  m gone already; cleanup; exit 0
fi
# Never signal a process that is not Jupyter (the pid may have been reused).
if ! is_jupyter; then m gone already; exit 0; fi
kill -TERM "$pid" 2>/dev/null
if wait_gone 60; then m gone term; cleanup; exit 0; fi
kill -KILL "$pid" 2>/dev/null
if wait_gone 40; then m gone kill; cleanup; exit 0; fi
m alive
