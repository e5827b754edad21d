# shellcheck shell=sh
# Runs on the host: docker's state, the container's state, then the inner probe.
# Positional parameters: nonce, container, the inner script, the mode (probe or plan), then the
# docker command's words.
n=$1 c=$2 inner=$3 mode=$4
shift 4
# "$@" is the docker command: docker, or what the user configured (sudo -n docker, podman, ...).
m() { printf '@@%s %s\n' "$n" "$*"; }
if ! command -v "$1" >/dev/null 2>&1; then m docker-missing "$1"; exit 0; fi
out=$("$@" inspect --type container --format '{{.State.Running}} {{json .}}' "$c" 2>&1)
rc=$?
m inspect "$rc"
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
  m ps
  "$@" ps --format '{{.Names}}' 2>&1
  exit 0
fi
case $out in
  'true '*) ;;
  *) exit 0;;
esac
m exec
if [ "$mode" = plan ]; then
  "$@" exec -i "$c" sh -c "$inner" jl "$n" "$mode" 2>&1
else
  "$@" exec "$c" sh -c "$inner" jl "$n" "$mode" </dev/null 2>&1
fi
m exec-rc "$?"
