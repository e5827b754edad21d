#!/usr/bin/env bash
# jl's tunnel over a link whose conditions are made, not hoped for. jl runs in a network namespace
# of the suite's own (jltb-link), joined to the host by a veth pair; its SSH connection goes
# jl -> veth (where cuts and loss are made) -> a delaying proxy on the host -> the bed's sshd.
#   1. the link cut for 60 s (ip link down; once more with iptables DROP), then back: the first
#      request through the tunnel answers within 3 s, and the kernel started before runs a cell;
#   2. the tunnel process stopped for 60 s (SIGSTOP, a laptop's suspend), then SIGCONT: same;
#   3. 150 ms RTT and 1% loss both ways: a big download (JL_LINK_BYTES, 1 GiB by default) arrives
#      intact with no reconnect;
#   4. and meanwhile `jl status` answers.
# The namespace, the veth pair, the proxies and the tunnels are the suite's own and are removed on
# exit; the bed's own namespace (jltb-inner, jltb-v0/jltb-v1) is not touched.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
C=cont1
NS=jltb-link
VETH_HOST=jltb-lk0
VETH_NS=jltb-lk1
HOST_ADDR=10.231.1.1
NS_ADDR=10.231.1.2
CUT_SECS=${JL_LINK_CUT_SECS:-60}
BIG=${JL_LINK_BYTES:-1073741824}
# How soon after the link's (or the process's) return the first request must answer.
BACK_WITHIN=3
CFG=$WORK/ssh_config
KNOWN=$WORK/known_hosts
token_file=$WORK/token
kernel_file=$WORK/kernel
HDR=$WORK/hdr
PROXY_PIDS=()

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
at_most() { awk -v s="$1" -v l="$2" 'BEGIN { exit !(s <= l) }'; }

ns_exists() { ip netns list | cut -d' ' -f1 | grep -qx "$NS"; }

# A command inside the namespace, with the suite's state and runtime directories.
in_ns() {
  ip netns exec "$NS" env XDG_STATE_HOME="$XDG_STATE_HOME" XDG_CONFIG_HOME="$XDG_CONFIG_HOME" \
    XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$@"
}

# Like lib.sh's run_jl, but inside the namespace: OUT, ERR, RC, SECS.
run_jln() {
  local start
  start=$(now)
  OUT=$(in_ns timeout -k 5 60 "$JL_BIN" -F "$CFG" "$@" </dev/null 2>"$WORK/stderr")
  RC=$?
  SECS=$(elapsed "$start" "$(now)")
  ERR=$(cat "$WORK/stderr")
  log "  \$ jl $* (in $NS) -> rc=$RC in ${SECS}s"
  if [ -n "$OUT" ]; then log "$(printf '%s\n' "$OUT" | sed 's/^/    out| /')"; fi
  if [ -n "$ERR" ]; then log "$(printf '%s\n' "$ERR" | sed 's/^/    err| /')"; fi
}

# Remove the namespace (its end of the veth pair goes with it, and so the pair) and the host's
# end should it remain. Processes still inside are the suite's own tunnels: ended by id first.
link_remove() {
  local p
  if ns_exists; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do
      kill -CONT "$p" 2>/dev/null
      kill "$p" 2>/dev/null
    done
    ip netns del "$NS"
  fi
  ip link del "$VETH_HOST" 2>/dev/null || true
}

# shellcheck disable=SC2317  # called by the EXIT trap
link_cleanup() {
  local p
  if ns_exists; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -CONT "$p" 2>/dev/null; done
    in_ns timeout -k 2 20 "$JL_BIN" -F "$CFG" stop --all </dev/null >/dev/null 2>&1
  fi
  link_remove
  for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; done
}
on_exit link_cleanup

log "== the plumbing: namespace $NS, veth $VETH_HOST ($HOST_ADDR) / $VETH_NS ($NS_ADDR), delaying proxies"
if ns_exists || ip link show "$VETH_HOST" >/dev/null 2>&1; then
  log "  a leftover $NS from an earlier run: removed"
  link_remove
fi
ip netns add "$NS" || { fail "cannot create the network namespace $NS"; finish; }
ip link add "$VETH_HOST" type veth peer name "$VETH_NS" || { fail "cannot create the veth pair"; finish; }
ip link set "$VETH_NS" netns "$NS"
ip addr add "$HOST_ADDR/30" dev "$VETH_HOST"
ip link set "$VETH_HOST" up
in_ns ip addr add "$NS_ADDR/30" dev "$VETH_NS"
in_ns ip link set "$VETH_NS" up
in_ns ip link set lo up
# No default route: from the namespace only the host's end of the pair is reachable.

# One proxy per delay, so that no scenario restarts the one a tunnel goes through.
start_proxy() { # DELAY_MS VAR: VAR gets the port it listens on (not in a subshell: PROXY_PIDS)
  local delay=$1 out=$WORK/proxy-$1.out port=
  python3 "$here/../bench/delay_proxy.py" 0 "$JL_TESTBED_PORT" "$delay" "$HOST_ADDR" >"$out" 2>&1 &
  PROXY_PIDS+=($!)
  for _ in $(seq 50); do
    port=$(sed -n 's/^delay proxy [0-9.]*:\([0-9]*\) .*/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  printf -v "$2" '%s' "$port"
}
start_proxy 25 PORT_50
start_proxy 75 PORT_150
if [ -z "$PORT_50" ] || [ -z "$PORT_150" ]; then
  fail "the delaying proxies did not start: $(cat "$WORK"/proxy-*.out)"
  finish
fi
listeners=$(ss -Hltn "( sport = :$PORT_50 or sport = :$PORT_150 )" | awk '{ print $4 }' | sort | tr '\n' ' ')
expect_eq "$listeners" "$(printf '%s\n' "$HOST_ADDR:$PORT_50" "$HOST_ADDR:$PORT_150" | sort | tr '\n' ' ')" \
  "the proxies listen on $HOST_ADDR only (ports $PORT_50: +25 ms, $PORT_150: +75 ms each way)"

hostkey=$(cut -d' ' -f1,2 "$JL_TESTBED_HOSTKEY_PUB")
printf '[%s]:%s %s\n' "$HOST_ADDR" "$PORT_50" "$hostkey" "$HOST_ADDR" "$PORT_150" "$hostkey" >"$KNOWN"
{
  ssh_entry jl-link port="$PORT_50" known_hosts="$KNOWN" strict=yes
  ssh_entry jl-link-slow port="$PORT_150" known_hosts="$KNOWN" strict=yes
} | sed "s/^  HostName 127\.0\.0\.1\$/  HostName $HOST_ADDR/" >"$CFG"
if in_ns bash -c "exec 3<>/dev/tcp/$HOST_ADDR/$PORT_50" 2>/dev/null; then
  pass "the namespace reaches the proxy"
else
  fail "the namespace does not reach $HOST_ADDR:$PORT_50"
  finish
fi
if in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$JL_TESTBED_PORT" 2>/dev/null; then
  fail "the bed's sshd is reachable from the namespace without the proxy"
else
  pass "the bed's sshd is reachable from the namespace only through the proxy"
fi

# Where each tunnel log ends now; new_log_lines prints what was written after a mark.
log_mark() {
  local f
  for f in "$XDG_STATE_HOME"/jl/tunnels/*.log; do
    [ -f "$f" ] && printf '%s %s\n' "$(stat -c %s "$f")" "$f"
  done >"$WORK/log-mark"
}
new_log_lines() {
  local f size
  for f in "$XDG_STATE_HOME"/jl/tunnels/*.log; do
    [ -f "$f" ] || continue
    size=$(awk -v f="$f" '{ s = $1; sub(/^[0-9]+ /, ""); if ($0 == f) print s }' "$WORK/log-mark")
    tail -c +"$((${size:-0} + 1))" "$f"
  done
}
show_log() { # WHAT: the tunnel log lines since the mark, indented
  local lines
  lines=$(new_log_lines)
  if [ -n "$lines" ]; then
    log "  the tunnel log $1:"
    log "$(printf '%s\n' "$lines" | sed 's/^/    log| /')"
  else
    log "  the tunnel log $1: nothing"
  fi
}
RECONNECT_WORDS='reconnect|connection was lost|connection is dead'

# Poll URL inside the namespace every 100 ms (each request with its own 5 s limit, so that one
# waiting request does not delay the next) until one answers 200 or LIMIT seconds pass. Prints
# the moment of the first 200 (epoch seconds) and the number of requests, or "none N".
poll_first_200() {
  local url=$1 limit=$2 ok=$WORK/poll-ok n
  rm -f "$ok"
  # shellcheck disable=SC2016  # the script's own variables, expanded inside the namespace
  n=$(in_ns bash -c '
    url=$1 hdr=$2 ok=$3 end=$(( $(date +%s) + $4 )) n=0
    while [ ! -s "$ok" ] && [ "$(date +%s)" -lt "$end" ]; do
      { c=$(curl -s -o /dev/null -m 5 -w "%{http_code}" -H "@$hdr" "$url" 2>/dev/null)
        if [ "$c" = 200 ]; then date +%s.%N >>"$ok"; fi; } &
      n=$((n + 1))
      sleep 0.1
    done
    wait
    echo "$n"' bash "$url" "$HDR" "$ok" "$limit")
  if [ -s "$ok" ]; then printf '%s %s\n' "$(sort -n "$ok" | head -n 1)" "$n"; else printf 'none %s\n' "$n"; fi
}

# After a return at moment BACK: the first 200 within BACK_WITHIN s, the kernel runs a cell, the
# tunnel process is the same.
check_back() {
  local what=$1 back=$2 first n secs r
  read -r first n < <(poll_first_200 "$base/api/status" 60)
  if [ "$first" = none ]; then
    fail "$what: no 200 through the tunnel within 60 s of the return ($n requests)"
  else
    secs=$(elapsed "$back" "$first")
    log "  measured: the first 200 came ${secs}s after the return ($n requests, one every 100 ms)"
    if at_most "$secs" "$BACK_WITHIN"; then
      pass "$what: the first 200 within ${BACK_WITHIN}s of the return (${secs}s)"
    else
      fail "$what: the first 200 came ${secs}s after the return, limit ${BACK_WITHIN}s"
    fi
  fi
  if r=$(in_ns python3 "$here/kernel_ws.py" "$base" "$token_file" "x" 2 "$kernel_file" 2>"$WORK/ws.err") &&
    grep -q "kernel $kernel_id is still alive" "$WORK/ws.err"; then
    pass "$what: the kernel started before ($kernel_id) runs a cell after the return (x = $r)"
  else
    fail "$what: the kernel after the return: $(cat "$WORK/ws.err") $r"
  fi
  if [ "$(session_field tunnel_pid)" = "$tunnel_pid" ] && pid_alive "$tunnel_pid"; then
    pass "$what: still the same tunnel process ($tunnel_pid)"
  else
    fail "$what: the tunnel process changed: $tunnel_pid -> $(session_field tunnel_pid)"
  fi
}

# The session's URL, token and tunnel after a jl up.
session_vars() {
  url=$(printf '%s\n' "$OUT" | tail -n 1)
  base=${url%%\?*}
  base=${base%/}
  case $base in */tree | */lab) base=${base%/*} ;; esac
  session_field token >"$token_file"
  printf 'Authorization: token %s\n' "$(cat "$token_file")" >"$HDR"
  tunnel_pid=$(session_field tunnel_pid)
  local_port=$(session_field local_port)
}

reset_container "$C"

log "== jl up over the link (+25 ms each way, 50 ms RTT), a kernel through the tunnel"
run_jln -H jl-link up "$C" --no-browser
expect_rc 0 "jl up inside the namespace"
session_vars
expect_eq "$(in_ns curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$HDR" "$base/api/status")" 200 \
  "the tunnel answers on 127.0.0.1:$local_port inside the namespace"
expect_eq "$(readlink "/proc/$tunnel_pid/ns/net")" "$(ip netns exec "$NS" readlink /proc/self/ns/net)" \
  "the tunnel process runs in $NS"
if pid_alive "$tunnel_pid"; then pass "the tunnel process ($tunnel_pid) runs"; else fail "no tunnel process"; fi
rm -f "$kernel_file"
if r=$(in_ns python3 "$here/kernel_ws.py" "$base" "$token_file" "x = 1 + 1; x" 2 "$kernel_file" 2>"$WORK/ws.err"); then
  pass "1+1 = $r over the kernel's websocket through the tunnel"
else
  fail "kernel before the cut: $(cat "$WORK/ws.err") $r"
fi
kernel_id=$(cat "$kernel_file" 2>/dev/null)

log "== 1a. the link cut for ${CUT_SECS}s (ip link set $VETH_NS down), then back"
log_mark
in_ns ip link set "$VETH_NS" down
cut=$(now)
sleep 2
expect_eq "$(in_ns curl -s -o /dev/null -m 3 -w '%{http_code}' -H "@$HDR" "$base/api/status" 2>/dev/null)" 000 \
  "while the link is down nothing comes back (no hang past the request's limit)"
sleep "$(awk -v a="$cut" -v b="$(now)" -v c="$CUT_SECS" 'BEGIN { d = c - (b - a); print (d > 0 ? d : 0) }')"
in_ns ip link set "$VETH_NS" up
# Taking the link down removed its routes; its address stays, and bringing it up restores the
# connected route. Check it, and put it back should it be missing (there is no default route).
if ! in_ns ip -4 addr show dev "$VETH_NS" | grep -q "inet $NS_ADDR/30"; then
  log "  the address was gone after the link came up: added back"
  in_ns ip addr add "$NS_ADDR/30" dev "$VETH_NS"
fi
if ! in_ns ip -4 route show dev "$VETH_NS" | grep -q '^10\.231\.1\.0/30'; then
  log "  the connected route was gone after the link came up: added back"
  in_ns ip route add 10.231.1.0/30 dev "$VETH_NS" src "$NS_ADDR"
fi
back=$(now)
log "  the link is back after $(elapsed "$cut" "$back")s down"
check_back "after the link came back" "$back"
show_log "during the cut and after"

log "== 1b. the path cut for ${CUT_SECS}s by iptables (DROP of everything on $VETH_NS, both ways), then back"
# Bringing the link up makes address events (IPv6 link-local among them) that have the tunnel
# check its connection: let that end, so that this cut is found by the tunnel's own keepalive.
sleep 5
log_mark
in_ns iptables -I INPUT -i "$VETH_NS" -j DROP
in_ns iptables -I OUTPUT -o "$VETH_NS" -j DROP
cut=$(now)
sleep "$CUT_SECS"
in_ns iptables -D INPUT -i "$VETH_NS" -j DROP
in_ns iptables -D OUTPUT -o "$VETH_NS" -j DROP
back=$(now)
expect_eq "$(in_ns iptables -S | grep -c -- '-j DROP')" 0 "the DROP rules are removed"
log "  the path is back after $(elapsed "$cut" "$back")s cut"
check_back "after the DROP rules went" "$back"
show_log "during the cut and after"

log "== 2. the tunnel process stopped for ${CUT_SECS}s (SIGSTOP, like a laptop's suspend), then SIGCONT"
log_mark
kill -STOP "$tunnel_pid"
sleep "$CUT_SECS"
kill -CONT "$tunnel_pid"
back=$(now)
check_back "after SIGCONT" "$back"
show_log "while stopped and after"

log "== 3. 150 ms RTT (+75 ms each way) and 1% loss both ways: a download of $BIG bytes"
log_mark
run_jln stop "$C"
expect_rc 0 "jl stop"
# jl stop returns once the tunnel has let go of its session (its lock): nothing is served any
# more. The process itself then ends its SSH connection, which over this link takes a moment.
expect_eq "$(in_ns curl -s -o /dev/null -m 3 -w '%{http_code}' "$base/api/status" 2>/dev/null)" 000 \
  "after jl stop nothing answers on the local port"
gone_after=
for i in $(seq 0 50); do
  if ! pid_alive "$tunnel_pid"; then gone_after=$((i / 10)).$((i % 10)); break; fi
  sleep 0.1
done
if [ -n "$gone_after" ]; then
  pass "the tunnel process ($tunnel_pid) ended ${gone_after}s after jl stop returned"
else
  fail "the tunnel process ($tunnel_pid) still runs 5 s after jl stop"
  show_log "after jl stop"
  kill "$tunnel_pid"
fi
reset_container "$C"
run_jln -H jl-link-slow up "$C" --no-browser
expect_rc 0 "jl up over the slow link"
session_vars
expect_eq "$(in_ns curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$HDR" "$base/api/status")" 200 \
  "the tunnel answers over the slow link"
on_exit "docker exec $C rm -f /tmp/jl-link.bin"
docker exec "$C" sh -c "head -c $BIG /dev/urandom >/tmp/jl-link.bin"
remote_sum=$(docker exec "$C" sha256sum /tmp/jl-link.bin | cut -d' ' -f1)
in_ns iptables -A INPUT -i "$VETH_NS" -m statistic --mode random --probability 0.01 -j DROP
in_ns iptables -A OUTPUT -o "$VETH_NS" -m statistic --mode random --probability 0.01 -j DROP
log_mark
start=$(now)
# CTest gives the suite 600 s: the download may take what is left of them, less a margin.
limit=$((570 - SECONDS))
if [ "$limit" -lt 60 ]; then limit=60; fi
log "  the download may take up to ${limit}s"
# shellcheck disable=SC2016  # expanded by bash inside the namespace
in_ns bash -c 'curl -s -m "$4" -H "@$1" "$2" | sha256sum | cut -d" " -f1 >"$3"; echo "${PIPESTATUS[0]}" >"$3.rc"' \
  bash "$HDR" "$base/files/tmp/jl-link.bin" "$WORK/big" "$limit" &
download=$!

log "== 4. jl status inside the namespace while the download runs"
sleep 2
run_jln status
expect_rc 0 "jl status during the download"
expect_contains "$(printf '%s\n' "$OUT" | grep -w "$C")" "yes" "it says the server answers"
if ! pid_alive "$download"; then log "  (the download had already ended when jl status ran)"; fi

wait "$download"
secs=$(elapsed "$start" "$(now)")
mib_s=$(awk -v b="$BIG" -v s="$secs" 'BEGIN { printf "%.1f", b / 1048576 / s }')
gib_min=$(awk -v b="$BIG" -v s="$secs" 'BEGIN { printf "%.1f", 1073741824 / (b / s) / 60 }')
dropped=$(in_ns iptables -nvx -L INPUT | awk '/statistic/ { print $1 }')
dropped_out=$(in_ns iptables -nvx -L OUTPUT | awk '/statistic/ { print $1 }')
log "  measured: $BIG bytes in ${secs}s = ${mib_s} MiB/s (1 GiB would take ${gib_min} min); packets dropped: ${dropped:-?} in, ${dropped_out:-?} out"
curl_rc=$(cat "$WORK/big.rc" 2>/dev/null)
case $curl_rc in
  0) pass "the download completed (curl exit 0)" ;;
  28) fail "the download did not finish within its ${limit}s (curl exit 28; JL_LINK_BYTES makes it smaller)" ;;
  *) fail "the download failed: curl exit ${curl_rc:-?}" ;;
esac
expect_eq "$(cat "$WORK/big" 2>/dev/null)" "$remote_sum" "the download arrives intact (sha256 at both ends)"
if [ "${dropped:-0}" -gt 0 ] && [ "${dropped_out:-0}" -gt 0 ]; then
  pass "the loss was real: packets dropped both ways"
else
  fail "no packet was dropped (${dropped:-?} in, ${dropped_out:-?} out): the loss rules did not act"
fi
show_log "during the download"
if new_log_lines | grep -Eq "$RECONNECT_WORDS"; then
  fail "the tunnel reconnected during the download: $(new_log_lines | grep -E "$RECONNECT_WORDS" | head -n 3)"
else
  pass "no reconnect during the download"
fi
if [ "$(session_field tunnel_pid)" = "$tunnel_pid" ] && pid_alive "$tunnel_pid"; then
  pass "the same tunnel process ($tunnel_pid) throughout"
else
  fail "the tunnel process changed: $tunnel_pid -> $(session_field tunnel_pid)"
fi
in_ns iptables -D INPUT -i "$VETH_NS" -m statistic --mode random --probability 0.01 -j DROP
in_ns iptables -D OUTPUT -o "$VETH_NS" -m statistic --mode random --probability 0.01 -j DROP
docker exec "$C" rm -f /tmp/jl-link.bin

run_jln stop "$C"
expect_rc 0 "jl stop"
log "  the suite took ${SECONDS}s"
finish
