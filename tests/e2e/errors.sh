#!/usr/bin/env bash
# Every error the test bed can produce: a clear "jl: error:" line, the documented exit code,
# within 15 s, and nothing written that should not be.
. "$(dirname "$0")/lib.sh"

cfg=$WORK/ssh_config
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ssh-keygen -q -t ed25519 -N '' -f "$WORK/stranger" -C stranger
ssh-keygen -q -t ed25519 -N '' -f "$WORK/otherhostkey" -C other
: >"$WORK/empty_known_hosts"
printf '[127.0.0.1]:%s %s\n' "$JL_TESTBED_PORT" "$(cut -d' ' -f1,2 "$WORK/otherhostkey.pub")" >"$WORK/changed_known_hosts"
cp "$WORK/changed_known_hosts" "$WORK/changed_known_hosts.orig"
refused_port=$(free_port)
# A TCP server that accepts and never speaks SSH.
python3 -c '
import socket, time, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
conns = []
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try: conns.append(s.accept()[0])
    except socket.timeout: pass
' >"$WORK/silent_port" &
silent=$!
for _ in $(seq 50); do [ -s "$WORK/silent_port" ] && break; sleep 0.1; done
silent_port=$(cat "$WORK/silent_port")
{
  cat "$JL_TESTBED_SSH_CONFIG"
  # Variants of the test bed's host entry, each with one thing wrong.
  ssh_entry refused port="$refused_port"
  ssh_entry silent port="$silent_port"
  ssh_entry badkey identity="$WORK/stranger"
  ssh_entry unknownhost known_hosts="$WORK/empty_known_hosts"
  ssh_entry changedkey known_hosts="$WORK/changed_known_hosts"
} >"$cfg"

jlc() { run_jl_raw -F "$cfg" "$@"; }

log "== DNS failure"
jlc -H no-such-host.invalid start jltb-root
expect_rc 3 "unknown host"; expect_error_shape "unknown host"; expect_within 15 "unknown host"
expect_contains "$ERR" "cannot resolve" "says it cannot resolve the name"

log "== connection refused"
jlc -H refused start jltb-root
expect_rc 3 "refused"; expect_error_shape "refused"; expect_within 15 "refused"
expect_contains "$ERR" "refused" "says refused"

log "== connection that never answers"
jlc -H silent start jltb-root
expect_rc 5 "silent server"; expect_error_shape "silent server"; expect_within 15 "silent server"
expect_contains "$ERR" "timed out" "says timed out"
kill "$silent" 2>/dev/null

log "== authentication failure"
jlc -H badkey start jltb-root
expect_rc 3 "bad key"; expect_error_shape "bad key"; expect_within 15 "bad key"
expect_contains "$ERR" "authentication" "says authentication failed"
expect_contains "$ERR" "tried: publickey" "lists the methods tried"

log "== unknown host key, no terminal"
jlc -H unknownhost start jltb-root
expect_rc 3 "unknown host key"; expect_error_shape "unknown host key"; expect_within 15 "unknown host key"
expect_contains "$ERR" "SHA256:" "shows the fingerprint"
expect_contains "$ERR" "hint:" "hints how to accept it"
expect_eq "$(wc -c <"$WORK/empty_known_hosts" | tr -d ' ')" 0 "known_hosts left untouched"

log "== changed host key"
jlc -H changedkey start jltb-root
expect_rc 3 "changed host key"; expect_error_shape "changed host key"; expect_within 15 "changed host key"
expect_contains "$ERR" "CHANGED" "says the key changed"
expect_contains "$ERR" "$(ssh-keygen -lf "$JL_TESTBED_HOSTKEY_PUB" | awk '{ print $2 }')" "shows the new key's fingerprint"
if cmp -s "$WORK/changed_known_hosts" "$WORK/changed_known_hosts.orig"; then pass "known_hosts not modified"; else fail "known_hosts was modified"; fi
expect_eq "$(session_count)" 0 "no session recorded after refused connections"

log "== no such container"
run_jlh start no-such-container
expect_rc 4 "no such container"; expect_error_shape "no such container"; expect_within 15 "no such container"
expect_contains "$ERR" "jltb-root" "lists the running containers"

log "== container not running"
run_jlh start jltb-stopped
expect_rc 4 "stopped container"; expect_error_shape "stopped container"
expect_contains "$ERR" "not running" "says not running"
expect_contains "$ERR" "docker start jltb-stopped" "hints how to start it"

log "== docker not installed (not on PATH)"
run_jl -H jl-testbed-nodockerbin start jltb-root
expect_rc 4 "docker missing"; expect_error_shape "docker missing"
expect_contains "$ERR" "docker is not installed" "says docker is missing"

log "== docker permission denied"
run_jl -H jl-testbed-nodocker start jltb-root
expect_rc 4 "docker permission"; expect_error_shape "docker permission"
expect_contains "$ERR" "permission denied" "says permission denied"
expect_contains "$ERR" "docker group" "hints at the docker group"

log "== Jupyter not installed"
run_jlh start jltb-bare
expect_rc 4 "no Jupyter"; expect_error_shape "no Jupyter"
expect_contains "$ERR" "not installed" "says Jupyter is not installed"

log "== app not installed"
reset_container jltb-root
run_jlh start jltb-root --app lab
expect_rc 4 "--app lab without JupyterLab"; expect_error_shape "--app lab"
expect_contains "$ERR" "jupyter-lab is not installed" "names the missing app"

log "== Jupyter fails to start"
run_jlh start jltb-root --app server -- --ServerApp.root_dir=/does/not/exist
expect_rc 4 "Jupyter fails"; expect_error_shape "Jupyter fails"; expect_within 15 "Jupyter fails"
expect_contains "$ERR" "failed to start" "says it failed to start"
expect_contains "$ERR" "  | " "shows the end of the log"
expect_contains "$ERR" "does/not/exist" "the log names the cause"
expect_eq "$(session_count)" 0 "no session recorded"

log "== --dir that does not exist"
run_jlh start jltb-root --dir /nope/nothing
expect_rc 4 "bad --dir"; expect_contains "$ERR" "does not exist" "says the directory does not exist"

log "== an explicit --port that is busy"
docker exec -d jltb-root python3 -m http.server --bind 0.0.0.0 9300 >/dev/null
for _ in $(seq 50); do docker exec jltb-root sh -c 'cat /proc/net/tcp' | grep -q ':2454 ' && break; sleep 0.1; done
run_jlh start jltb-root --port 9300 --app server
expect_rc 4 "busy --port"; expect_error_shape "busy --port"
expect_contains "$ERR" "already in use" "says the port is in use"
docker exec jltb-root pkill -f 'http.server --bind 0.0.0.0 9300' >/dev/null 2>&1

log "== invalid options"
for args in "start" "start jltb-root --port 0" "start jltb-root --port 70000" "start jltb-root --port abc" \
  "start jltb-root --app word" "start jltb-root --bogus" "stop --bogus" "frobnicate" "start bad;name" \
  "status -- --x"; do
  # shellcheck disable=SC2086
  run_jlh $args
  expect_rc 2 "jl $args"
  expect_error_shape "jl $args"
done
run_jl_raw -F /does/not/exist -H jl-testbed start jltb-root
expect_rc 2 "missing -F file"; expect_contains "$ERR" "does not exist" "says the ssh config is missing"
run_jl start jltb-root
expect_rc 2 "no host"; expect_contains "$ERR" "no host" "says no host was given"
expect_eq "$(session_count)" 0 "no session was recorded by any failure"
finish
