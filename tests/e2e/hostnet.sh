#!/usr/bin/env bash
# A --network host container: Jupyter binds 127.0.0.1 only, on a port that is free.
. "$(dirname "$0")/lib.sh"

C=jltb-hostnet
reset_container "$C"
# Something already listens on 8888 on the host: jl must pick the next free port, not let
# Jupyter move silently.
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 8888)); s.listen(); time.sleep(120)' &
blocker=$!
sleep 0.3
run_jlh start "$C"
expect_rc 0 "start in a host-network container"
expect_eq "$(session_field address)" 127.0.0.1 "listens on 127.0.0.1"
port=$(session_field port)
if [ "$port" != 8888 ]; then pass "picked port $port instead of the busy 8888"; else fail "used the busy port 8888"; fi
listeners=$(ss -Hltn "sport = :$port" | awk '{ print $4 }')
expect_eq "$listeners" "127.0.0.1:$port" "bound to 127.0.0.1 only"
run_jlh start "$C" --port 8888
expect_rc 0 "a second start reuses instead of failing on the busy port"
run_jlh stop "$C"
expect_rc 0 "stop"
kill "$blocker" 2>/dev/null
finish
