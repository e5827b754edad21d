#!/usr/bin/env bash
# The state file: corrupt files are set aside, not fatal; sessions pick rules; config precedence.
. "$(dirname "$0")/lib.sh"

mkdir -p "$XDG_STATE_HOME/jl"
printf '{"version": 1, "sessions": [' >"$(state_file)"
run_jl status
expect_rc 0 "status with a corrupt state file still works"
expect_contains "$ERR" "jl: warning:" "it warns"
expect_contains "$ERR" "corrupt" "and says where the file went"
aside=$(ls "$XDG_STATE_HOME/jl/" | grep -c '^state.json.corrupt-')
expect_eq "$aside" 1 "the corrupt file is set aside"

printf '{"version": 99, "sessions": []}' >"$(state_file)"
run_jl status
expect_rc 0 "a state file from another version is not fatal"
expect_contains "$ERR" "version 99" "and the warning names the version"

log "== host from the config file, then JL_HOST, then -H"
C=jltb-root
reset_container "$C"
mkdir -p "$XDG_CONFIG_HOME/jl"
printf '{"host": "jl-testbed", "colour": "blue"}\n' >"$XDG_CONFIG_HOME/jl/config.json"
run_jl start "$C"
expect_rc 0 "start with the host from config.json"
expect_contains "$ERR" 'unknown key "colour"' "unknown config keys are warned about"
expect_eq "$(session_field host)" jl-testbed "the session records the config's host"
JL_HOST=no-such-host.invalid run_jl status
expect_rc 0 "status with JL_HOST naming another host"
expect_contains "$OUT" "no known sessions" "JL_HOST narrows the sessions to that host"
JL_HOST=no-such-host.invalid run_jl -H jl-testbed status
expect_contains "$OUT" "$C" "-H wins over JL_HOST"

log "== two sessions: commands without CONTAINER must ask"
reset_container jltb-user
run_jlh start jltb-user
expect_rc 0 "second session"
run_jl stop
expect_rc 2 "stop without CONTAINER and two sessions"
expect_contains "$ERR" "jl-testbed/jltb-root" "lists the first"
expect_contains "$ERR" "jl-testbed/jltb-user" "lists the second"
run_jl stop --all
expect_rc 0 "stop --all"
expect_eq "$(session_count)" 0 "all sessions forgotten"
n=$(jupyter_count jltb-root)
expect_eq "$n" 0 "no Jupyter left in jltb-root"
n=$(jupyter_count jltb-user)
expect_eq "$n" 0 "no Jupyter left in jltb-user"
finish
