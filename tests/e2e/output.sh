#!/usr/bin/env bash
# Output contracts: --json on every command that prints (parsed, with the documented fields),
# -q prints only what scripts need, the spinner and colour appear only on a terminal, and
# NO_COLOR turns colour off.
. "$(dirname "$0")/lib.sh"

C=jltb-root
reset_container "$C"

# Checks that $OUT is one JSON document with the given top-level keys (or, for an array, that
# every element has them). Prints nothing; exit status says.
json_has() {
  printf '%s' "$OUT" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
keys = sys.argv[1:]
items = doc if isinstance(doc, list) else [doc]
if not items:
    sys.exit("empty array")
for item in items:
    missing = [k for k in keys if k not in item]
    if missing:
        sys.exit("missing: %s" % missing)
' "$@"
}
expect_json() {
  local what=$1
  shift
  if err=$(json_has "$@" 2>&1); then pass "$what: JSON with $*"; else fail "$what: $err"; fi
}

log "== --json on every command"
run_jlh --json start "$C" --app server
expect_rc 0 "start --json"
expect_json "start" host container app server_version address port pid base_url token started_at started_by_jl reused
expect_not_contains "$OUT" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"][0]["token"])' "$(state_file)")" \
  "start --json masks the token"
run_jlh --json status
expect_json "status" host container app server_version address port pid started_at answers state detail token tunnel
run_jlh --json open "$C" --no-browser
expect_rc 0 "open --json"
expect_json "open" url local_port container host tunnel_pid tunnel_reused browser
run_jlh --json up "$C" --no-browser --app server
expect_rc 0 "up --json"
expect_json "up" url local_port container host tunnel_pid tunnel_reused browser server
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; s=json.load(sys.stdin)["server"]; print(s["container"], s["reused"], s["port"] > 0)')" \
  "$C True True" "up --json also describes the server it reused"
run_jlh --json forward "$C:8888"
expect_rc 0 "forward --json"
expect_json "forward" local_port target host pid
run_jlh --json close --all
expect_rc 0 "close --json"
expect_json "close" host closed
run_jlh --json config show "$C"
expect_json "config show" config_file config_file_exists container unknown_keys settings
run_jlh --json config path
expect_json "config path" config_file

log "== -q prints only what scripts need"
run_jlh -q open "$C" --no-browser
expect_rc 0 "open -q"
expect_eq "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1 "open -q prints one line"
case $OUT in http://127.0.0.1:*) pass "and it is the URL" ;; *) fail "open -q printed: $OUT" ;; esac
run_jlh -q status
expect_eq "$(printf '%s\n' "$OUT" | awk -F'\t' '{print $1, $2, $3}')" "jl-testbed $C yes" \
  "status -q: host, container, answers (tab-separated)"
run_jlh -q close "$C"
expect_eq "$OUT" "" "close -q prints nothing"
run_jlh -q start "$C"
expect_eq "$OUT$ERR" "" "start -q prints nothing"

log "== the spinner and colour only on a terminal"
on_tty() {
  # Runs jl on a pseudo-terminal (stdout and stderr both), prints what the terminal showed.
  timeout -k 5 60 script -qec "$(printf '%q ' "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" "$@")" /dev/null </dev/null
}
reset_container "$C"
tty_out=$(on_tty start "$C" --app server 2>&1)
log "$(printf '%s' "$tty_out" | cat -v | sed 's/^/    tty| /')"
case $tty_out in *$'\r\033[K'*"starting Jupyter server in $C"*s*) pass "the spinner shows what jl waits for, with seconds" ;;
  *) fail "no spinner on a terminal" ;; esac
run_jlh stop "$C"
reset_container "$C"
run_jlh start "$C" --app server
expect_not_contains "$ERR" $'\033' "no escape sequences on stderr when it is not a terminal"
expect_not_contains "$OUT" $'\033' "nor on stdout"
run_jlh --json status
expect_not_contains "$OUT" $'\033' "nor in JSON"

tty_err=$(on_tty start no_such_container! 2>&1)
case $tty_err in *$'\033[1;31mjl: error:'*) pass "errors are red on a terminal" ;; *) fail "no colour on a terminal: $(printf '%s' "$tty_err" | cat -v)" ;; esac
tty_err=$(NO_COLOR=1 on_tty start no_such_container! 2>&1)
expect_not_contains "$tty_err" $'\033[' "NO_COLOR: no colour on a terminal"
expect_contains "$tty_err" "jl: error:" "but the error itself is there"

run_jlh --json stop "$C"
expect_rc 0 "stop --json"
expect_json "stop" host container stopped how
finish
