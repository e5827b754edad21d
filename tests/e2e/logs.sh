#!/usr/bin/env bash
# jl logs against the real bed: the last lines equal the log file read directly, --json, -f
# streams a line Jupyter writes later, Ctrl-C ends it promptly with exit 0 and no tail is left
# in the container, and a session jl did not start gets a clear error.
. "$(dirname "$0")/lib.sh"

C=cont1
tails_in() { docker exec "$1" ps -eo args= | grep -c '^tail ' || true; }

reset_container "$C"
run_jlh start "$C"
expect_rc 0 "start $C"
log_file=$(session_field log)
address=$(session_field address)
port=$(session_field port)
expect_contains "$log_file" "jupyter-$port.log" "the session knows its log file"

log "== the last lines"
run_jlh logs -n 5
expect_rc 0 "jl logs -n 5"
expect_eq "$OUT" "$(docker exec "$C" tail -n 5 "$log_file")" "equals tail -n 5 of the log in the container"
expect_eq "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 5 "five lines"
run_jlh logs "$C"
expect_eq "$OUT" "$(docker exec "$C" tail -n 50 "$log_file")" "the default is the last 50 lines"

log "== --json"
run_jlh --json logs -n 3 "$C"
expect_rc 0 "--json logs"
printf '%s\n' "$OUT" >"$WORK/logs.json"
docker exec "$C" tail -n 3 "$log_file" >"$WORK/tail3"
expect_eq "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["container"], j["log_file"], j["lines"] == open(sys.argv[2]).read().splitlines())' "$WORK/logs.json" "$WORK/tail3")" \
  "$C $log_file True" "JSON has container, log_file and the same lines"

log "== -f streams what Jupyter writes later; Ctrl-C ends it"
before=$(tails_in "$C")
"$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" logs -f -n 1 "$C" >"$WORK/follow.out" 2>"$WORK/follow.err" &
jl_pid=$!
for _ in $(seq 100); do [ -s "$WORK/follow.out" ] && break; sleep 0.05; done
expect_eq "$(cat "$WORK/follow.out")" "$(docker exec "$C" tail -n 1 "$log_file")" "-f -n 1 starts with the last line"
expect_eq "$(tails_in "$C")" "$((before + 1))" "one tail runs in the container while following"
marker=jl-logs-probe-$RANDOM$RANDOM
t0=$(date +%s.%N)
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$address:$port/$marker")
expect_eq "$code" 404 "the server answers the missing URL with 404"
for _ in $(seq 100); do grep -q "$marker" "$WORK/follow.out" && break; sleep 0.02; done
t1=$(date +%s.%N)
latency=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
if grep -q "404 GET /$marker" "$WORK/follow.out"; then pass "the 404 line arrived in ${latency}s"; else fail "the 404 line did not arrive"; fi
if awk -v l="$latency" 'BEGIN { exit !(l <= 2) }'; then pass "-f latency ${latency}s <= 2s"; else fail "-f latency ${latency}s"; fi
log "  -f latency: ${latency}s"
t0=$(date +%s.%N)
kill -INT "$jl_pid"
rc=
for _ in $(seq 100); do
  if ! kill -0 "$jl_pid" 2>/dev/null; then wait "$jl_pid"; rc=$?; break; fi
  sleep 0.02
done
t1=$(date +%s.%N)
exit_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
if [ -z "$rc" ]; then fail "jl logs -f still runs 2 s after SIGINT"; kill -KILL "$jl_pid"; fi
expect_eq "$rc" 0 "SIGINT ends jl logs -f with exit 0"
if awk -v s="$exit_secs" 'BEGIN { exit !(s <= 1) }'; then pass "ended ${exit_secs}s after SIGINT"; else fail "took ${exit_secs}s to end after SIGINT"; fi
log "  Ctrl-C exit time: ${exit_secs}s"
sleep 0.3
expect_eq "$(tails_in "$C")" "$before" "no tail left in the container"
expect_eq "$(docker exec "$C" ps -eo args= | grep -c "^sh -c .*tail" || true)" 0 "no script left in the container"
expect_eq "$(cat "$WORK/follow.err")" "" "nothing on stderr"

log "== --json -f: one JSON object per line"
"$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" --json logs -f -n 2 "$C" >"$WORK/follow.jsonl" 2>/dev/null &
jl_pid=$!
for _ in $(seq 100); do [ "$(wc -l <"$WORK/follow.jsonl")" -ge 2 ] && break; sleep 0.05; done
kill -INT "$jl_pid"; wait "$jl_pid"
expect_eq "$?" 0 "--json -f ends with 0"
expect_eq "$(python3 -c 'import json,sys; print(all(json.loads(l)["container"] == "cont1" and "line" in json.loads(l) for l in open(sys.argv[1])))' "$WORK/follow.jsonl")" \
  True "every line is a JSON object with container and line"

log "== -f on a connection whose peer goes silent ends with an error, not a hang"
cfg=$WORK/ssh_config
{ cat "$JL_TESTBED_SSH_CONFIG"; ssh_entry quick-alive alive=1; } >"$cfg"
run_jlh stop "$C"
run_jl_raw -F "$cfg" -H quick-alive start "$C"
expect_rc 0 "start through a host entry with ServerAliveInterval 1"
"$JL_BIN" -F "$cfg" -H quick-alive logs -f -n 1 "$C" >"$WORK/silent.out" 2>"$WORK/silent.err" &
jl_pid=$!
for _ in $(seq 100); do [ -s "$WORK/silent.out" ] && break; sleep 0.05; done
# The sshd process serving jl's connection: the peer of jl's socket to the bed's port.
jl_port=$(ss -Htnp "dport = :$JL_TESTBED_PORT" | grep "pid=$jl_pid," | awk '{ print $4 }' | sed 's/.*://' | head -n 1)
victim=$(ss -Htnp "sport = :$JL_TESTBED_PORT and dport = :$jl_port" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
if [ -n "$victim" ]; then pass "found the sshd process ($victim) serving jl logs -f"; else fail "no sshd process for jl logs -f"; fi
t0=$(date +%s.%N)
[ -n "$victim" ] && kill -STOP "$victim"
rc=
for _ in $(seq 200); do
  if ! kill -0 "$jl_pid" 2>/dev/null; then wait "$jl_pid"; rc=$?; break; fi
  sleep 0.05
done
dead_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ -n "$victim" ] && { kill -CONT "$victim"; kill "$victim"; } 2>/dev/null
if [ -z "$rc" ]; then fail "jl logs -f still runs 10 s after its peer went silent"; kill -KILL "$jl_pid"; fi
expect_eq "$rc" 3 "a dead connection ends jl logs -f with the SSH exit code"
if awk -v s="$dead_secs" 'BEGIN { exit !(s <= 6) }'; then pass "found dead after ${dead_secs}s (ServerAliveInterval 1 x 2)"; else fail "found dead only after ${dead_secs}s"; fi
expect_contains "$(cat "$WORK/silent.err")" "jl: error:" "with an error on stderr"
log "  silent peer: jl logs -f ended after ${dead_secs}s"
run_jl_raw -F "$cfg" -H quick-alive stop "$C"
expect_rc 0 "and the session can be stopped afterwards"

log "== a session jl did not start"
reset_container jltb-root
docker exec -d jltb-root sh -c 'cd /tmp && JUPYTER_TOKEN=handmade-token-logs-0123456789 exec jupyter-server --allow-root --no-browser --ip=0.0.0.0 --port=8899 >/tmp/hand.log 2>&1'
# Jupyter takes seconds to start on a loaded machine, and writes its runtime file (how jl finds
# it) after it listens: wait up to 60 s for both, or the start below would start its own server.
listening=no
for _ in $(seq 600); do
  if docker exec jltb-root sh -c 'grep -q ":22C3 " /proc/net/tcp && ls /root/.local/share/jupyter/runtime/jpserver-*.json' >/dev/null 2>&1; then
    listening=yes
    break
  fi
  sleep 0.1
done
expect_eq "$listening" yes "the hand-started server listens on 8899 and wrote its runtime file"
run_jlh start jltb-root
expect_rc 0 "start reuses the hand-started server"
expect_eq "$(python3 -c 'import json,sys; print([s["started_by_jl"] for s in json.load(open(sys.argv[1]))["sessions"] if s["container"] == "jltb-root"])' "$(state_file)")" \
  "[False]" "the session records that jl did not start it"
run_jlh logs jltb-root
expect_rc 2 "logs of a session jl did not start"
expect_error_shape "logs of a foreign session"
expect_contains "$ERR" "did not start" "says jl did not start it"
expect_contains "$ERR" "hint:" "with a hint"

log "== no known session"
run_jlh stop --all
run_jlh logs
expect_rc 2 "logs without sessions"
expect_contains "$ERR" "no known session" "says there is no session"
finish
