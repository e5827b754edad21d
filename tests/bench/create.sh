#!/usr/bin/env bash
# jl up NAME --image IMAGE (the image on the host) to the first 200 through the tunnel, against
# what people do by hand, measured in one run: `docker run -d --init ... IMAGE sleep infinity`
# over ssh, then the old three-function flow (ssh docker exec jupyter lab, ssh -fN -L, scrape
# `jupyter server list`, first 200); and `docker run` plus JupyterLab's own start on the host.
# On loopback, from the bed's JupyterLab 4 image. Prints each figure and the ratio.
# Usage: tests/bench/create.sh [RUNS]   (default 3; needs root and the test bed)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi
runs=${1:-3}
note() { printf '%s\n' "bench: $*" >&2; }
JL=${JL_BIN:-$root/build/jl}
[ -x "$JL" ] || { note "build jl first (cmake --build build), or set JL_BIN"; exit 1; }
"$root/tests/testbed/testbed.sh" up >/dev/null 2>&1 || "$root/tests/testbed/testbed.sh" up
eval "$("$root/tests/testbed/testbed.sh" env)"
IMG=$(docker inspect -f '{{.Config.Image}}' jltb-lab4)

W=$(mktemp -d /tmp/jl-bench-create.XXXXXX)
export XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config
unset JL_HOST JL_SSH_CONFIG BROWSER SSH_AUTH_SOCK
NAME=jltb-bench-made
CFG=$W/ssh_config
cat >"$CFG" <<EOT
Host b
  HostName 127.0.0.1
  Port $JL_TESTBED_PORT
  User root
  IdentityFile $JL_TESTBED_USERKEY
  IdentitiesOnly yes
  UserKnownHostsFile $JL_TESTBED_KNOWN_HOSTS
  StrictHostKeyChecking yes
EOT
gone() {
  "$JL" -F "$CFG" close --all >/dev/null 2>&1 || true
  "$JL" -F "$CFG" stop --all >/dev/null 2>&1 || true
  pkill -f -- "-L [0-9]*:[0-9.]*:9999 b" 2>/dev/null || true
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$XDG_STATE_HOME"
}
trap 'gone; rm -rf "$W"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# The page the URL names, redirects followed (Jupyter sends / on to /lab).
first_200() { for _ in $(seq 1500); do [ "$(curl -sL -o /dev/null -m 2 -w '%{http_code}' "$1")" = 200 ] && return 0; sleep 0.02; done; return 1; }
best() { tr ' ' '\n' | grep . | sort -g | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

jl_create() {
  gone
  local t0 url
  t0=$(now)
  url=$("$JL" -F "$CFG" -H b up "$NAME" --image "$IMG" --pull never --no-browser | tail -n 1)
  first_200 "$url" || note "jl: no 200 from $url"
  since "$t0"
}
by_hand() {
  gone
  local t0 url lp ip
  lp=$(free_port)
  t0=$(now)
  ssh -F "$CFG" b docker run -d --init --name "$NAME" --ulimit stack=67108864 "$IMG" sleep infinity >/dev/null
  ip=$(ssh -F "$CFG" b docker inspect -f '{{.NetworkSettings.IPAddress}}' "$NAME")
  ssh -F "$CFG" b docker exec "$NAME" jupyter lab --ip 0.0.0.0 --port 9999 --allow-root --no-browser >/dev/null 2>&1 &
  local server=$!
  ssh -F "$CFG" -fN -o ExitOnForwardFailure=yes -L "$lp:$ip:9999" b >/dev/null 2>&1
  url=
  while [ -z "$url" ]; do
    url=$(ssh -F "$CFG" b docker exec "$NAME" jupyter server list 2>&1 | grep -o 'http://[^ ]*token=[0-9a-f]*' | head -n 1 || true)
  done
  url=$(sed -E "s#http://[^/]*/#http://127.0.0.1:$lp/#" <<<"$url")
  first_200 "$url" || note "by hand: no 200 from $url"
  since "$t0"
  pkill -f -- "-L $lp:$ip:9999" || true
  kill "$server" 2>/dev/null || true
}
own_start() { # docker run, then JupyterLab's own start, polled from the host: no ssh at all
  gone
  local ip t0
  printf 'Authorization: token bench\n' >"$W/hdr"
  t0=$(now)
  docker run -d --init --name "$NAME" "$IMG" sleep infinity >/dev/null
  ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$NAME")
  docker exec -d "$NAME" sh -c "cd /tmp && JUPYTER_TOKEN=bench exec jupyter lab --allow-root --no-browser --ip=$ip --port=9998"
  for _ in $(seq 1500); do [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "@$W/hdr" "http://$ip:9998/api/status")" = 200 ] && break; sleep 0.02; done
  since "$t0"
}

note "jl up --image, docker run + the old flow by hand, and Jupyter's own start ($runs each, interleaved)"
up="" hand="" own=""
for _ in $(seq "$runs"); do
  up+=" $(jl_create)"
  hand+=" $(by_hand)"
  own+=" $(own_start)"
done
u=$(best <<<"$up"); h=$(best <<<"$hand"); o=$(best <<<"$own")
echo
echo "jl up --image, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback; best of $runs, one run"
printf '%-52s %8s\n' "jl up NAME --image IMG, to the first 200 (s)" "$u" \
  "docker run + old flow by hand, to the first 200 (s)" "$h" \
  "docker run + JupyterLab's own start, on the host (s)" "$o"
echo "by hand / jl: $(ratio "$h" "$u")x; jl - (docker run + JupyterLab alone): +$(awk -v a="$u" -v b="$o" 'BEGIN { printf "%.2f", a - b }') s"
echo "all runs: jl:$up | by hand:$hand | own start:$own"
