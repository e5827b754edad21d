#!/usr/bin/env bash
# jl doctor against the real bed: every check's verdict in each situation the bed can produce,
# the exit code, the fixes, --json agreeing with the text, and doctor never writing known_hosts.
. "$(dirname "$0")/lib.sh"

cfg=$WORK/ssh_config
ssh-keygen -q -t ed25519 -N '' -f "$WORK/stranger" -C stranger
ssh-keygen -q -t ed25519 -N '' -f "$WORK/otherhostkey" -C other
: >"$WORK/empty_known_hosts"
printf '[127.0.0.1]:%s %s\n' "$JL_TESTBED_PORT" "$(cut -d' ' -f1,2 "$WORK/otherhostkey.pub")" >"$WORK/changed_known_hosts"
cp "$WORK/changed_known_hosts" "$WORK/changed_known_hosts.orig"
{
  cat "$JL_TESTBED_SSH_CONFIG"
  ssh_entry badkey identity="$WORK/stranger"
  ssh_entry unknownhost known_hosts="$WORK/empty_known_hosts"
  ssh_entry acceptnew known_hosts="$WORK/empty_known_hosts" strict=accept-new
  ssh_entry changedkey known_hosts="$WORK/changed_known_hosts"
} >"$cfg"
jlc() { run_jl_raw -F "$cfg" "$@"; }

# The line of a check in the text output ("ok    jupyter  ...").
line_of() { printf '%s\n' "$OUT" | grep -E "^[a-zA-Z]+ +$1  " | head -n 1; }
expect_check() { # LABEL STATUS WHAT
  local l
  l=$(line_of "$1")
  case $l in
    "$2 "*) pass "$3: $l" ;;
    *) fail "$3: wanted '$2' for '$1', got '$l'" ;;
  esac
}

log "== everything fine on cont1"
reset_container cont1
run_jlh doctor cont1
expect_rc 0 "doctor cont1"
expect_within 15 "doctor cont1"
log "  doctor's wall time on the bed: ${SECS}s"
expect_not_contains "$OUT" "FAIL" "no check fails"
for c in "ssh config" connect "host key" auth docker container jupyter "container port" "local port"; do
  expect_check "$c" ok "$c"
done
expect_contains "$(line_of 'ssh config')" "root@127.0.0.1:$JL_TESTBED_PORT" "the ssh config resolves to the bed's endpoint"
server_version=$(docker exec cont1 jupyter-server --version)
notebook_version=$(docker exec cont1 jupyter-notebook --version)
expect_contains "$(line_of jupyter)" "jupyter-server $server_version" "the real jupyter-server version ($server_version)"
expect_contains "$(line_of jupyter)" "jupyter-notebook $notebook_version" "the real notebook version ($notebook_version)"
expect_check gpu info "no GPU is not a failure"
expect_contains "$(line_of gpu)" "no GPU" "says no GPU"
expect_check browser warn "no browser opener on the bed is a warning"
expect_contains "$OUT" "--no-browser" "the browser fix names --no-browser"
expect_check platform info "the build's OS calls are named"
expect_contains "$(line_of platform)" "the ${JL_EXPECT_PLATFORM:-linux} implementation" \
  "the jl under test uses the ${JL_EXPECT_PLATFORM:-linux} implementation of its OS calls"
text_out=$OUT

log "== --json agrees with the text"
run_jlh --json doctor cont1
expect_rc 0 "doctor --json"
if printf '%s' "$OUT" | python3 -m json.tool >/dev/null 2>&1; then pass "--json parses"; else fail "--json does not parse"; fi
printf '%s' "$OUT" >"$WORK/doctor.json"
printf '%s\n' "$text_out" >"$WORK/doctor.txt"
agree=$(python3 - "$WORK/doctor.json" "$WORK/doctor.txt" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().splitlines()
assert j["ok"] is True, "ok is not true"
assert j["container"] == "cont1" and j["host"] == "jl-testbed", "host/container"
rows = [l for l in text if l[:5].strip() in ("ok", "FAIL", "warn", "info", "skip")]
assert len(rows) == len(j["checks"]), f"{len(rows)} text lines, {len(j['checks'])} checks"
for row, c in zip(rows, j["checks"]):
    status = "FAIL" if c["status"] == "fail" else c["status"]
    assert row.startswith(f"{status:<5} {c['name'].replace('-', ' ')}"), (row, c)
    if c["name"] not in ("session",):
        assert row.rstrip().endswith(c["detail"]), (row, c["detail"])
    assert set(c) == {"name", "status", "detail", "fix"}, c
print("agree")
EOF
)
expect_eq "$agree" "agree" "every JSON check matches its text line (status, name, detail)"

log "== a stopped container"
run_jlh doctor jltb-stopped
expect_rc 1 "doctor jltb-stopped"
expect_check container FAIL "stopped container"
expect_contains "$OUT" "fix: start it on the host: docker start jltb-stopped" "the fix starts it"
expect_check jupyter skip "jupyter skipped after the container failed"
run_jlh --json doctor jltb-stopped
expect_rc 1 "--json doctor jltb-stopped"
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["ok"], [c["status"] for c in j["checks"] if c["name"]=="container"])')" \
  "False ['fail']" "JSON says not ok, container fail"

log "== a container without Jupyter"
run_jlh doctor jltb-bare
expect_rc 1 "doctor jltb-bare"
expect_check jupyter FAIL "jltb-bare's Jupyter"
expect_contains "$(line_of jupyter)" "not installed" "says Jupyter is not installed"
expect_contains "$OUT" "pip install jupyterlab" "fix: install it"

log "== docker: permission denied, not installed"
run_jl -H jl-testbed-nodocker doctor cont1
expect_rc 1 "nodocker"
expect_check docker FAIL "nodocker's docker"
expect_contains "$(line_of docker)" "permission denied" "says permission denied"
expect_contains "$OUT" "docker group" "fix: the docker group"
expect_contains "$OUT" "usermod -aG docker jltb-nodocker" "the fix names the SSH user"
expect_check container skip "container skipped"
run_jl -H jl-testbed-nodockerbin doctor cont1
expect_rc 1 "nodockerbin"
expect_check docker FAIL "nodockerbin's docker"
expect_contains "$(line_of docker)" "not installed" "says docker is not installed"

log "== unknown host key: reported, never written"
for h in unknownhost acceptnew; do
  jlc -H "$h" doctor cont1
  expect_rc 1 "$h"
  expect_within 15 "$h"
  expect_check "host key" FAIL "$h: host key"
  expect_contains "$(line_of 'host key')" "not known" "$h: says not known"
  expect_contains "$(line_of 'host key')" "$(ssh-keygen -lf "$JL_TESTBED_HOSTKEY_PUB" | awk '{ print $2 }')" "$h: shows the fingerprint"
  expect_check auth skip "$h: auth skipped"
  expect_check docker skip "$h: docker skipped"
  expect_eq "$(wc -c <"$WORK/empty_known_hosts" | tr -d ' ')" 0 "$h: known_hosts left empty"
done

log "== changed host key"
jlc -H changedkey doctor cont1
expect_rc 1 "changed key"
expect_check "host key" FAIL "changed key"
expect_contains "$(line_of 'host key')" "CHANGED" "says CHANGED"
expect_contains "$OUT" "ssh-keygen -R" "fix: remove the old key"
if cmp -s "$WORK/changed_known_hosts" "$WORK/changed_known_hosts.orig"; then pass "known_hosts not modified"; else fail "known_hosts was modified"; fi

log "== failing authentication"
jlc -H badkey doctor cont1
expect_rc 1 "bad key"
expect_check "host key" ok "bad key: the host key is fine"
expect_check auth FAIL "bad key: auth"
expect_contains "$(line_of auth)" "tried: publickey" "names the methods tried"
expect_check docker skip "docker skipped without a login"

log "== a GPU (a stand-in nvidia-smi in the container)"
gpu_cleanup() { docker exec jltb-root rm -f /usr/local/bin/nvidia-smi >/dev/null 2>&1 || true; }
trap 'gpu_cleanup; cleanup' EXIT
docker exec jltb-root sh -c 'printf "#!/bin/sh\n[ \"\$1\" = -L ] || exit 2\necho \"GPU 0: Test Accelerator 9000 (UUID: GPU-0000-jltb)\"\n" >/usr/local/bin/nvidia-smi && chmod 755 /usr/local/bin/nvidia-smi'
run_jlh doctor jltb-root
expect_check gpu ok "gpu with nvidia-smi"
expect_contains "$(line_of gpu)" "GPU 0: Test Accelerator 9000 (UUID: GPU-0000-jltb)" "lists the GPU"
gpu_cleanup
run_jlh doctor jltb-root
expect_contains "$(line_of gpu)" "no GPU" "no GPU again once it is removed"

log "== a busy container port, and who holds it"
docker exec -d jltb-root python3 -m http.server --bind 0.0.0.0 9301 >/dev/null
for _ in $(seq 50); do docker exec jltb-root cat /proc/net/tcp | grep -q ':2455 ' && break; sleep 0.1; done
run_jlh doctor jltb-root --port 9301
expect_rc 1 "an explicit busy --port fails"
expect_check "container port" FAIL "busy --port"
expect_contains "$(line_of 'container port')" "http.server" "names the process holding it"
docker exec jltb-root pkill -f 'http.server --bind 0.0.0.0 9301' >/dev/null 2>&1

log "== stale session: the server killed behind jl's back, the tunnel killed"
reset_container jltb-root
run_jlh start jltb-root
expect_rc 0 "start jltb-root"
run_jlh open jltb-root --no-browser
expect_rc 0 "open jltb-root"
run_jlh doctor jltb-root
expect_check session ok "a live session is ok"
tunnel_pid=$(session_field tunnel_pid)
kill -KILL "$tunnel_pid" 2>/dev/null
reset_container jltb-root
run_jlh doctor jltb-root
expect_rc 0 "a stale session is a warning, not a failure"
expect_check session warn "the stale session"
expect_contains "$(line_of session)" "stale" "says stale"
expect_contains "$(line_of session)" "tunnel (pid $tunnel_pid) is dead" "says the tunnel is dead"
expect_contains "$OUT" "fix: jl stop jltb-root" "fix: jl stop"
run_jlh stop jltb-root
finish
