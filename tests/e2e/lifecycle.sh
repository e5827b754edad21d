#!/usr/bin/env bash
# start -> status -> stop against the real test bed, checking the server inside the container.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"

log "== start"
run_jlh start "$C"
expect_rc 0 "start"
expect_contains "$OUT" "started Jupyter" "start prints a summary line"
expect_eq "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1 "the summary is one line"
expect_eq "$(session_count)" 1 "one session recorded"
expect_eq "$(stat -c %a "$(state_file)")" 600 "state file mode is 0600"

pid=$(session_field pid)
addr=$(session_field address)
port=$(session_field port)
token=$(session_field token)
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$C")
expect_eq "$addr" "$ip" "the server listens on the container's own IP"
expect_eq "$port" 8888 "default port 8888"
expect_eq "${#token}" 48 "a 48-hex-digit token"
if container_pid_alive "$C" "$pid"; then pass "Jupyter pid $pid is alive in $C"; else fail "Jupyter pid $pid is not alive"; fi
expect_eq "$(http_status_with_token "http://$addr:$port/api/status" "$token")" 200 \
  "GET /api/status with the token answers 200 from the host"
expect_eq "$(http_status_with_token "http://$addr:$port/api/status" wrong-token)" 403 \
  "a wrong token is refused"
bound=$(docker exec "$C" sh -c "cat /proc/net/tcp" | awk -v p="$(printf '%04X' "$port")" '$4 == "0A" && $2 ~ ":"p"$" { print $2 }')
expect_not_contains "$bound" "00000000:" "Jupyter does not listen on 0.0.0.0"

# The token is in no process's argv, in the container or on this machine.
args_in_container=$(docker exec "$C" sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo; done' 2>/dev/null)
expect_not_contains "$args_in_container" "$token" "token not in any argv inside the container"
expect_contains "$args_in_container" "--allow-root" "root container: --allow-root is passed"
args_here=$(for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$f" 2>/dev/null; echo; done)
expect_not_contains "$args_here" "$token" "token not in any argv on this machine"
log_file=$(session_field log)
expect_eq "$(docker exec "$C" stat -c %a "$log_file")" 600 "the Jupyter log inside the container is 0600"

log "== status"
run_jlh status
expect_rc 0 "status"
expect_contains "$OUT" "$C" "status lists the container"
expect_contains "$OUT" "$addr:$port" "status shows the remote address"
expect_not_contains "$OUT" "$token" "status masks the token"
expect_contains "$(printf '%s\n' "$OUT" | tail -n 1)" "yes" "status says it answers"
run_jl --json status
expect_rc 0 "status --json"
answers=$(printf '%s' "$OUT" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(len(a), a[0]["answers"], a[0]["container"], a[0]["pid"])')
expect_eq "$answers" "1 True $C $pid" "status --json: one answering session"
run_jl status "$C"
expect_rc 0 "status CONTAINER works without -H (the session knows its host)"
run_jl status --show-token
expect_contains "$OUT" "$token" "status --show-token shows the whole token"

log "== stop"
run_jl stop
expect_rc 0 "stop with no CONTAINER picks the only session"
expect_contains "$OUT" "stopped Jupyter in $C" "stop reports"
if container_pid_alive "$C" "$pid"; then fail "pid $pid still alive after stop"; else pass "pid $pid is gone"; fi
expect_eq "$(http_status_with_token "http://$addr:$port/api/status" "$token")" 000 "nothing answers at the address"
runtime_files=$(docker exec "$C" sh -c 'ls /root/.local/share/jupyter/runtime/ 2>/dev/null | grep -c "server-.*\.json"')
expect_eq "$runtime_files" 0 "no runtime file left behind"
expect_eq "$(session_count)" 0 "the session is forgotten"

run_jl stop
expect_rc 2 "stop with no sessions is a usage error"
expect_contains "$ERR" "no known session" "and says so"
finish
