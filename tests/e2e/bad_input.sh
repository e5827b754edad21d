#!/usr/bin/env bash
# Bad input of every kind, fed to the real jl: malformed options, hostile container names (with a
# canary file that must never appear), out-of-range ports, broken ssh configs, hosts that are not
# SSH servers, corrupt or unwritable state, bad Jupyter runtime files, and a container that dies
# while jl waits. Each case must give a clear "jl: error:" message and the documented exit code,
# must not crash (no exit code >= 128 but 130) and must end within 15 s.
#
# Uses only cont1, jltb-bare, jltb-stopped and a container of its own (removed at the end).
# With JL_ASAN_BIN set (a jl built with -DJL_SANITIZE=ON), the invalid-option cases are run once
# more under it and must print no sanitizer report.
. "$(dirname "$0")/lib.sh"

T0=$(date +%s)
C=cont1
OWN=jltb-badinput-$$
CANARY=/tmp/jl-badinput-canary-$$-$RANDOM
RT=/root/.local/share/jupyter/runtime # cont1 runs as root
HOLDER="sleep 4321.$$"                 # a live process in cont1 whose pid a runtime file names
LIMIT=20                               # a run still going after this is killed (a hang)
BG_PIDS=()
IMMUTABLE=()

# shellcheck disable=SC2317  # called by the EXIT trap
bad_input_cleanup() {
  local p d
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for d in "${IMMUTABLE[@]}"; do chattr -i "$d" 2>/dev/null; done
  docker rm -f "$OWN" >/dev/null 2>&1
  rm -f "$CANARY"
  docker exec "$C" sh -c 'pkill -f "^$1\$"; rm -f "$2" "$3"/jpserver-999999.json "$3"/nbserver-999998.json' \
    sh "$HOLDER" "$CANARY" "$RT" >/dev/null 2>&1
  [ -n "${HOLDER_PID:-}" ] && docker exec "$C" rm -f "$RT/jpserver-$HOLDER_PID.json" >/dev/null 2>&1
  docker exec jltb-bare rm -f "$CANARY" >/dev/null 2>&1
  cleanup
}
trap bad_input_cleanup EXIT

# Run a jl binary (default $JL_BIN) with a hard limit; sets OUT, ERR, RC, SECS like run_jl_raw.
BIN=$JL_BIN
jlx() {
  local start end
  start=$(date +%s.%N)
  RAN_LIMIT=$LIMIT
  OUT=$(timeout -k 2 "$LIMIT" "$BIN" "$@" </dev/null 2>"$WORK/stderr")
  RC=$?
  end=$(date +%s.%N)
  ERR=$(cat "$WORK/stderr")
  SECS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  log "  \$ $(basename "$BIN") $(printf '%q ' "$@")-> rc=$RC in ${SECS}s"
  if [ -n "$OUT" ]; then log "$(printf '%s\n' "$OUT" | cut -c1-400 | sed 's/^/    out| /')"; fi
  if [ -n "$ERR" ]; then log "$(printf '%s\n' "$ERR" | cut -c1-400 | sed 's/^/    err| /')"; fi
}
# jl against the test bed.
jlb() { jlx -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" "$@"; }

# No crash (exit >= 128 other than 130, a sanitizer or C++ runtime report) and no hang (15 s).
expect_sane() {
  local what=$1 bad=""
  if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
    bad="still running after ${RAN_LIMIT}s (hang), killed"
  elif [ "$RC" -ge 128 ] && [ "$RC" != 130 ]; then
    bad="exit $RC (killed by signal $((RC - 128)))"
  fi
  case $ERR in
    *Sanitizer* | *"runtime error:"* | *"terminate called"* | *"Segmentation fault"* | *"Assertion"*)
      bad="${bad:+$bad; }a crash report on stderr" ;;
  esac
  if [ -z "$bad" ] && ! awk -v s="$SECS" 'BEGIN { exit !(s <= 15) }'; then bad="took ${SECS}s (limit 15 s)"; fi
  if [ -z "$bad" ]; then pass "$what: no crash, ended in ${SECS}s"; else fail "$what: $bad"; fi
}

# The exit code is one of the allowed ones, the error has the documented shape, no crash/hang.
expect_error() { # WHAT CODE...
  local what=$1 c ok=""
  shift
  for c in "$@"; do [ "$RC" = "$c" ] && ok=1; done
  if [ -n "$ok" ]; then pass "$what (exit $RC)"; else fail "$what: exit $RC, wanted $(printf '%s or ' "$@" | sed 's/ or $//')"; fi
  expect_error_shape "$what"
  expect_sane "$what"
}

# The canary must exist neither here (the SSH host is this machine) nor in a container.
expect_no_canary() {
  local what=$1 where="" c
  [ -e "$CANARY" ] && where="this machine"
  for c in "$C" jltb-bare; do
    if docker exec "$c" test -e "$CANARY" >/dev/null 2>&1; then where="${where:+$where, }container $c"; fi
  done
  if [ -z "$where" ]; then
    pass "$what: nothing was executed (no canary)"
  else
    fail "$what: the canary $CANARY was created on $where: jl executed part of its input"
    rm -f "$CANARY"
    docker exec "$C" rm -f "$CANARY" >/dev/null 2>&1
    docker exec jltb-bare rm -f "$CANARY" >/dev/null 2>&1
  fi
}

# The slow cases (a server that never speaks SSH, a FIFO as the state file) run in the background
# while the other cases go on: bg_jl ID LIMIT ARGS... starts one, bg_collect ID waits for it and
# sets OUT, ERR, RC and SECS.
declare -A BG_JL=()
bg_jl() {
  local id=$1 limit=$2
  shift 2
  (
    start=$(date +%s.%N)
    timeout -k 2 "$limit" "$JL_BIN" "$@" </dev/null >"$WORK/bg-$id.out" 2>"$WORK/bg-$id.err"
    echo $? >"$WORK/bg-$id.rc"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }' >"$WORK/bg-$id.secs"
  ) &
  BG_JL[$id]=$!
  BG_PIDS+=($!)
  log "  (started in the background: $id: jl $(printf '%q ' "$@"))"
}
bg_collect() {
  local id=$1
  wait "${BG_JL[$id]}"
  RC=$(cat "$WORK/bg-$id.rc")
  OUT=$(cat "$WORK/bg-$id.out")
  ERR=$(cat "$WORK/bg-$id.err")
  SECS=$(cat "$WORK/bg-$id.secs")
  log "  background $id -> rc=$RC in ${SECS}s"
  if [ -n "$ERR" ]; then log "$(printf '%s\n' "$ERR" | sed 's/^/    err| /')"; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

reset_container "$C"

# --------------------------------------------------------------------------------------------
log "== 1. unknown or malformed options"
TB=(-F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST")
# Every case that jl must refuse before doing anything (exit 2) is recorded for the ASan pass.
OPT_CASES=()
optcase() {
  OPT_CASES+=("$(printf '%q ' "$@")")
  jlx "$@"
}
for args in "start --bogus" "start $C --bogus" "up $C --bogus" "stop --bogus" "status --bogus" \
  "open --bogus" "close --bogus" "forward --bogus" "--bogus status" "start $C --port" "start $C --app" \
  "start $C --app word" "start $C --timeout" "open --local-port x" "up $C --local-port x" "forward -L" \
  "status a b" "stop --all $C" "status -- --x" "frobnicate" "start"; do
  # shellcheck disable=SC2086
  optcase "${TB[@]}" $args
  expect_error "jl $args" 2
done
optcase "${TB[@]}" ""
expect_error "jl '' (an empty command)" 2
for args in "-H" "-F" "--json" "-H $JL_TESTBED_HOST" "-H $JL_TESTBED_HOST -F"; do
  # shellcheck disable=SC2086
  optcase $args
  expect_error "jl $args (no command, or no value)" 2
done
jlb start --bogus
expect_contains "$ERR" "--bogus" "jl start --bogus names the unknown option (not just 'CONTAINER is required')"

# --------------------------------------------------------------------------------------------
log "== 2. hostile container names (canary $CANARY)"
long=$(printf 'a%.0s' $(seq 300))
NAMES=(
  "a b" "a'b" 'a"b'
  "x;touch $CANARY" "\$(touch $CANARY)" "\`touch $CANARY\`" "x' ; touch $CANARY ; '"
  "x\" ; touch $CANARY ; \"" "x|touch $CANARY" "x&&touch $CANARY" "x
touch $CANARY"
  "-leading" "é" "контейнер" "../x" "../../$C" "" "$long"
)
for name in "${NAMES[@]}"; do
  label=$(printf '%q' "$name" | cut -c1-60)
  for cmd in start up stop status open forward; do
    case $cmd in
      start) optcase "${TB[@]}" start "$name" --app server ;;
      up) optcase "${TB[@]}" up "$name" --no-browser --app server ;;
      open) optcase "${TB[@]}" open "$name" --no-browser ;;
      forward) optcase "${TB[@]}" forward "$name:8888" ;;
      *) optcase "${TB[@]}" "$cmd" "$name" ;;
    esac
    expect_error "$cmd $label" 2
  done
  expect_no_canary "name $label"
done
jlb start "$long"
expect_contains "$ERR" "invalid container name" "a 300-character name is rejected as invalid"

log "== 2b. hostile words elsewhere: -H, --dir, Jupyter arguments"
for h in "\$(touch $CANARY)" "x;touch $CANARY" "\`touch $CANARY\`@$JL_TESTBED_HOST" "-oProxyCommand=touch $CANARY"; do
  optcase -F "$JL_TESTBED_SSH_CONFIG" "--host=$h" start "$C"
  expect_error "-H $(printf '%q' "$h")" 2
done
jlb start "$C" --app server --dir "\$(touch $CANARY)"
expect_error "--dir with \$(...)" 4
jlb start "$C" --app server --dir "/tmp'; touch $CANARY; '"
expect_error "--dir with quotes" 4
jlb start "$C" --app server -- "--ServerApp.root_dir=\`touch $CANARY\`"
expect_error "a Jupyter argument with backticks" 4
expect_no_canary "-H, --dir and Jupyter arguments"
expect_eq "$(jupyter_count "$C")" 0 "no Jupyter left running in $C"

log "== 2c. a state file naming hostile containers (hand-edited)"
state_with() { # CONTAINER: one session on the test bed, pointing at a port where nothing listens
  mkdir -p "$XDG_STATE_HOME/jl"
  python3 - "$(state_file)" "$1" "$JL_TESTBED_SSH_CONFIG" "$JL_TESTBED_HOST" <<'PY'
import json, sys
json.dump({"version": 1, "sessions": [{"host": sys.argv[4], "ssh_config": sys.argv[3],
           "container": sys.argv[2], "app": "server", "address": "127.0.0.1", "port": 1,
           "token": "0123456789abcdef", "pid": 2147483}]}, open(sys.argv[1], "w"))
PY
}
for name in "x;touch $CANARY" "\$(touch $CANARY)" "x' ; touch $CANARY ; '" "-rm"; do
  label=$(printf '%q' "$name")
  state_with "$name"
  jlx -F "$JL_TESTBED_SSH_CONFIG" status
  expect_rc 0 "status with a session named $label"
  expect_sane "status with a session named $label"
  jlx -F "$JL_TESTBED_SSH_CONFIG" stop
  if [ "$RC" = 0 ]; then
    pass "stop of a session named $label (exit 0)"
    expect_sane "stop of a session named $label"
  else
    expect_error "stop of a session named $label" 2 4
  fi
  expect_no_canary "session named $label"
  rm -f "$(state_file)"
done

# --------------------------------------------------------------------------------------------
log "== 3. out-of-range ports and timeouts"
for p in 0 70000 abc -1 "" 8888.5 99999999999999999999; do
  optcase "${TB[@]}" start "$C" --port "$p"
  expect_error "start --port '$p'" 2
done
for args in "up $C --port 0 --no-browser" "up $C --local-port 0 --no-browser" \
  "up $C --local-port 65536 --no-browser" "open --local-port 0" "open --local-port -5" \
  "forward $C:8888 --local-port 0" "forward $C:0" "forward $C:70000" "forward -L 0:127.0.0.1:80" \
  "forward -L 1:127.0.0.1:70000" "start $C --timeout 0" "start $C --timeout -1" \
  "start $C --timeout 3601" "start $C --timeout abc"; do
  # shellcheck disable=SC2086
  optcase "${TB[@]}" $args
  expect_error "jl $args" 2
done
for h in "$JL_TESTBED_HOST:0" "$JL_TESTBED_HOST:70000" "$JL_TESTBED_HOST:abc" "root@" "@"; do
  optcase -F "$JL_TESTBED_SSH_CONFIG" -H "$h" start "$C"
  expect_error "-H $h" 2
done
expect_eq "$(session_count)" 0 "no session recorded by any rejected command"
expect_eq "$(jupyter_count "$C")" 0 "no Jupyter started in $C by any rejected command"

# --------------------------------------------------------------------------------------------
log "== 4. missing and broken ssh configs"
for cmd in "start $C" "up $C --no-browser" "forward -L 8080:127.0.0.1:80"; do
  # shellcheck disable=SC2086
  jlx -F /does/not/exist -H "$JL_TESTBED_HOST" $cmd
  expect_error "-F /does/not/exist $cmd" 2
  expect_contains "$ERR" "does not exist" "-F /does/not/exist $cmd: says the file does not exist"
done
jlx -F / -H "$JL_TESTBED_HOST" start "$C"
expect_error "-F / (a directory)" 2
expect_not_contains "$ERR" "does not exist" "-F /: does not claim that an existing directory does not exist"
jlx -F "" -H "$JL_TESTBED_HOST" start "$C"
expect_error "-F '' (an empty path)" 2
jlx -F /does/not/exist -H "$JL_TESTBED_HOST" status
log "  (note) status with a missing -F file: exit $RC"

cfg=$WORK/broken_ssh_config
# Each case: NAME, a word a clear error should contain, then the lines put before the test bed's
# entries. The target is jltb-bare (no Jupyter): exit 4 "not installed" means jl worked.
ssh_config_case() {
  local what=$1 word=$2
  shift 2
  { printf '%s\n' "$@"; cat "$JL_TESTBED_SSH_CONFIG"; } >"$cfg"
  jlx -F "$cfg" -H "$JL_TESTBED_HOST" start jltb-bare
  expect_error "ssh config with $what" 2 3 4
  if [ "$RC" = 4 ]; then
    expect_contains "$ERR" "not installed" "ssh config with $what: jl works (reaches the container)"
    log "  (note) ssh config with $what: ignored, jl works"
  else
    expect_contains "$ERR" "$word" "ssh config with $what: the error names '$word'"
  fi
}
ssh_config_case "'Port notanumber'" notanumber "Port notanumber"
ssh_config_case "'Port 99999'" 99999 "Port 99999"
ssh_config_case "'Port -5'" "-5" "Port -5"
# With OpenSSH's client there, its own words name the line; each must name it.
ssh_config_case "'Host' without a pattern" 'line 1: no argument after keyword "host"' "Host" "  User nobody"
ssh_config_case "garbage lines" "line 1: Bad configuration option: this" "this is garbage" '=== ;;; "unterminated' "Port"
ssh_config_case "binary junk" "line 1: Bad configuration option" "$(printf '\001\377\376 junk')"
ssh_config_case "'Match localnetwork'" localnetwork "Match localnetwork 10.0.0.0/8" "  Port 1" "Host *"
# Match exec is evaluated as ssh does: "true" matches, so the block's Port 1 applies.
ssh_config_case "'Match exec'" "127.0.0.1:1 refused" 'Match exec "true"' "  Port 1" "Host *"
ssh_config_case "an Include of itself" "recursive configuration includes" "Include $cfg"
expect_no_canary "broken ssh configs"

# --------------------------------------------------------------------------------------------
log "== 5. hosts that are not SSH servers"
refused=$(free_port)
http_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 "$http_port" >/dev/null 2>&1 &
BG_PIDS+=($!)
# A server that greets like SMTP and then keeps talking, never SSH.
python3 -c '
import socket, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def talk(c):
    try:
        c.sendall(b"220 mail.example ESMTP ready\r\n")
        for _ in range(300):
            time.sleep(0.2); c.sendall(b"250 still not ssh\r\n")
    except OSError:
        pass
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try: threading.Thread(target=talk, args=(s.accept()[0],), daemon=True).start()
    except socket.timeout: pass
' >"$WORK/chatty_port" &
BG_PIDS+=($!)
for _ in $(seq 50); do
  [ -s "$WORK/chatty_port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break
  sleep 0.1
done
chatty_port=$(cat "$WORK/chatty_port")
entry() { printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n' \
  "$1" "$2" "$JL_TESTBED_USERKEY" "$JL_TESTBED_KNOWN_HOSTS"; }
{ entry refused "$refused"; entry web "$http_port"; entry chatty "$chatty_port"; } >"$WORK/hosts_config"
jlx -F "$WORK/hosts_config" -H refused start "$C"
expect_error "nothing listens" 3
expect_contains "$ERR" "refused" "says refused"
jlx -H "127.0.0.1:$refused" start "$C"
expect_error "nothing listens (-H 127.0.0.1:PORT)" 3
for cmd in "start $C" "up $C --no-browser" "forward -L 8080:127.0.0.1:80"; do
  # shellcheck disable=SC2086
  jlx -F "$WORK/hosts_config" -H web $cmd
  expect_error "an HTTP server instead of sshd: $cmd" 3 5
done
XDG_STATE_HOME=$WORK/chatty-state bg_jl chatty "$LIMIT" -F "$WORK/hosts_config" -H chatty start "$C"
expect_eq "$(session_count)" 0 "no session recorded"

# --------------------------------------------------------------------------------------------
log "== 6. bad state files"
sd=$XDG_STATE_HOME/jl
mkdir -p "$sd"
n_corrupt=0
# Earlier sections may have set files aside already (hostile names in a state file are).
before=$(find "$sd" -maxdepth 1 -name 'state.json.corrupt-*' | wc -l | tr -d ' ')
state_case() { # WHAT CONTENT
  local what=$1 content=$2 aside
  printf '%s' "$content" >"$sd/state.json"
  jlx status
  expect_rc 0 "status with $what"
  expect_contains "$ERR" "jl: warning:" "status with $what: warns"
  expect_sane "status with $what"
  n_corrupt=$((n_corrupt + 1))
  aside=""
  for f in "$sd"/state.json.corrupt-*; do
    [ -f "$f" ] && [ "$(cat "$f")" = "$content" ] && aside=$f
  done
  if [ -n "$aside" ] && [ ! -e "$sd/state.json" ]; then
    pass "status with $what: the file was set aside as $(basename "$aside")"
  else
    fail "status with $what: not set aside (state.json still there, or no corrupt-* copy with its content)"
  fi
  jlx status
  expect_eq "$RC:$ERR" "0:" "status after that: no warning, exit 0"
}
state_case "a corrupt file" '{"version": 1, "sessions": ['
state_case "an empty file" ''
state_case "a foreign version" '{"version": 99, "sessions": []}'
state_case "wrong types" '{"version":1,"sessions":[{"host":5}]}'
state_case "a JSON array" '[]'
state_case "sessions not an array" '{"version":1,"sessions":{}}'
state_case "a port out of range" '{"version":1,"sessions":[{"host":"h","container":"c","port":99999999999999999999}]}'
kept=$(find "$sd" -maxdepth 1 -name 'state.json.corrupt-*' | wc -l | tr -d ' ')
expect_eq "$((kept - before))" "$n_corrupt" "every corrupt file set aside is kept (none overwritten by a later one)"
rm -f "$sd"/state.json.corrupt-*

mkdir "$sd/state.json"
jlx status
expect_rc 0 "state.json is a directory: status still works"
expect_contains "$ERR" "not a regular file" "state.json is a directory: warns and sets it aside"
if [ ! -e "$sd/state.json" ]; then pass "the directory was moved aside"; else fail "the directory is still in the way"; fi
rm -rf "$sd"/state.json.corrupt-*
mkdir -p "$WORK/fifo-state/jl"
mkfifo "$WORK/fifo-state/jl/state.json"
XDG_STATE_HOME=$WORK/fifo-state bg_jl fifo 16 status

log "== 6b. a state directory that cannot be written"
: >"$WORK/not-a-dir"
XDG_STATE_HOME=$WORK/not-a-dir/state jlb start "$C" --app server
expect_error "XDG_STATE_HOME under a regular file" 1
expect_contains "$ERR" "not-a-dir" "names the path"
expect_eq "$(jupyter_count "$C")" 0 "no Jupyter left in $C"
ro=$WORK/immutable
mkdir -p "$ro/empty/jl" "$ro/used/jl/locks" "$ro/used/jl/tunnels"
: >"$ro/used/jl/state.lock"
if chattr +i "$ro/empty/jl" 2>/dev/null && chattr +i "$ro/used/jl" 2>/dev/null; then
  IMMUTABLE+=("$ro/empty/jl" "$ro/used/jl")
  XDG_STATE_HOME=$ro/empty jlb start "$C" --app server
  expect_error "an immutable, empty state directory" 1
  expect_eq "$(jupyter_count "$C")" 0 "no Jupyter left in $C"
  # Locks can be taken here; only writing state.json fails, after Jupyter started.
  XDG_STATE_HOME=$ro/used jlb start "$C" --app server
  expect_error "an immutable state directory whose locks exist" 1
  expect_contains "$ERR" "state.json" "names the state file"
  expect_eq "$(jupyter_count "$C")" 0 "the Jupyter it started is stopped again"
  chattr -i "$ro/empty/jl" "$ro/used/jl"
  IMMUTABLE=()
else
  log "  (skipped: chattr +i does not work here)"
fi
reset_container "$C"

# --------------------------------------------------------------------------------------------
log "== 7. bad Jupyter runtime files in $C"
docker exec "$C" mkdir -p "$RT"
docker exec -d "$C" sh -c "exec $HOLDER"
HOLDER_PID=""
for _ in $(seq 50); do
  HOLDER_PID=$(docker exec "$C" pgrep -f "^$HOLDER\$" | head -n 1)
  [ -n "$HOLDER_PID" ] && break
  sleep 0.1
done
if [ -n "$HOLDER_PID" ]; then pass "a live process (pid $HOLDER_PID) for the runtime files"; else fail "could not start $HOLDER in $C"; fi
runtime_case() { # WHAT CONTENT WANT_WARNING
  local what=$1 content=$2 want=$3 pid
  docker exec -i "$C" sh -c 'cat >"$1"' sh "$RT/jpserver-$HOLDER_PID.json" <<<"$content"
  jlb start "$C" --app server
  expect_rc 0 "start with $what"
  expect_sane "start with $what"
  expect_contains "$OUT" "started" "start with $what: starts a new server"
  if [ -n "$want" ]; then expect_contains "$ERR" "$want" "start with $what: warns ($want)"; fi
  pid=$(session_field pid 2>/dev/null)
  jlb stop "$C"
  expect_rc 0 "stop after $what"
  if [ -n "$pid" ] && container_pid_alive "$C" "$pid"; then fail "server $pid still alive after stop"; fi
}
runtime_case "a runtime file that is not JSON (live pid)" '{not json' "jpserver-$HOLDER_PID.json"
runtime_case "a runtime file with a port out of range (live pid)" "{\"pid\": $HOLDER_PID, \"port\": 99999}" "jpserver-$HOLDER_PID.json"
runtime_case "a runtime file of a live process that is no server" \
  "{\"pid\": $HOLDER_PID, \"port\": 1, \"hostname\": \"127.0.0.1\", \"token\": \"abc\", \"base_url\": \"/\"}" ""
runtime_case "a runtime file with fake protocol lines (live pid)" \
  "$(printf '{"pid": %s, "port": 1}\n@@00000000 end\nplan?\n@@ fail plan' "$HOLDER_PID")" "jpserver-$HOLDER_PID.json"
docker exec "$C" sh -c "head -c 8000000 /dev/zero | tr '\\0' x >'$RT/jpserver-$HOLDER_PID.json'"
jlb start "$C" --app server
expect_rc 0 "start with an 8 MB runtime file (live pid)"
expect_sane "start with an 8 MB runtime file"
jlb stop "$C"
expect_rc 0 "stop after the 8 MB runtime file"
docker exec "$C" rm -f "$RT/jpserver-$HOLDER_PID.json"
docker exec "$C" pkill -f "^$HOLDER\$"

if docker exec "$C" test -e /proc/999999; then
  fail "pid 999999 exists in $C; cannot test a dead pid"
else
  docker exec "$C" sh -c "printf '{\"pid\": 999999, \"port\": 1, \"hostname\": \"127.0.0.1\", \"token\": \"abc\"}' >'$RT/jpserver-999999.json'; printf garbage >'$RT/nbserver-999998.json'"
  jlb start "$C" --app server
  expect_rc 0 "start with runtime files of dead pids"
  expect_sane "start with runtime files of dead pids"
  expect_contains "$OUT" "started" "starts a new server"
  expect_not_contains "$ERR" "99999" "the dead pids' files are ignored silently"
  jlb stop "$C"
  expect_rc 0 "stop"
  docker exec "$C" rm -f "$RT/jpserver-999999.json" "$RT/nbserver-999998.json"
fi
expect_eq "$(jupyter_count "$C")" 0 "no Jupyter left in $C"

# --------------------------------------------------------------------------------------------
log "== 8. the container stops while jl waits for Jupyter"
own_up() {
  docker rm -f "$OWN" >/dev/null 2>&1
  docker run -d --name "$OWN" --label jl-testbed=1 --label jl-testbed.spec=e2e \
    jl-testbed/jupyter:1 sleep infinity >/dev/null
}
# Start jl in the background; WHEN is a delay in seconds, or "jupyter" to stop the container as
# soon as Jupyter's process appears in it (jl then waits for the server to come up).
stop_during_start() { # WHEN
  local when=$1 start end p
  own_up
  start=$(date +%s.%N)
  timeout -k 2 "$LIMIT" "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" start "$OWN" --app server \
    </dev/null >"$WORK/bg.out" 2>"$WORK/stderr" &
  p=$!
  if [ "$when" = jupyter ]; then
    for _ in $(seq 300); do
      kill -0 "$p" 2>/dev/null || break
      docker top "$OWN" -eo pid,args 2>/dev/null | grep -q '[j]upyter-server' && break
      sleep 0.02
    done
  else
    sleep "$when"
  fi
  docker stop -t 0 "$OWN" >/dev/null
  wait "$p"
  RC=$?
  end=$(date +%s.%N)
  OUT=$(cat "$WORK/bg.out")
  ERR=$(cat "$WORK/stderr")
  SECS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  log "  \$ jl start $OWN, container stopped at '$when' -> rc=$RC in ${SECS}s"
  if [ -n "$ERR" ]; then log "$(printf '%s\n' "$ERR" | sed 's/^/    err| /')"; fi
}
stop_during_start 0.3
expect_error "container stopped 0.3 s into jl start" 4 5
expect_not_contains "$ERR" "POSIX shell" "the error does not blame the container's shell"
stop_during_start jupyter
expect_error "container stopped while jl waits for Jupyter" 4 5
expect_not_contains "$ERR" "@@" "the error shows no raw protocol lines"
expect_eq "$(python3 -c 'import json,sys; print(sum(s["container"] == sys.argv[2] for s in json.load(open(sys.argv[1]))["sessions"]))' "$(state_file)" "$OWN" 2>/dev/null || echo 0)" 0 \
  "no session recorded for the stopped container"
docker rm -f "$OWN" >/dev/null 2>&1

# --------------------------------------------------------------------------------------------
log "== the slow cases, run in the background meanwhile"
bg_collect chatty
expect_error "a server that talks but not SSH" 3 5
bg_collect fifo
RAN_LIMIT=16
expect_sane "state.json is a FIFO (nothing writes to it)"
rm -f "$WORK/fifo-state/jl/state.json"

# --------------------------------------------------------------------------------------------
if [ -n "${JL_ASAN_BIN:-}" ]; then
  log "== the invalid-option cases under AddressSanitizer ($JL_ASAN_BIN)"
  BIN=$JL_ASAN_BIN
  asan_bad=0
  for c in "${OPT_CASES[@]}"; do
    eval "set -- $c"
    jlx "$@"
    case $ERR in
      *Sanitizer* | *"runtime error:"*) fail "ASan: jl $c: sanitizer report"; asan_bad=$((asan_bad + 1)) ;;
    esac
    if [ "$RC" != 2 ]; then fail "ASan: jl $c: exit $RC, wanted 2"; asan_bad=$((asan_bad + 1)); fi
  done
  BIN=$JL_BIN
  expect_eq "$asan_bad" 0 "${#OPT_CASES[@]} invalid-option cases under ASan: exit 2, no sanitizer report"
fi

expect_no_canary "the whole run"
log "bad_input: $(($(date +%s) - T0)) s"
finish
