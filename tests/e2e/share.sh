#!/usr/bin/env bash
# Connection sharing: while a tunnel to a host lives, every jl command for that host runs over
# the tunnel process's SSH connection (its control socket in $XDG_RUNTIME_DIR/jl), and a second
# session's tunnel is served by the same process. Checked against the sshd log (a login is an
# "Accepted" line), the processes on this machine, and the files. A master that is killed,
# stopped or whose socket is replaced or not this user's is never worse than no master: jl
# connects itself. With a second factor, sharing means one prompt for everything.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

export XDG_CACHE_HOME=$WORK/cache  # completion's container cache: a hit would prove nothing
A=cont1
B=jltb-root
reset_container "$A"
reset_container "$B"
logins() { grep -c 'Accepted publickey' "$JL_TESTBED_DIR/sshd.log"; }
rundir=$XDG_RUNTIME_DIR/jl
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr-$1" "$2"; }
base_of() { # the local base URL of a session, from the state file
  python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["sessions"]:
    if s["container"] == sys.argv[2]:
        print("http://127.0.0.1:%d%s" % (s["local_port"], s["base_url"]))' "$(state_file)" "$1"
}
field_of() {
  python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["sessions"]:
    if s["container"] == sys.argv[2]:
        print(s[sys.argv[3]])' "$(state_file)" "$1" "$2"
}
token_header() { printf 'Authorization: token %s\n' "$(field_of "$1" token)" >"$WORK/hdr-$1"; }

log "== the first jl up makes the connection, and its tunnel shares it"
before=$(logins)
run_jlh up "$A" --no-browser
expect_rc 0 "jl up $A"
expect_eq "$(($(logins) - before))" 1 "one login for jl up"
master=$(field_of "$A" tunnel_pid)
sock=$(find "$rundir" -name "*.sock" | head -n 1)
if [ -S "$sock" ]; then pass "a control socket in \$XDG_RUNTIME_DIR/jl"; else fail "no control socket in $rundir"; fi
expect_eq "$(stat -c '%a %U' "$rundir")" "700 root" "its directory is 0700 and the user's"
expect_eq "$(stat -c '%a %U' "$sock")" "600 root" "the socket is 0600 and the user's"
expect_contains "$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log)" "sharing the connection" "the tunnel log says it shares"

log "== with the tunnel alive, every command runs over its connection: no new login"
before=$(logins)
run_jlh -v status
expect_rc 0 "jl status"
expect_contains "$ERR" "sharing the SSH connection of jl's tunnel (pid $master)" "status says whose connection it uses"
expect_contains "$ERR" "via the host (a kept channel): GET" "its server check used a channel the master kept open"
expect_contains "$OUT" "$A" "status lists the session"
run_jlh logs "$A"
expect_rc 0 "jl logs"
expect_contains "$OUT" "Jupyter" "logs shows Jupyter's log"
run_jlh -v up "$B" --no-browser
expect_rc 0 "jl up $B (another container)"
expect_contains "$ERR" "(asked from inside the container)" "the start script checked that Jupyter answers"
expect_eq "$(field_of "$B" tunnel_pid)" "$master" "the second tunnel is served by the same process"
run_jlh doctor "$A"
expect_contains "$OUT" "connection of jl's tunnel (pid $master)" "doctor says the tunnel's connection was used"
expect_not_contains "$OUT" "FAIL" "doctor finds nothing failing"
run_jlh __complete containers
expect_contains "$OUT" "$B" "completion lists the running containers"
run_jlh -q ls
expect_rc 0 "jl ls"
expect_eq "$(($(logins) - before))" 0 "status, logs, up of another container, doctor, completion: no login"
expect_eq "$(pgrep -fc "^$JL_BIN .*up $B")" 0 "no tunnel process of its own for $B"
token_header "$A"
token_header "$B"
expect_eq "$(get "$A" "$(base_of "$A")api/status")" 200 "$A answers through its tunnel"
expect_eq "$(get "$B" "$(base_of "$B")api/status")" 200 "$B answers through its tunnel"
ps -eo args= >"$WORK/ps"
expect_not_contains "$(cat "$WORK/ps")" "$(field_of "$B" token)" "no token in any argv"

log "== closing one tunnel leaves the other served"
run_jlh close "$A"
expect_rc 0 "jl close $A"
expect_eq "$(get "$A" "$(base_of "$A")api/status")" 000 "$A's local port is closed"
expect_eq "$(get "$B" "$(base_of "$B")api/status")" 200 "$B still answers"
if pid_alive "$master"; then pass "the tunnel process lives on for $B"; else fail "the tunnel process ended"; fi
before=$(logins)
run_jlh stop "$B"
expect_rc 0 "jl stop $B, over the shared connection"
expect_eq "$(($(logins) - before))" 0 "no login for stop"
for _ in $(seq 40); do pid_alive "$master" || break; sleep 0.1; done
if pid_alive "$master"; then fail "the tunnel process outlives its last tunnel"; else pass "with no tunnel left, the process ends"; fi
if [ -e "$sock" ]; then fail "its socket is left behind"; else pass "its socket is gone"; fi
helped=$(sed -n 's/.* \([0-9][0-9]*\) of them scripts on the shell helper.*/\1/p' "$XDG_STATE_HOME"/jl/tunnels/*.log | tail -n 1)
if [ "${helped:-0}" -gt 0 ]; then pass "the master ran $helped scripts on its shell helper"; else fail "no script ran on the shell helper"; fi
ahead=$(sed -n 's/.* \([0-9][0-9]*\) commands on a channel opened ahead.*/\1/p' "$XDG_STATE_HOME"/jl/tunnels/*.log | tail -n 1)
if [ "${ahead:-0}" -gt 0 ]; then pass "$ahead commands (up's probe) took a channel the master opened ahead"; else fail "no command used a channel opened ahead"; fi

# A master that cannot serve: the command connects itself, as if there were none.
fresh_master() {
  run_jlh up "$A" --no-browser
  master=$(field_of "$A" tunnel_pid)
  sock=$(find "$rundir" -name "*.sock" | head -n 1)
}
works_alone() { # WHAT: jl status works, with a login of its own, in good time
  local what=$1 b
  b=$(logins)
  run_jlh status
  expect_rc 0 "jl status with $what"
  expect_within 5 "jl status with $what"
  expect_eq "$(($(logins) - b))" 1 "with $what, jl status logs in itself"
}

log "== a stopped master (SIGSTOP)"
fresh_master
kill -STOP "$master"
works_alone "the master stopped"
kill -CONT "$master"
before=$(logins)
run_jlh status
expect_eq "$(($(logins) - before))" 0 "continued, it shares again"

log "== the master's shell helper killed on the host: its scripts go to channels"
expect_contains "$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log)" "the shell helper on the host is ready" \
  "the master started its shell helper"
# With no command running, the only bootstrap on the host is the helper's loop.
helpers=$(pgrep -f '@@jl-boot-1' | tr '\n' ' ')
if [ -n "$helpers" ]; then pass "the helper runs on the host"; else fail "no helper on the host"; fi
# shellcheck disable=SC2086 # one or more pids
kill -KILL $helpers
before=$(logins)
run_jlh status
expect_rc 0 "jl status with the helper gone"
expect_contains "$OUT" "$A" "status lists the session"
expect_contains "$OUT" "yes" "and its server answers"
expect_eq "$(($(logins) - before))" 0 "still over the master's connection"
expect_contains "$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log)" "the shell helper on the host ended" \
  "the tunnel log says the helper ended"

log "== the socket replaced by a plain file"
mv "$sock" "$sock.moved"
printf 'not a socket\n' >"$sock"
works_alone "a plain file in its place"
rm -f "$sock"
mv "$sock.moved" "$sock"

log "== the socket owned by another user"
chown nobody "$sock"
works_alone "the socket not the user's"
chown root "$sock"

log "== a master killed (SIGKILL)"
kill -KILL "$master"
works_alone "the master killed"
run_jlh up "$A" --no-browser
expect_rc 0 "jl up makes a new tunnel, and a new master"
expect_eq "$(get "$A" "$(base_of "$A")api/status")" 200 "$A answers through the new tunnel"
run_jlh stop "$A"
expect_rc 0 "jl stop $A"

log "== a second factor: one prompt for everything while the tunnel lives"
cfg=$WORK/otp_config
printf 'Host otp\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  UserKnownHostsFile %s\n' \
  "$JL_TESTBED_PORT_OTP" "$JL_TESTBED_OTP_USER" "$JL_TESTBED_KNOWN_HOSTS" >"$cfg"
otp_logins() { grep -c 'Accepted keyboard-interactive' "$JL_TESTBED_DIR/sshd_otp.log"; }
code_cmd() { printf '$ oathtool --totp -N "+%s seconds" -d 6 %s' "$((30 * $1))" "$(cat "$JL_TESTBED_OTP_SECRET")"; }
before=$(otp_logins)
DIALOG=$(python3 "$(dirname "$0")/pty_dialog.py" 40 '[Pp]assword: ' "$JL_TESTBED_OTP_PASSWORD" \
  '[Oo]ne-time password[^:]*: ' "$(code_cmd 1)" -- "$JL_BIN" -F "$cfg" -H otp up "$A" --no-browser)
log "$(printf '%s\n' "$DIALOG" | sed 's/^/    pty| /')"
expect_contains "$DIALOG" "EXIT 0" "jl up on a terminal: password and code asked once"
# Without a terminal nothing can be asked: these work only because nothing is.
run_jl_raw -F "$cfg" -H otp status
expect_rc 0 "jl status, no terminal, no prompt"
run_jl_raw -F "$cfg" -H otp up "$B" --no-browser
expect_rc 0 "jl up of another container, no terminal, no prompt"
run_jl_raw -F "$cfg" -H otp logs "$B"
expect_rc 0 "jl logs, no terminal, no prompt"
run_jl_raw -F "$cfg" -H otp stop --all
expect_rc 0 "jl stop --all, no terminal, no prompt"
expect_eq "$(($(otp_logins) - before))" 1 "one login with the second factor in all"

finish
