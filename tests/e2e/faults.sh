#!/usr/bin/env bash
# Faults injected into the real test bed: the SSH connection killed, sshd down for 20 s, the
# container restarted, Jupyter killed, heavy and concurrent traffic, Ctrl-C at random moments,
# two jl up at once, and a host key that changed on the server.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"
token_file=$WORK/token
kernel_file=$WORK/kernel
sshd_start() { /usr/sbin/sshd -f "$JL_TESTBED_DIR/sshd_config" -E "$JL_TESTBED_DIR/sshd.log"; }
sshd_restore() {
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$JL_TESTBED_PORT") 2>/dev/null; then sshd_start; fi
}
trap 'sshd_restore; cleanup' EXIT
tunnel_pid() { session_field tunnel_pid; }
get() { curl -s -o /dev/null -m 20 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }

run_jlh up "$C" --no-browser --app server
expect_rc 0 "jl up"
url=$(printf '%s\n' "$OUT" | tail -n 1)
base=${url%%\?*}; base=${base%/}
session_field token >"$token_file"
printf 'Authorization: token %s\n' "$(cat "$token_file")" >"$WORK/hdr"
python3 "$(dirname "$0")/kernel_ws.py" "$base" "$token_file" "x = 40 + 2; x" 42 "$kernel_file" >/dev/null 2>"$WORK/ws.err" ||
  fail "kernel before the drop: $(cat "$WORK/ws.err")"

log "== kill the sshd process serving the tunnel"
tp=$(tunnel_pid)
victim=$(sshd_of_tunnel "$tp")
if [ -n "$victim" ]; then pass "found sshd pid $victim serving tunnel $tp"; else fail "no sshd process for the tunnel"; fi
kill $victim
sleep 5
expect_eq "$(get "$base/api/status")" 200 "a request 5 s later succeeds through the same URL"
if pid_alive "$tp"; then pass "the same tunnel process ($tp) reconnected"; else fail "the tunnel died"; fi
if r=$(python3 "$(dirname "$0")/kernel_ws.py" "$base" "$token_file" "x" 42 "$kernel_file" 2>"$WORK/ws.err"); then
  pass "the kernel started before the drop is alive; its websocket works after the reconnect ($r)"
else
  fail "kernel after the reconnect: $(cat "$WORK/ws.err") $r"
fi
expect_contains "$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log)" "reconnected" "the tunnel log tells"

log "== a silent peer (the sshd process frozen): found dead within 30 s by default"
victim=$(sshd_of_tunnel "$tp")
start=$(date +%s.%N)
kill -STOP $victim
for _ in $(seq 80); do grep -q "connection is dead" "$XDG_STATE_HOME"/jl/tunnels/*.log && break; sleep 0.5; done
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if awk -v s="$secs" 'BEGIN { exit !(s <= 31) }'; then
  pass "the frozen connection was declared dead after ${secs}s (ServerAlive defaults 15 s x 2)"
else
  fail "the frozen connection was declared dead only after ${secs}s"
fi
kill -CONT $victim
kill $victim
expect_eq "$(get "$base/api/status")" 200 "and the tunnel reconnected: the URL works"

log "== sshd down for 20 s"
kill "$(cat "$JL_TESTBED_DIR/sshd.pid")"
victim=$(sshd_of_tunnel "$tp")
if [ -n "$victim" ]; then kill $victim; else fail "no sshd process for the tunnel"; fi
sleep 2
expect_eq "$(get "$base/api/status")" 000 "while sshd is down the request fails cleanly (no hang past its limit)"
sleep 18
sshd_start
start=$(date +%s.%N)
sleep 5
expect_eq "$(get "$base/api/status")" 200 "5 s after sshd is back the same URL works"
if pid_alive "$tp"; then pass "still the same tunnel process"; else fail "the tunnel died"; fi
if python3 "$(dirname "$0")/kernel_ws.py" "$base" "$token_file" "x + 1" 43 "$kernel_file" >/dev/null 2>"$WORK/ws.err"; then
  pass "the kernel survived and its websocket works"
else
  fail "kernel after sshd restart: $(cat "$WORK/ws.err")"
fi

log "== 200 concurrent connections, each checked by sha256"
docker exec "$C" sh -c 'head -c 1048576 /dev/urandom >/tmp/jl-1m.bin'
want=$(docker exec "$C" sha256sum /tmp/jl-1m.bin | cut -d' ' -f1)
seq 200 | xargs -P 200 -I{} sh -c 'curl -s -m 60 -H "@$1" "$2/files/tmp/jl-1m.bin?n=$3" | sha256sum | cut -d" " -f1' sh "$WORK/hdr" "$base" {} >"$WORK/sums"
expect_eq "$(sort "$WORK/sums" | uniq -c | tr -s ' ')" " 200 $want" "200 parallel downloads, all intact"

log "== 1 GiB by sha256 with 50 small requests beside it"
docker exec "$C" sh -c 'head -c 1073741824 /dev/urandom >/tmp/jl-1g.bin'
want=$(docker exec "$C" sha256sum /tmp/jl-1g.bin | cut -d' ' -f1)
(curl -s -m 300 -H "@$WORK/hdr" "$base/files/tmp/jl-1g.bin" | sha256sum | cut -d' ' -f1 >"$WORK/big") &
big=$!
sleep 0.5
codes=$(seq 50 | xargs -P 10 -I{} curl -s -o /dev/null -m 30 -w '%{http_code}\n' -H "@$WORK/hdr" "$base/api/status?n={}" | sort | uniq -c | tr -s ' ')
wait "$big"
expect_eq "$codes" " 50 200" "50 small requests answered during the big transfer"
expect_eq "$(cat "$WORK/big")" "$want" "1 GiB intact"
docker exec "$C" rm -f /tmp/jl-1g.bin /tmp/jl-1m.bin

log "== Jupyter killed inside the container"
pid=$(session_field pid)
docker exec "$C" kill -KILL "$pid"
sleep 0.5
run_jl status
expect_contains "$(printf '%s\n' "$OUT" | tail -n 1)" " no " "status says it does not answer"
run_jlh start "$C" --app server
expect_rc 0 "start starts a new one"
expect_contains "$OUT" "started" "a new server, not a reuse"
if [ "$(session_field pid)" != "$pid" ]; then pass "new pid $(session_field pid)"; else fail "same pid"; fi

log "== the container restarted"
docker restart -t 1 "$C" >/dev/null
run_jl status
expect_contains "$(printf '%s\n' "$OUT" | tail -n 1)" " no " "status reports the server gone"
run_jlh up "$C" --no-browser --app server
expect_rc 0 "jl up brings it back"
url=$(printf '%s\n' "$OUT" | tail -n 1)
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url")" 200 "and the new URL answers"
expect_eq "$(jupyter_count "$C")" 1 "one server"

log "== Ctrl-C at random moments during jl up (10 trials)"
run_jl stop
for i in $(seq 10); do
  delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.1 + rand() * 1.2 }')
  python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
    "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" up "$C" --no-browser --app server \
    >"$WORK/int.out" 2>&1 </dev/null &
  p=$!
  sleep "$delay"
  kill -INT "$p" 2>/dev/null
  wait "$p"
  rc=$?
  sleep 0.3
  servers=$(jupyter_count "$C")
  sessions=$(session_count)
  tunnels=$(pgrep -f -- "-H $JL_TESTBED_HOST up $C" | while read -r t; do pid_alive "$t" && echo "$t"; done | wc -l | tr -d ' ')
  if { [ "$servers" = 0 ] && [ "$sessions" = 0 ] && [ "$tunnels" = 0 ]; } ||
     { [ "$servers" = 1 ] && [ "$sessions" = 1 ] && [ "$tunnels" -le 1 ]; }; then
    pass "trial $i (Ctrl-C after ${delay}s, exit $rc): servers=$servers sessions=$sessions tunnels=$tunnels, consistent"
  else
    fail "trial $i (Ctrl-C after ${delay}s, exit $rc): servers=$servers sessions=$sessions tunnels=$tunnels"
  fi
  run_jl stop
  reset_container "$C"
done

log "== two jl up at the same moment"
"$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" up "$C" --no-browser --app server >"$WORK/a.out" 2>&1 </dev/null &
a=$!
"$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" up "$C" --no-browser --app server >"$WORK/b.out" 2>&1 </dev/null &
b=$!
wait "$a"; ra=$?
wait "$b"; rb=$?
expect_eq "$ra:$rb" "0:0" "both succeed"
expect_eq "$(jupyter_count "$C")" 1 "exactly one server"
expect_eq "$(ls "$XDG_STATE_HOME"/jl/tunnels/*.lock | while read -r l; do flock -n "$l" true || echo held; done | grep -c held)" 1 "exactly one tunnel"
expect_eq "$(tail -n 1 "$WORK/a.out")" "$(tail -n 1 "$WORK/b.out")" "the same URL for both"
run_jl stop
expect_rc 0 "stop"

log "== the host key changed on the server"
cp "$JL_TESTBED_DIR/sshd_config" "$WORK/sshd_config"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/newhostkey"
sed -i "s#^HostKey .*#HostKey $WORK/newhostkey#; s#^PidFile .*#PidFile $WORK/sshd.pid#" "$WORK/sshd_config"
kill "$(cat "$JL_TESTBED_DIR/sshd.pid")"
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$JL_TESTBED_PORT") 2>/dev/null || break; sleep 0.1; done
/usr/sbin/sshd -f "$WORK/sshd_config" -E "$WORK/sshd.log"
cp "$JL_TESTBED_KNOWN_HOSTS" "$WORK/known_hosts.before"
state_before=$(cat "$(state_file)" 2>/dev/null)
run_jlh up "$C" --no-browser
expect_rc 3 "a changed host key is refused"
expect_contains "$ERR" "CHANGED" "says the key changed"
expect_contains "$ERR" "$(ssh-keygen -lf "$WORK/newhostkey.pub" | awk '{ print $2 }')" "shows the new fingerprint"
if cmp -s "$JL_TESTBED_KNOWN_HOSTS" "$WORK/known_hosts.before"; then pass "known_hosts not written"; else fail "known_hosts changed"; fi
expect_eq "$(cat "$(state_file)" 2>/dev/null)" "$state_before" "state not written"
expect_eq "$(jupyter_count "$C")" 0 "nothing started"
kill "$(cat "$WORK/sshd.pid")"
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$JL_TESTBED_PORT") 2>/dev/null || break; sleep 0.1; done
sshd_start
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$JL_TESTBED_PORT") 2>/dev/null && break; sleep 0.1; done
run_jlh status
expect_rc 0 "the original sshd is back"
finish
