#!/usr/bin/env bash
# start twice reuses the server; a server jl did not start is found and reused too.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"

run_jlh start "$C"
expect_rc 0 "first start"
pid1=$(session_field pid)
run_jlh start "$C"
expect_rc 0 "second start"
expect_contains "$OUT" "reusing" "second start says it reuses"
expect_eq "$(session_field pid)" "$pid1" "same server pid"
n=$(jupyter_count "$C")
expect_eq "$n" 1 "exactly one Jupyter process in the container"

run_jlh stop "$C"
expect_rc 0 "stop"

log "== a server that jl did not start"
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$C")
# Started by hand, the way people do without jl.
docker exec -d "$C" sh -c 'cd /tmp && JUPYTER_TOKEN=handmade-token-0123456789 exec jupyter-server --allow-root --no-browser --ip=0.0.0.0 --port=8899 >/tmp/hand.log 2>&1'
for _ in $(seq 1 100); do
  [ "$(http_status_with_token "http://$ip:8899/api/status" handmade-token-0123456789)" = 200 ] && break
  sleep 0.1
done
run_jlh start "$C"
expect_rc 0 "start finds the hand-made server"
expect_contains "$OUT" "reusing" "and reuses it"
expect_eq "$(session_field port)" 8899 "its port"
expect_eq "$(session_field started_by_jl)" False "recorded as not started by jl"
hand_pid=$(session_field pid)
run_jlh stop "$C"
expect_rc 0 "stop the hand-made server"
if container_pid_alive "$C" "$hand_pid"; then fail "hand-made server still alive"; else pass "hand-made server is gone"; fi
finish
