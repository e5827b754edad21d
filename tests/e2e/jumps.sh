#!/usr/bin/env bash
# ProxyJump in process: jl up through one and two jump hosts (each hop a libssh session over a
# channel of the hop before it; no ssh process), with each hop's own host key and login, to an
# inner host that listens only inside the bed's network namespace, which only the bastion
# reaches. The tunnel survives the sshd process of each hop being killed, reconnecting through
# the whole chain; a hop that cannot reach the next host is named.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"
cfg=$WORK/ssh_config
: >"$WORK/kh_empty"
NS=$JL_TESTBED_NETNS
{
  # the inner host listens only inside the bed's network namespace: only the bastion reaches
  # it; the gateway is the bed's own sshd on the host
  printf 'Host gateway bastion gpu1 gpu2 direct unknown-hop nowhere\n  User root\n  IdentityFile %s\n' \
    "$JL_TESTBED_USERKEY"
  printf '  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_KNOWN_HOSTS"
  printf 'Host gateway\n  HostName 127.0.0.1\n  Port %s\n' "$JL_TESTBED_PORT"
  printf 'Host bastion\n  HostName %s\n' "$JL_TESTBED_BASTION"
  printf 'Host gpu1 gpu2 direct unknown-hop\n  HostName 127.0.0.1\n  Port %s\n' "$JL_TESTBED_INNER_PORT"
  printf 'Host gpu1\n  ProxyJump bastion\n'
  printf 'Host gpu2\n  ProxyJump gateway,bastion\n'
  # a hop whose key is in no known_hosts file: its own check refuses it
  printf 'Host unknown-hop\n  ProxyJump strange\n'
  printf 'Host strange\n  HostName %s\n  User root\n  IdentityFile %s\n' \
    "$JL_TESTBED_BASTION" "$JL_TESTBED_USERKEY"
  printf '  BatchMode yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n' "$WORK/kh_empty"
  # a port nothing listens on, behind the bastion
  printf 'Host nowhere\n  HostName 127.0.0.1\n  Port 1\n  ProxyJump bastion\n'
} >"$cfg"

# The sshd processes serving a process's connections to ADDR:PORT (NS: the namespace the
# server runs in, or "" for the host's).
served_by() { # PID ADDR PORT NS
  local pid=$1 addr=$2 port=$3 ns=$4 p
  for p in $(ss -Htnp state established "dst $addr and dport = :$port" | grep "pid=$pid," |
    awk '{ print $3 }' | sed 's/.*://'); do
    if [ -n "$ns" ]; then
      ip netns exec "$ns" ss -Htnp state established "sport = :$port and dport = :$p"
    else
      ss -Htnp state established "sport = :$port and dport = :$p"
    fi | grep -o 'pid=[0-9]*' | cut -d= -f2
  done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# The same for a process inside the namespace.
served_in_ns() { # PID PORT
  local p
  for p in $(ip netns exec "$NS" ss -Htnp state established "dport = :$2" | grep "pid=$1," |
    awk '{ print $3 }' | sed 's/.*://'); do
    ip netns exec "$NS" ss -Htnp state established "sport = :$2 and dport = :$p" |
      grep -o 'pid=[0-9]*' | cut -d= -f2
  done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }

log "== the bed: the inner host is out of reach but through the bastion"
timeout 10 ssh -F "$cfg" direct true </dev/null >/dev/null 2>&1
expect_eq "$?" 255 "ssh to the inner host without a jump fails"
run_jl_raw -F "$cfg" -H direct start "$C" --app server
expect_rc 3 "and so does jl"
log "== the oracle: ssh reaches both"
for h in gpu1 gpu2; do
  timeout 30 ssh -F "$cfg" "$h" true </dev/null >/dev/null 2>&1
  expect_eq "$?" 0 "ssh $h (ProxyJump) logs in"
done

log "== jl up through two jumps (gateway, bastion), no ssh process"
run_jl_raw -v -F "$cfg" -H gpu2 up "$C" --no-browser --app server
expect_rc 0 "jl up through gateway and bastion"
expect_contains "$ERR" "2 jump host(s) in" "-v tells the chain was made in process"
expect_not_contains "$(pgrep -a ssh | grep -v sshd || true)" "-W" "no ssh -W process"
url=$(printf '%s\n' "$OUT" | tail -n 1)
base=${url%%\?*}; base=${base%/}
printf 'Authorization: token %s\n' "$(session_field token)" >"$WORK/hdr"
expect_eq "$(get "$base/api/status")" 200 "the URL answers through the tunnel"
tp=$(session_field tunnel_pid)
expect_eq "$(pgrep -P "$tp" | wc -l | tr -d ' ')" 0 "the tunnel process has no child process"
chain() {
  g=$(served_by "$tp" 127.0.0.1 "$JL_TESTBED_PORT" "")
  b=$(served_by "$g" "$JL_TESTBED_BASTION" 22 "$NS")
  t=$(served_in_ns "$b" "$JL_TESTBED_INNER_PORT")
}
chain
if [ -n "$g" ] && [ -n "$b" ] && [ -n "$t" ]; then
  pass "the chain: tunnel $tp -> gateway's sshd $g -> bastion's sshd $b -> inner host's sshd $t"
else
  fail "the chain is not tunnel -> 3 sshd processes: '$g' '$b' '$t'"
fi

log "== the bastion's sshd process killed"
[ -n "$b" ] && kill $b
sleep 5
expect_eq "$(get "$base/api/status")" 200 "5 s later the same URL answers"
if pid_alive "$tp"; then pass "the same tunnel process ($tp) reconnected"; else fail "the tunnel died"; fi
log "== the gateway's sshd process killed"
chain
if [ -n "$g" ]; then kill $g; else fail "no sshd for the gateway"; fi
sleep 5
expect_eq "$(get "$base/api/status")" 200 "5 s later the same URL answers"
expect_eq "$(grep -c 'reconnected' "$XDG_STATE_HOME"/jl/tunnels/*.log)" 2 "the tunnel log tells of two reconnects"
chain
if [ -n "$t" ]; then pass "a whole new chain: $g -> $b -> $t"; else fail "no chain after the reconnects"; fi
run_jl_raw -F "$cfg" -H gpu2 status --json
expect_contains "$OUT" '"container": "jltb-root"' "status works through the chain"
run_jl_raw -F "$cfg" -H gpu2 close --all
run_jl_raw -F "$cfg" -H gpu2 stop "$C"
expect_rc 0 "stop through the chain"

log "== one jump, and without OpenSSH's client on PATH"
nossh=$WORK/nossh
mkdir -p "$nossh"
for tool in docker python3 sh bash cat timeout; do
  p=$(command -v "$tool") && ln -sf "$p" "$nossh/$tool"
done
PATH=$nossh run_jl_raw -F "$cfg" -H gpu1 start "$C" --app server
expect_rc 0 "start through bastion with jl's own config reader"
PATH=$nossh run_jl_raw -F "$cfg" -H gpu1 stop "$C"
expect_rc 0 "and stop"

log "== failures name the hop"
run_jl_raw -F "$cfg" -H unknown-hop start "$C" --app server
expect_rc 3 "a jump host with an unknown key is refused"
expect_contains "$ERR" "through ProxyJump strange" "the error names the hop"
expect_contains "$ERR" "host key" "and that its host key is the problem"
run_jl_raw -F "$cfg" -H nowhere start "$C" --app server
expect_rc 3 "a jump host that cannot reach the next host"
expect_contains "$ERR" "the jump host bastion cannot connect to 127.0.0.1:1" "names the hop and the address"
expect_error_shape "nowhere"

finish
