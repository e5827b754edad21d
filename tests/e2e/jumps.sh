#!/usr/bin/env bash
# ProxyJump in process: jl up through one and two jump hosts (each hop a libssh session over a
# channel of the hop before it; no ssh process), with each hop's own host key and login. The
# tunnel survives the sshd process of each hop being killed, reconnecting through the whole
# chain; a hop that cannot reach the next host is named.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"
cfg=$WORK/ssh_config
printf '[127.0.0.1]:%s %s\n' "$JL_TESTBED_PORT" "$(cut -d' ' -f1,2 "$JL_TESTBED_HOSTKEY_PUB")" >"$WORK/kh"
: >"$WORK/kh_empty"
{
  # a port nothing listens on, behind the bastion (first value wins: before the common block)
  printf 'Host nowhere\n  ProxyJump bastion\n  Port 1\n'
  for h in bastion inner; do
    printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n' \
      "$h" "$JL_TESTBED_PORT" "$JL_TESTBED_USERKEY"
    printf '  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile %s\n' "$WORK/kh"
  done
  # the target's own entry: reached only through the jumps
  printf 'Host gpu1 gpu2 unknown-hop nowhere\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT"
  printf '  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_USERKEY" "$WORK/kh"
  printf 'Host gpu1\n  ProxyJump bastion\n'
  printf 'Host gpu2\n  ProxyJump bastion,inner\n'
  # a hop whose key is in no known_hosts file: its own check refuses it
  printf 'Host unknown-hop\n  ProxyJump strange\n'
  printf 'Host strange\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n' \
    "$JL_TESTBED_PORT" "$JL_TESTBED_USERKEY"
  printf '  BatchMode yes\n  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n' "$WORK/kh_empty"
} >"$cfg"

# The sshd processes serving a process's connections to the bed's port.
served_by() {
  local port
  for port in $(ss -Htnp state established "dport = :$JL_TESTBED_PORT" | grep "pid=$1," |
    awk '{ print $3 }' | sed 's/.*://'); do
    ss -Htnp state established "sport = :$JL_TESTBED_PORT and dport = :$port" |
      grep -o 'pid=[0-9]*' | cut -d= -f2
  done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }

log "== the oracle: ssh reaches both"
for h in gpu1 gpu2; do
  timeout 30 ssh -F "$cfg" "$h" true </dev/null >/dev/null 2>&1
  expect_eq "$?" 0 "ssh $h (ProxyJump) logs in"
done

log "== jl up through two jumps, no ssh process"
run_jl_raw -v -F "$cfg" -H gpu2 up "$C" --no-browser --app server
expect_rc 0 "jl up through bastion and inner"
expect_contains "$ERR" "2 jump host(s) in" "-v tells the chain was made in process"
expect_not_contains "$(pgrep -a ssh | grep -v sshd || true)" "-W" "no ssh -W process"
url=$(printf '%s\n' "$OUT" | tail -n 1)
base=${url%%\?*}; base=${base%/}
printf 'Authorization: token %s\n' "$(session_field token)" >"$WORK/hdr"
expect_eq "$(get "$base/api/status")" 200 "the URL answers through the tunnel"
tp=$(session_field tunnel_pid)
expect_eq "$(pgrep -P "$tp" | wc -l | tr -d ' ')" 0 "the tunnel process has no child process"
h1=$(served_by "$tp"); h2=$(served_by "$h1"); h3=$(served_by "$h2")
if [ -n "$h1" ] && [ -n "$h2" ] && [ -n "$h3" ]; then
  pass "the chain: tunnel $tp -> bastion's sshd $h1 -> inner's sshd $h2 -> target's sshd $h3"
else
  fail "the chain is not tunnel -> 3 sshd processes: '$h1' '$h2' '$h3'"
fi

log "== the bastion's sshd process killed"
kill $h1
sleep 5
expect_eq "$(get "$base/api/status")" 200 "5 s later the same URL answers"
if pid_alive "$tp"; then pass "the same tunnel process ($tp) reconnected"; else fail "the tunnel died"; fi
h1=$(served_by "$tp"); h2=$(served_by "$h1")
log "== the inner hop's sshd process killed"
if [ -n "$h2" ]; then kill $h2; else fail "no sshd for the inner hop"; fi
sleep 5
expect_eq "$(get "$base/api/status")" 200 "5 s later the same URL answers"
expect_eq "$(grep -c 'reconnected' "$XDG_STATE_HOME"/jl/tunnels/*.log)" 2 "the tunnel log tells of two reconnects"
run_jl_raw -F "$cfg" -H gpu2 status --json
expect_contains "$OUT" '"container": "jltb-root"' "status works through the chain"
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
