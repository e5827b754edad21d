# shellcheck shell=sh
# Runs on the host. Positional parameters: nonce, container (may be empty), port, the inner
# script, then the docker command's words.
n=$1 c=$2 port=$3 inner=$4
shift 4
m() { printf '@@%s %s\n' "$n" "$*"; }
t() { s=$1; shift; if command -v timeout >/dev/null 2>&1; then timeout "$s" "$@"; else "$@"; fi; }
if ! command -v "$1" >/dev/null 2>&1; then m docker-missing "$1"; m end; exit 0; fi
out=$(t 10 "$@" ps --format '{{.Names}}' 2>&1)
rc=$?
m ps "$rc"
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then m end; exit 0; fi
m docker-version "$(t 10 "$@" version --format '{{.Server.Version}}' 2>/dev/null | head -n 1)"
if [ -n "$c" ]; then
  out=$(t 10 "$@" inspect --type container --format '{{.State.Running}} {{json .}}' "$c" 2>&1)
  rc=$?
  m inspect "$rc"
  printf '%s\n' "$out"
  case $rc:$out in
    '0:true '*)
      m exec
      t 60 "$@" exec "$c" sh -c "$inner" jl "$n" "$port" </dev/null 2>&1
      m exec-rc "$?";;
  esac
fi
m end
