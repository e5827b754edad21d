#!/usr/bin/env bash
# A second factor on a real terminal: the bed's PAM sshd asks for a password, then a one-time
# code (TOTP, pam_oath; oathtool makes the codes). jl asks both on the pty and the session
# starts; without a terminal it says that answers must be typed; the background tunnel never
# asks: after a drop that needs a new login, it gives up, `jl status` says so, and `jl open`
# logs in again. pam_oath refuses a code used before, so each login uses the next step's code.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"
cfg=$WORK/ssh_config
printf 'Host otp\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  UserKnownHostsFile %s\n' \
  "$JL_TESTBED_PORT_OTP" "$JL_TESTBED_OTP_USER" "$JL_TESTBED_KNOWN_HOSTS" >"$cfg"
step=0
code_cmd() { # the code for 30 s x STEP from now (each login takes a later one)
  printf '$ oathtool --totp -N "+%s seconds" -d 6 %s' "$((30 * $1))" "$(cat "$JL_TESTBED_OTP_SECRET")"
}
dialog() { # jl ARGS... on a pty, answering the password and the next code
  step=$((step + 1))
  DIALOG=$(python3 "$(dirname "$0")/pty_dialog.py" 40 '[Pp]assword: ' "$JL_TESTBED_OTP_PASSWORD" \
    '[Oo]ne-time password[^:]*: ' "$(code_cmd "$step")" -- "$JL_BIN" -F "$cfg" "$@")
  DIALOG_RC=$?
  log "$(printf '%s\n' "$DIALOG" | sed 's/^/    pty| /')"
}
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }

log "== the oracle: ssh without a terminal cannot log in"
timeout 20 ssh -F "$cfg" -o BatchMode=yes otp true </dev/null >"$WORK/ssh.out" 2>&1
expect_eq "$?" 255 "ssh -o BatchMode=yes fails"
expect_contains "$(cat "$WORK/ssh.out")" "keyboard-interactive" "the server wants keyboard-interactive"

log "== without a terminal"
run_jl_raw -F "$cfg" -H otp start "$C" --app server
expect_rc 3 "jl start without a terminal fails at SSH"
expect_contains "$ERR" "needs answers (keyboard-interactive) typed at a terminal" "it says answers must be typed"
expect_contains "$ERR" "one-time code" "and names the one-time code"
expect_error_shape "no terminal"

log "== on a terminal: a password, then a one-time code"
dialog -H otp up "$C" --app server --no-browser
expect_eq "$DIALOG_RC" 0 "jl asked for both (password, then code)"
expect_contains "$DIALOG" "EXIT 0" "jl up succeeded"
expect_contains "$DIALOG" "One-time password" "the code was asked on the terminal"
url=$(printf '%s\n' "$DIALOG" | grep -o 'http://127.0.0.1:[0-9]*/[^ ]*token=[0-9a-f]*' | tail -n 1 | tr -d '\r')
base=${url%%\?*}; base=${base%/}
printf 'Authorization: token %s\n' "$(session_field token)" >"$WORK/hdr"
expect_eq "$(get "$base/api/status")" 200 "the URL answers through the tunnel"
tp=$(session_field tunnel_pid)

log "== the tunnel's connection dropped: it may not ask, so it gives up"
for port in $(ss -Htnp state established "dport = :$JL_TESTBED_PORT_OTP" | grep "pid=$tp," |
  awk '{ print $3 }' | sed 's/.*://'); do
  ss -Htnp state established "sport = :$JL_TESTBED_PORT_OTP and dport = :$port" |
    grep -o 'pid=[0-9]*' | cut -d= -f2
done | sort -u | xargs -r kill
for _ in $(seq 40); do pid_alive "$tp" || break; sleep 0.25; done
if pid_alive "$tp"; then fail "the tunnel still runs 10 s after the drop"; else pass "the tunnel ended instead of asking"; fi
expect_contains "$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log)" "typed at a terminal" "its log says why"
run_jl_raw -F "$cfg" -H otp status
expect_contains "$OUT" "closed, it gave up" "jl status says the tunnel gave up"
expect_contains "$OUT" "jl open\` logs in again" "and what to do"

log "== jl open logs in again (next code)"
dialog -H otp open "$C" --no-browser
expect_eq "$DIALOG_RC" 0 "jl open asked for the password and a new code"
expect_contains "$DIALOG" "EXIT 0" "jl open succeeded"
expect_eq "$(get "$base/api/status")" 200 "the same URL answers again"
run_jl_raw -F "$cfg" -H otp status --json
expect_contains "$OUT" '"alive": true' "status shows the tunnel alive"
dialog -H otp stop "$C"
expect_contains "$DIALOG" "EXIT 0" "stop, on a terminal"

finish
