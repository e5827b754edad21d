#!/usr/bin/env bash
# --idle-timeout: Jupyter's own culling shuts an idle kernel down, then the server itself, and
# jl status shows how long a session has been idle and, once its server is gone, why. With a
# 1-minute timeout, on JupyterLab 4 (jupyter_server 2) and Notebook 6 at once.
. "$(dirname "$0")/lib.sh"

CONTS=(jltb-lab4 cont1)
for c in "${CONTS[@]}"; do
  reset_container "$c"
done

# A field of the status of container $1 (python expression on `s`), from jl --json status.
status_field() {
  run_jlh --json status "$1" --show-token
  printf '%s' "$OUT" | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(eval(sys.argv[1]))' "$2"
}

log "== a bad duration is a usage error, before any connection"
for bad in 0 soon 1x 31d -5; do
  run_jlh up jltb-lab4 --no-browser --idle-timeout "$bad"
  expect_rc 2 "--idle-timeout $bad"
done
expect_contains "$ERR" "30m" "the hint shows the form"

log "== up with --idle-timeout 1m: Jupyter gets its own culling options"
declare -A URL TOKEN
for c in "${CONTS[@]}"; do
  run_jlh up "$c" --no-browser --idle-timeout 1m
  expect_rc 0 "jl up $c --idle-timeout 1m"
  URL[$c]=$(printf '%s\n' "$OUT" | tail -n 1)
  TOKEN[$c]=$(status_field "$c" 's["token"]')
  pid=$(status_field "$c" 's["pid"]')
  args=$(docker exec "$c" cat "/proc/$pid/cmdline" | tr '\0' ' ')
  expect_contains "$args" "--MappingKernelManager.cull_idle_timeout=60" "$c: kernels are culled after 60 s"
  expect_contains "$args" "--ServerApp.shutdown_no_activity_timeout=60" "$c: the server shuts down after 60 s"
  expect_not_contains "$args" "${TOKEN[$c]}" "$c: the token is not in Jupyter's argv"
  expect_eq "$(status_field "$c" 's["idle_timeout_s"]')" 60 "$c: status --json has the idle timeout"
done

log "== a kernel, started through the tunnel"
for c in "${CONTS[@]}"; do
  base=${URL[$c]%%\?*}
  base=${base%/lab}
  base=${base%/tree}
  hdr=$WORK/auth-$c
  printf 'Authorization: token %s\n' "${TOKEN[$c]}" >"$hdr"
  kid=$(curl -s -m 20 -X POST -H "@$hdr" -H 'Content-Type: application/json' -d '{}' \
    "$base/api/kernels" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
  expect_eq "${#kid}" 36 "$c: a kernel started"
done
sleep 2
for c in "${CONTS[@]}"; do
  expect_eq "$(status_field "$c" 's["kernels"]')" 1 "$c: status --json counts the kernel"
  idle=$(status_field "$c" 's["idle_s"]')
  case $idle in '' | *[!0-9]*) fail "$c: idle_s is a number of seconds (got '$idle')" ;; *) pass "$c: idle_s is $idle s" ;; esac
  run_jlh status "$c"
  expect_contains "$OUT" "IDLE" "$c: the table has an IDLE column"
  expect_contains "$OUT" " of 1m" "$c: with the limit"
done

log "== again with another timeout: the running server is reused, and jl says it keeps its own"
run_jlh up jltb-lab4 --no-browser --idle-timeout 2h
expect_rc 0 "jl up again with --idle-timeout 2h"
expect_contains "$ERR" "was started with --idle-timeout 1m" "says the server keeps its timeout"
expect_contains "$ERR" "jl stop jltb-lab4" "and how to change it"

log "== the idle kernels are culled, then the servers shut themselves down"
t0=$(date +%s)
for c in "${CONTS[@]}"; do
  culled=
  for _ in $(seq 60); do
    # api/status is not counted as activity: asking does not keep the server alive.
    if [ "$(status_field "$c" 's["kernels"]')" = 0 ]; then culled=1; break; fi
    sleep 3
  done
  expect_eq "$culled" 1 "$c: the idle kernel was culled ($(($(date +%s) - t0)) s)"
done
for c in "${CONTS[@]}"; do
  gone=
  for _ in $(seq 80); do
    if [ "$(status_field "$c" 's["answers"]')" = False ]; then gone=1; break; fi
    sleep 3
  done
  expect_eq "$gone" 1 "$c: the server shut itself down ($(($(date +%s) - t0)) s)"
  # It stops answering first, then ends its kernels' managers and exits: give it those seconds.
  left=
  for _ in $(seq 40); do
    left=$(jupyter_count "$c")
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  expect_eq "$left" 0 "$c: no Jupyter process is left"
  expect_eq "$(status_field "$c" 's["ended"]')" idle_timeout "$c: status --json says why it ended"
  run_jlh status "$c"
  expect_contains "$OUT" "Jupyter shut itself down after" "$c: status says it shut itself down"
  expect_contains "$OUT" "idle (--idle-timeout 1m)" "$c: for being idle"
done

log "== stop after an idle shutdown: nothing to stop, the session is forgotten"
for c in "${CONTS[@]}"; do
  run_jlh stop "$c"
  expect_rc 0 "jl stop $c"
done
expect_eq "$(session_count)" 0 "no session is left"

finish
