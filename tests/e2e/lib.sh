# Shared helpers for jl's end-to-end tests. Each test is a bash script that sources this file;
# it runs the real jl binary against the real test bed (sshd, dockerd, Jupyter in containers).
#
# Environment (set by CTest): JL_BIN (the jl binary), JL_TESTBED (tests/testbed/testbed.sh).

set -uo pipefail

: "${JL_BIN:?JL_BIN must point at the jl binary}"
: "${JL_TESTBED:?JL_TESTBED must point at testbed.sh}"

eval "$("$JL_TESTBED" env)" || { echo "FAIL: the test bed is not up" >&2; exit 1; }

# One suite at a time on the bed, even across build trees: suites restart containers and kill
# servers. flock -o keeps the lock in flock itself, so tunnels the suite leaves behind never
# hold it.
if [ -z "${JL_E2E_LOCKED:-}" ]; then
  export JL_E2E_LOCKED=1
  exec flock -o -w 1800 "$JL_TESTBED_DIR/e2e.lock" bash "$0" "$@"
fi

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
WORK=$(mktemp -d "/tmp/jl-e2e-$TEST_NAME.XXXXXX")
export XDG_STATE_HOME=$WORK/state
export XDG_CONFIG_HOME=$WORK/config
# A runtime directory of the suite's own: a tunnel left by another suite (or a person) must not
# become this suite's shared connection.
export XDG_RUNTIME_DIR=$WORK/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
unset JL_HOST JL_SSH_CONFIG SSH_AUTH_SOCK BROWSER
FAILS=0
CHECKS=0

# Containers whose Jupyter processes the test started; cleaned on exit.
TOUCHED_CONTAINERS=()

# Commands a suite adds to the cleanup (on_exit "kill $PID").
EXIT_COMMANDS=()
on_exit() { EXIT_COMMANDS+=("$1"); }

cleanup() {
  local c
  for c in "${EXIT_COMMANDS[@]}"; do
    eval "$c" >/dev/null 2>&1 || true
  done
  for c in "${TOUCHED_CONTAINERS[@]}"; do
    docker exec "$c" sh -c 'pkill -KILL -f "[j]upyter-(server|notebook|lab)" 2>/dev/null; rm -f "${HOME:-/}"/.local/share/jupyter/runtime/*server-*' \
      >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }

pass() {
  CHECKS=$((CHECKS + 1))
  log "  ok   $*"
}

fail() {
  CHECKS=$((CHECKS + 1))
  FAILS=$((FAILS + 1))
  log "  FAIL $*"
}

# Run jl; captures OUT, ERR, RC and SECS (wall time). A hard 60 s limit turns a hang into a
# failure instead of a stuck test.
run_jl_raw() {
  local start end
  start=$(date +%s.%N)
  OUT=$(timeout -k 5 60 "$JL_BIN" "$@" </dev/null 2>"$WORK/stderr")
  RC=$?
  end=$(date +%s.%N)
  ERR=$(cat "$WORK/stderr")
  SECS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  log "  \$ jl $* -> rc=$RC in ${SECS}s"
  if [ -n "$OUT" ]; then log "$(printf '%s\n' "$OUT" | sed 's/^/    out| /')"; fi
  if [ -n "$ERR" ]; then log "$(printf '%s\n' "$ERR" | sed 's/^/    err| /')"; fi
}

# jl with the test bed's ssh config.
run_jl() { run_jl_raw -F "$JL_TESTBED_SSH_CONFIG" "$@"; }

# jl against the default test-bed host.
run_jlh() { run_jl -H "$JL_TESTBED_HOST" "$@"; }

expect_rc() {
  local want=$1 what=$2
  if [ "$RC" = "$want" ]; then pass "$what (exit $RC)"; else fail "$what: exit $RC, wanted $want"; fi
}

expect_contains() {
  local haystack=$1 needle=$2 what=$3
  case $haystack in
    *"$needle"*) pass "$what" ;;
    *) fail "$what: '$needle' not found" ;;
  esac
}

expect_not_contains() {
  local haystack=$1 needle=$2 what=$3
  case $haystack in
    *"$needle"*) fail "$what: '$needle' found" ;;
    *) pass "$what" ;;
  esac
}

expect_eq() {
  local got=$1 want=$2 what=$3
  if [ "$got" = "$want" ]; then pass "$what"; else fail "$what: got '$got', wanted '$want'"; fi
}

# An error must be one "jl: error:" line, optional "  | " detail lines and an optional hint.
expect_error_shape() {
  local what=$1 first
  first=$(printf '%s\n' "$ERR" | grep -v '^jl: warning:' | head -n 1)
  case $first in
    "jl: error: "*) pass "$what: starts with 'jl: error:'" ;;
    *) fail "$what: stderr does not start with 'jl: error:': $first" ;;
  esac
  if printf '%s\n' "$ERR" | grep -v -e '^jl: error: ' -e '^hint: ' -e '^  | ' -e '^jl: warning: ' | grep -q .; then
    fail "$what: unexpected lines on stderr"
  else
    pass "$what: stderr has only error/detail/hint lines"
  fi
}

expect_within() {
  local limit=$1 what=$2
  if awk -v s="$SECS" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
    pass "$what within ${limit}s (${SECS}s)"
  else
    fail "$what took ${SECS}s, limit ${limit}s"
  fi
}

# An ssh config entry for the test bed's sshd, with one thing changed for a test:
#   ssh_entry NAME [port=N] [known_hosts=FILE] [identity=FILE] [strict=VALUE] [alive=SECONDS]
ssh_entry() {
  local name=$1 port=$JL_TESTBED_PORT known=$JL_TESTBED_KNOWN_HOSTS identity=$JL_TESTBED_USERKEY
  local strict= alive= arg
  shift
  for arg in "$@"; do
    case $arg in
      port=*) port=${arg#port=} ;;
      known_hosts=*) known=${arg#known_hosts=} ;;
      identity=*) identity=${arg#identity=} ;;
      strict=*) strict=${arg#strict=} ;;
      alive=*) alive=${arg#alive=} ;;
      *) echo "ssh_entry: unknown argument $arg" >&2; return 1 ;;
    esac
  done
  printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityFile %s\n' \
    "$name" "$port" "$identity"
  printf '  IdentitiesOnly yes\n  UserKnownHostsFile %s\n' "$known"
  if [ -n "$strict" ]; then printf '  StrictHostKeyChecking %s\n' "$strict"; fi
  if [ -n "$alive" ]; then printf '  ServerAliveInterval %s\n  ServerAliveCountMax 2\n' "$alive"; fi
}

# The state file as JSON, and a field of the only/first session.
state_file() { printf '%s\n' "$XDG_STATE_HOME/jl/state.json"; }
session_field() {
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["sessions"]; print(s[0][sys.argv[2]] if s else "")' \
    "$(state_file)" "$1"
}
session_count() {
  if [ ! -f "$(state_file)" ]; then echo 0; return; fi
  python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sessions"]))' "$(state_file)"
}

# Is a process alive (not a zombie) inside a container?
container_pid_alive() {
  local c=$1 pid=$2 st
  st=$(docker exec "$c" cat "/proc/$pid/stat" 2>/dev/null) || return 1
  case $st in *") Z "* | *") X "*) return 1 ;; esac
  return 0
}

# HTTP status of GET http://ADDR:PORT/PATH from the host, with a token header read from a file
# (the token is never put on a command line: curl reads the header from the file).
http_status_with_token() {
  local url=$1 token=$2 hdr
  hdr=$WORK/auth-header
  printf 'Authorization: token %s\n' "$token" >"$hdr"
  curl -s -o /dev/null -m 5 -w '%{http_code}' -H "@$hdr" "$url" 2>/dev/null || true
}

# Is a local process alive (not a zombie waiting for its parent to reap it)?
pid_alive() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  case $st in *") Z "* | *") X "*) return 1 ;; esac
  return 0
}

touch_container() { TOUCHED_CONTAINERS+=("$1"); }

# Number of live (non-zombie) Jupyter server processes in a container. Containers whose init
# does not reap keep killed processes as zombies; those do not count.
jupyter_count() {
  docker exec "$1" ps -eo stat=,args= | awk '$1 !~ /^Z/ && /[j]upyter-(server|notebook|lab)/' | wc -l | tr -d ' '
}

# Kill every Jupyter in a container and remove runtime files: a clean slate for a test.
reset_container() {
  docker exec "$1" sh -c 'pkill -KILL -f "[j]upyter-(server|notebook|lab)" 2>/dev/null; rm -f "${HOME:-/}"/.local/share/jupyter/runtime/*server-* /tmp/jl-*/runtime/*server-*; true' \
    >/dev/null 2>&1 || true
  touch_container "$1"
}

# The sshd processes that serve the connection of tunnel process $1.
sshd_of_tunnel() {
  # Every process holding the server's end of each established connection of the tunnel (a
  # connection being replaced may still be listed beside the new one).
  local port
  for port in $(ss -Htnp state established "dport = :$JL_TESTBED_PORT" | grep "pid=$1," |
    awk '{ print $3 }' | sed 's/.*://'); do
    ss -Htnp state established "sport = :$JL_TESTBED_PORT and dport = :$port" | grep -o 'pid=[0-9]*' |
      cut -d= -f2
  done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

finish() {
  log "$TEST_NAME: $((CHECKS - FAILS)) passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
  exit $?
}
