#!/usr/bin/env bash
# Remote commands under every login shell: for each host user of the bed (dash, bash, zsh, ksh,
# fish, tcsh, csh, each with startup files that print on stdout and stderr; nologin and
# git-shell, which refuse), OpenSSH decides whether the account runs commands, and jl must
# work exactly there: up, status, logs, doctor and stop, with none of the login noise taken
# for output. `up` leaves a tunnel, the host's master, whose shell helper (started through the
# same login shell) then runs status's, logs' and stop's scripts: it must come up under each. Where the shell refuses, jl says that the account cannot run commands, names it,
# and shows what the server printed.
. "$(dirname "$0")/lib.sh"

CONTAINER=jltb-root
reset_container "$CONTAINER"

noise_free() { # TEXT WHAT: none of the startup files' lines is in TEXT
  local t=$1 what=$2 n
  for n in "bashrc:" "zshenv:" "config.fish:" "tcshrc:" "cshrc:" "no newline here"; do
    case $t in *"$n"*) fail "$what: login noise '$n' in the output"; return ;; esac
  done
  pass "$what: no login noise"
}

works=0 refuses=0
for u in jltb-dash jltb-bash jltb-zsh jltb-ksh jltb-fish jltb-tcsh jltb-csh jltb-nologin \
  jltb-gitshell; do
  shell=$(getent passwd "$u" | cut -d: -f7)
  log "== $u ($shell)"
  timeout 30 ssh -F "$JL_TESTBED_SSH_CONFIG" -o BatchMode=yes -l "$u" "$JL_TESTBED_HOST" true \
    </dev/null >"$WORK/ssh.out" 2>&1
  ssh_rc=$?
  host=$u@$JL_TESTBED_HOST
  if [ "$ssh_rc" -eq 0 ]; then
    works=$((works + 1))
    rm -f "$XDG_STATE_HOME"/jl/tunnels/*.log
    run_jl -H "$host" up "$CONTAINER" --app server --no-browser
    expect_rc 0 "$u: ssh runs commands, and jl up works"
    noise_free "$OUT$ERR" "$u: up"
    expect_contains "$OUT" "on $host" "$u: up names the session"
    run_jl -H "$host" status --json
    expect_rc 0 "$u: status"
    expect_contains "$OUT" "\"container\": \"$CONTAINER\"" "$u: status lists the session"
    noise_free "$OUT$ERR" "$u: status"
    run_jl -H "$host" logs "$CONTAINER" -n 5
    expect_rc 0 "$u: logs"
    noise_free "$OUT" "$u: logs"
    run_jl -H "$host" stop "$CONTAINER"
    expect_rc 0 "$u: stop"
    expect_contains "$OUT" "shut down cleanly" "$u: stop shuts Jupyter down"
    noise_free "$OUT$ERR" "$u: stop"
    tlog=$(cat "$XDG_STATE_HOME"/jl/tunnels/*.log 2>/dev/null)
    expect_contains "$tlog" "the shell helper on the host is ready" \
      "$u: the master's shell helper came up under this login shell"
    expect_eq "$(printf '%s\n' "$tlog" | grep 'the shell helper on the host' | grep -v 'is ready')" "" \
      "$u: and it never failed"
  else
    refuses=$((refuses + 1))
    printed=$(grep -v '^Could not chdir' "$WORK/ssh.out" | head -n 1)
    run_jl -H "$host" start "$CONTAINER" --app server
    expect_rc 3 "$u: ssh cannot run commands ($printed), and jl fails at SSH"
    expect_error_shape "$u"
    first=$(printf '%s\n' "$ERR" | head -n 1)
    expect_contains "$first" "the account $u on 127.0.0.1:$JL_TESTBED_PORT cannot run commands" \
      "$u: the error says the account cannot run commands"
    # (git-shell quotes the command it was given: compare up to the quote)
    expect_contains "$first" "${printed%%\'*}" "$u: and shows what the server printed"
    expect_contains "$ERR" "login shell" "$u: the hint points at the login shell"
    run_jl -H "$host" doctor "$CONTAINER"
    expect_contains "$OUT$ERR" "cannot run commands" "$u: doctor says the same"
  fi
done
expect_eq "$works/$refuses" "7/2" "7 shells run commands, 2 refuse, as ssh says"

log "== doctor under tcsh: every remote check runs"
run_jl -H "jltb-tcsh@$JL_TESTBED_HOST" doctor "$CONTAINER"
expect_rc 0 "doctor passes"
expect_contains "$OUT" "docker" "doctor checked docker"
noise_free "$OUT$ERR" "doctor"

finish
