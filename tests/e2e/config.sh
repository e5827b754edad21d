#!/usr/bin/env bash
# The config file: per-host and per-container settings, the docker command, precedence
# (flags > environment > config file > defaults), `jl config show`, and bad files.
. "$(dirname "$0")/lib.sh"

C=jltb-root
CFG=$XDG_CONFIG_HOME/jl/config.json
mkdir -p "$XDG_CONFIG_HOME/jl"
reset_container "$C"

log "== no config file: defaults"
run_jlh config show
expect_rc 0 "config show without a config file"
expect_contains "$OUT" "(not there)" "it says the file is not there"
expect_eq "$(printf '%s\n' "$OUT" | grep -cE '^  docker +docker +default$')" 1 \
  "the docker command defaults to docker"
expect_eq "$(printf '%s\n' "$OUT" | grep -cE '^  image +none \(jl up never creates the container\) +default$')" 1 \
  "no image: jl up never creates a container"

log "== a docker wrapper and a port for one container on one host, from the config file"
# The host is this machine, so a wrapper script here is on the host: it notes each docker
# subcommand jl runs, then runs docker.
WRAP="$WORK/my docker"
mkdir -p "$WRAP"
cat >"$WRAP/wrap" <<'SH'
#!/bin/sh
printf '%s\n' "$1" >>"$(dirname "$0")/calls"
exec docker "$@"
SH
chmod 0755 "$WRAP/wrap"
python3 - "$CFG" "$WRAP/wrap" "$C" <<'PY'
import json, sys
cfg, wrap, cont = sys.argv[1:]
json.dump({
    "app": "notebook",
    "colour": "blue",
    "hosts": {"jl-testbed": {"docker": [wrap], "timeout": 40,
                             "containers": {cont: {"port": 8931}}}},
    "containers": {cont: {"app": "server", "dir": "/tmp"},
                   "cont1": {"port": 8932}},
}, open(cfg, "w"))
PY
run_jlh start "$C"
expect_rc 0 "start with settings from the config file"
expect_contains "$ERR" 'unknown key "colour"' "an unknown key is warned about"
expect_eq "$(session_field port)" 8931 "the port comes from hosts.jl-testbed.containers.$C"
expect_eq "$(session_field app)" server "the app comes from containers.$C (over the top level)"
cwd=$(docker exec "$C" sh -c 'for p in /proc/[0-9]*; do
  case $(tr "\0" " " <"$p/cmdline" 2>/dev/null) in *[j]upyter-server*) readlink "$p/cwd";; esac
done')
expect_contains "$cwd" "/tmp" "the served directory comes from containers.$C.dir"
calls=$(sort -u "$WRAP/calls" 2>/dev/null | tr '\n' ' ')
expect_contains "$calls" "inspect" "the configured docker command ran docker inspect"
expect_contains "$calls" "exec" "and docker exec"

run_jlh --json config show "$C"
expect_rc 0 "config show --json"
origin=$(printf '%s' "$OUT" | python3 -c 'import json,sys; s=json.load(sys.stdin)["settings"]; print(s["port"]["origin"], s["port"]["source"], s["docker"]["origin"], s["app"]["origin"], s["host"]["source"])')
expect_eq "$origin" "hosts.jl-testbed.containers.$C.port config hosts.jl-testbed.docker containers.$C.app flag" \
  "config show names where each setting came from"

: >"$WRAP/calls"
run_jlh stop "$C"
expect_rc 0 "stop"
expect_contains "$(cat "$WRAP/calls")" "exec" "stop also uses the configured docker command"
expect_eq "$(jupyter_count "$C")" 0 "and the server is gone"

log "== the environment beats the file, flags beat the environment"
JL_PORT=8933 run_jlh --json config show "$C"
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; p=json.load(sys.stdin)["settings"]["port"]; print(p["value"], p["source"], p["origin"])')" \
  "8933 env JL_PORT" "JL_PORT overrides the config file"
JL_PORT=8933 run_jlh start "$C" --port 8934 -- --ServerApp.shutdown_no_activity_timeout=0
expect_rc 0 "start with --port and JL_PORT"
expect_eq "$(session_field port)" 8934 "--port beats JL_PORT"
run_jlh stop "$C"

log "== a docker command that is not on the host"
JL_DOCKER="no-such-docker --flag" run_jlh start "$C"
expect_rc 4 "start with a missing docker command"
expect_contains "$ERR" "no-such-docker is not installed" "the error names the configured command"
expect_error_shape "missing docker command"

log "== bad values are usage errors that name the key"
printf '{"hosts": {"jl-testbed": {"port": "8888"}}}' >"$CFG"
run_jlh start "$C"
expect_rc 2 "a port given as a string"
expect_contains "$ERR" '"hosts.jl-testbed.port"' "the error names the key's path"
expect_contains "$ERR" "$CFG" "and the file"
printf '{"docker": "sudo docker; rm -rf /tmp/x"}' >"$CFG"
run_jlh config show
expect_rc 2 "a docker command with shell syntax is refused"
expect_contains "$ERR" "JSON array" "with a hint to use an array"
JL_APP=jupyterlab run_jlh config show
expect_rc 2 "a bad JL_APP"
printf '{}' >"$CFG"
JL_APP=jupyterlab run_jlh config show
expect_rc 2 "a bad JL_APP without a config file either"
expect_contains "$ERR" "JL_APP" "the error names the variable"

finish
