#!/usr/bin/env bash
# jl up / open / close / stop and what goes through the tunnel: the browser's URL, a kernel over
# REST and websocket, 50 parallel requests, a 256 MiB download checked by sha256.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"
recorder=$WORK/browser
cat >"$recorder" <<EOT
#!/bin/sh
printf '%s\n' "\$1" >>"$WORK/browser-urls"
EOT
chmod +x "$recorder"
accepted() { grep -c 'Accepted publickey' "$JL_TESTBED_DIR/sshd.log"; }
token_file=$WORK/token

log "== jl up"
before=$(accepted)
BROWSER=$recorder run_jlh up "$C"
expect_rc 0 "jl up"
url=$(printf '%s\n' "$OUT" | tail -n 1)
case $url in
  http://127.0.0.1:*/tree\?token=* | http://127.0.0.1:*/lab\?token=*) pass "the last line is the local URL" ;;
  *) fail "the last line is not a local URL: $url" ;;
esac
expect_eq "$(accepted)" "$((before + 1))" "jl up used one SSH connection"
for _ in $(seq 50); do [ -s "$WORK/browser-urls" ] && break; sleep 0.1; done
page=$(cat "$WORK/browser-urls" 2>/dev/null)
case $page in
  file://"$XDG_STATE_HOME"/jl/open/*.html) pass "\$BROWSER got a local page, not the token URL" ;;
  *) fail "\$BROWSER got '$page', not a page in jl's state directory" ;;
esac
expect_not_contains "$page" "token" "no token in the browser's argv"
page=${page#file://}
expect_eq "$(stat -c %a "$page" 2>/dev/null)" 600 "the page is 0600"
expect_contains "$(cat "$page" 2>/dev/null)" "url=$url\"" "the page sends the browser to the URL"
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url")" 200 "the browser's URL answers 200 through the tunnel"
session_field token >"$token_file"
local_port=$(session_field local_port)
tunnel_pid=$(session_field tunnel_pid)
expect_eq "$local_port" "$(session_field port)" "the local port is the remote port when free"
if pid_alive "$tunnel_pid"; then pass "the tunnel (pid $tunnel_pid) outlives jl up"; else fail "no tunnel process"; fi
listeners=$(ss -Hltn "sport = :$local_port" | awk '{ print $4 }' | sort -u)
expect_eq "$listeners" "127.0.0.1:$local_port" "the tunnel listens on 127.0.0.1 only"
tunnel_args=$(tr '\0' ' ' <"/proc/$tunnel_pid/cmdline")
expect_not_contains "$tunnel_args" "$(cat "$token_file")" "no token in the tunnel's argv"
tunnel_env=$(tr '\0' '\n' <"/proc/$tunnel_pid/environ")
expect_not_contains "$tunnel_env" "$(cat "$token_file")" "no token in the tunnel's environment"
expect_not_contains "$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log)" "$(cat "$token_file")" "no token in the tunnel log"
expect_eq "$(stat -c %a "$XDG_STATE_HOME"/jl/tunnels/*.log | sort -u)" 600 "the tunnel log is 0600"

log "== a second open: no new SSH connection"
before=$(accepted)
run_jl open --no-browser
expect_rc 0 "jl open with a live tunnel"
expect_contains "$OUT" "already running" "says the tunnel already runs"
expect_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "$url" "the same URL"
expect_eq "$(accepted)" "$before" "no new SSH connection"
expect_within 1 "jl open with a live tunnel"

base="http://127.0.0.1:$local_port"
log "== a kernel over REST and its websocket"
if result=$(python3 "$(dirname "$0")/kernel_ws.py" "$base" "$token_file" "1+1" "2" 2>"$WORK/ws.err"); then
  pass "1+1 = $result over the kernel websocket through the tunnel"
else
  fail "kernel websocket: $(cat "$WORK/ws.err") $result"
fi

log "== 50 parallel requests"
printf 'Authorization: token %s\n' "$(cat "$token_file")" >"$WORK/hdr"
codes=$(seq 50 | xargs -P 50 -I{} curl -s -o /dev/null -m 20 -w '%{http_code}\n' -H "@$WORK/hdr" "$base/api/contents?n={}" | sort | uniq -c | tr -s ' ')
expect_eq "$codes" " 50 200" "50 parallel requests all answer 200"

log "== 256 MiB download, sha256 at both ends"
docker exec "$C" sh -c 'head -c 268435456 /dev/urandom >/tmp/jl-big.bin'
remote_sum=$(docker exec "$C" sha256sum /tmp/jl-big.bin | cut -d' ' -f1)
start=$(date +%s.%N)
local_sum=$(curl -s -m 120 -H "@$WORK/hdr" "$base/files/tmp/jl-big.bin" | sha256sum | cut -d' ' -f1)
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
expect_eq "$local_sum" "$remote_sum" "256 MiB arrive intact (${secs}s)"
docker exec "$C" rm -f /tmp/jl-big.bin

log "== jl close"
run_jl close
expect_rc 0 "jl close"
# The lock is let go first (that is when close returns); the process ends right after it.
for _ in $(seq 50); do pid_alive "$tunnel_pid" || break; sleep 0.1; done
if pid_alive "$tunnel_pid"; then fail "the tunnel still runs 5 s after jl close"; else pass "the tunnel is gone"; fi
expect_eq "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url")" 000 "nothing answers on the local port"
expect_eq "$(http_status_with_token "http://$(session_field address):$(session_field port)/api/status" "$(cat "$token_file")")" 200 "Jupyter keeps running"

log "== the port is reused on the next open"
run_jl open --no-browser
expect_rc 0 "open again"
expect_eq "$(session_field local_port)" "$local_port" "same local port"
expect_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "$url" "same URL, so browser tabs stay valid"
run_jl close
expect_rc 0 "close again"

log "== the background tunnel keeps nothing it inherited"
# A caller's file on fd 9 (as flock(1) leaves its lock) and the write end of a pipe on fd 5 (as
# $(...) reads to its end): the tunnel outlives jl open, so holding either would keep the lock
# taken, or the reader waiting, for as long as the tunnel runs.
held=$WORK/held-by-the-caller
exec {pipe_w}> >(cat >/dev/null)
pipe_id=$(readlink "/proc/$$/fd/$pipe_w")
run_jl open --no-browser 9>"$held" 5>&"$pipe_w"
expect_rc 0 "jl open with fds 5 and 9 open"
exec {pipe_w}>&-
tpid=$(session_field tunnel_pid)
kept=
for f in "/proc/$tpid/fd/"*; do
  case $(readlink "$f") in "$held" | "$pipe_id") kept+=" ${f##*/}" ;; esac
done
expect_eq "$kept" "" "the tunnel keeps neither the caller's file nor its pipe"
run_jl close
expect_rc 0 "close"

log "== a busy --local-port"
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$WORK/busy" &
blocker=$!
for _ in $(seq 50); do [ -s "$WORK/busy" ] && break; sleep 0.1; done
busy=$(cat "$WORK/busy")
run_jl open --no-browser --local-port "$busy"
expect_rc 1 "open on a busy --local-port"
expect_error_shape "busy --local-port"
expect_contains "$ERR" "local port $busy" "names the port"
# up checks what can fail here before it starts anything there: no connection is even made.
before=$(accepted)
pid_before=$(session_field pid)
run_jlh up "$C" --no-browser --local-port "$busy"
expect_rc 1 "up on a busy --local-port"
expect_contains "$ERR" "local port $busy is not available" "up names the busy port"
expect_eq "$(accepted)" "$before" "up on a busy --local-port makes no SSH connection"
expect_eq "$(session_field pid)" "$pid_before" "and leaves the session's server as it was"
kill "$blocker"

log "== --foreground: attached until a signal, then closes cleanly"
"$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" open --no-browser --foreground </dev/null >"$WORK/fg.out" 2>"$WORK/fg.err" &
fg=$!
for _ in $(seq 100); do [ -s "$WORK/fg.out" ] && break; sleep 0.05; done
fg_url=$(tail -n 1 "$WORK/fg.out")
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$fg_url")" 200 "the foreground tunnel serves"
kill -INT "$fg"
wait "$fg"
expect_eq "$?" 0 "Ctrl-C ends it with exit 0"
expect_eq "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$fg_url")" 000 "and the port is closed"

log "== jl forward -L, like ssh -L"
docker exec -d "$C" python3 -m http.server --directory /etc --bind 0.0.0.0 8123
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$C")
for _ in $(seq 50); do curl -s -o /dev/null -m 1 "http://$ip:8123/" && break; sleep 0.1; done
run_jlh forward -L "18123:$ip:8123"
expect_rc 0 "jl forward -L"
expect_eq "$(curl -s -m 10 http://127.0.0.1:18123/hostname)" "$C" "a file through the forward"
run_jlh forward "$C:8123" --local-port 18124
expect_rc 0 "jl forward CONTAINER:PORT"
expect_eq "$(curl -s -m 10 http://127.0.0.1:18124/hostname)" "$C" "a file through the container forward"
log "== a connection whose channel cannot be opened is closed; the others go on"
run_jlh forward -L "18125:$ip:1"
expect_rc 0 "jl forward to a port where nothing listens"
code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' http://127.0.0.1:18125/ 2>/dev/null)
expect_eq "$code" 000 "the client sees its connection closed, not a hang"
tlog=$(cat "$XDG_STATE_HOME"/jl/tunnels/*forward*18125*.log)
expect_contains "$tlog" "nothing listens on $ip:1 (connection refused)" "the tunnel log says why, in words"
expect_not_contains "$tlog" "Channel opening failure" "and without libssh's text"
expect_eq "$(curl -s -m 10 http://127.0.0.1:18123/hostname)" "$C" "the other forward still works"
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' http://127.0.0.1:18125/ 2>/dev/null)" 000 "and the failing one keeps failing cleanly"
run_jl close --all
expect_rc 0 "close --all"
expect_eq "$(curl -s -o /dev/null -m 5 -w '%{http_code}' http://127.0.0.1:18123/)" 000 "the forward is closed"
docker exec "$C" pkill -f 'http.server --directory /etc' >/dev/null 2>&1

log "== jl stop closes the tunnel too"
run_jl open --no-browser
tunnel_pid=$(session_field tunnel_pid)
run_jl stop
expect_rc 0 "stop"
for _ in $(seq 50); do pid_alive "$tunnel_pid" || break; sleep 0.1; done
if pid_alive "$tunnel_pid"; then fail "stop left the tunnel running (5 s)"; else pass "stop closed the tunnel"; fi
if [ -e "$page" ]; then fail "stop left the browser page (and its void token) behind"; else pass "stop removed the browser page"; fi
finish
