#!/usr/bin/env bash
# jl's benchmarks, measured in one run side by side with the references:
#   - the tunnel (`jl forward -L`) against OpenSSH's `ssh -L` (default cipher, and aes128-gcm)
#     through the same sshd, to a local nginx: 1 GiB download, wrk with 64 connections on 1 KiB
#     and 100 KiB files, tunnel RSS under that load, idle CPU;
#   - `jl up` to the first 200 through the tunnel, against Jupyter's own start and the old
#     three-function flow (ssh docker exec jupyter, ssh -fN -L, scrape `jupyter server list`), on
#     loopback and at 50 ms round-trip time (a delaying TCP proxy in front of sshd).
# Prints each figure and the ratio jl / reference. Needs root (test bed, nginx). Takes ~4 min.
# Usage: tests/bench/bench.sh [--quick]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/bench
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi
quick=0
[ "${1:-}" = --quick ] && quick=1
runs=3
wrk_secs=10
[ "$quick" = 1 ] && runs=1 && wrk_secs=4

note() { printf '%s\n' "bench: $*" >&2; }

"$root/tests/deps.sh" test
for p in nginx-light wrk; do
  dpkg -s "$p" >/dev/null 2>&1 || { note "installing $p"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
JL=${JL_BIN:-$root/build/jl}
if [ ! -x "$JL" ]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" -j "$(nproc)" --target jl >/dev/null
fi
"$root/tests/testbed/testbed.sh" up >/dev/null 2>&1 || "$root/tests/testbed/testbed.sh" up
eval "$("$root/tests/testbed/testbed.sh" env)"

W=$(mktemp -d /tmp/jl-bench.XXXXXX)
chmod 755 "$W"
export XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config
unset JL_HOST JL_SSH_CONFIG BROWSER SSH_AUTH_SOCK
pids=()
cleanup() {
  "$JL" -F "$CFG" close --all >/dev/null 2>&1 || true
  "$JL" -F "$CFG" stop --all >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  docker exec "$CONT" sh -c 'pkill -KILL -f "[j]upyter-(server|notebook|lab)"; rm -f /root/.local/share/jupyter/runtime/*server-*' >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# --- an ssh config with a delayed (50 ms RTT) route to the same sshd ------------------------
CONT=jltb-root
CFG=$W/ssh_config
delay_port=$(free_port)
python3 "$here/delay_proxy.py" "$delay_port" "$JL_TESTBED_PORT" 25 >"$W/proxy.log" 2>&1 &
pids+=($!)
wait_port "$delay_port"
{ cat "$JL_TESTBED_KNOWN_HOSTS"; printf '[127.0.0.1]:%s %s\n' "$delay_port" "$(cut -d' ' -f1,2 "$JL_TESTBED_HOSTKEY_PUB")"; } >"$W/known_hosts"
# One block per alias: libssh 0.10 matches later Host blocks against the HostName, not the alias.
for alias in fast slow; do
  port=$JL_TESTBED_PORT
  [ "$alias" = slow ] && port=$delay_port
  cat <<EOT
Host $alias
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $JL_TESTBED_USERKEY
  IdentitiesOnly yes
  UserKnownHostsFile $W/known_hosts
  StrictHostKeyChecking yes
EOT
done >"$CFG"

# --- nginx with the test files -------------------------------------------------------------
mkdir -p "$W/www" "$W/nginx"
truncate -s 1G "$W/www/1g"
head -c 102400 /dev/urandom >"$W/www/100k"
head -c 1024 /dev/urandom >"$W/www/1k"
chmod 644 "$W"/www/*
ngx=$(free_port)
cat >"$W/nginx.conf" <<EOT
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx;
  uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  server { listen 127.0.0.1:$ngx; root $W/www; }
}
EOT
nginx -c "$W/nginx.conf" -g 'user root;'
wait_port "$ngx"

# --- the three tunnels ---------------------------------------------------------------------
p_jl=$(free_port); p_ssh=$(free_port); p_gcm=$(free_port)
"$JL" -F "$CFG" -H fast forward -L "$p_jl:127.0.0.1:$ngx" >/dev/null
pid_jl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forwards"][0]["pid"])' "$XDG_STATE_HOME/jl/state.json")
ssh -F "$CFG" -o ExitOnForwardFailure=yes -N -L "$p_ssh:127.0.0.1:$ngx" fast &
pid_ssh=$!; pids+=($pid_ssh)
ssh -F "$CFG" -c aes128-gcm@openssh.com -o ExitOnForwardFailure=yes -N -L "$p_gcm:127.0.0.1:$ngx" fast &
pid_gcm=$!; pids+=($pid_gcm)
wait_port "$p_jl"; wait_port "$p_ssh"; wait_port "$p_gcm"
note "nginx on $ngx; jl -> $p_jl (pid $pid_jl), ssh -L -> $p_ssh, ssh -L aes128-gcm -> $p_gcm"

download() { # PORT -> best MiB/s of $runs
  local best=0 v i
  for i in $(seq "$runs"); do
    v=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$1/1g")
    best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a ? b : a) }')
  done
  awk -v b="$best" 'BEGIN { printf "%.0f", b / 1048576 }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wrk_run() { # PORT FILE PID -> "req/s p99_ms max_rss_kb"
  local out max=0 r
  wrk -t2 -c64 -d"${wrk_secs}s" --latency "http://127.0.0.1:$1/$2" >"$W/wrk.out" 2>&1 &
  local w=$!
  while kill -0 "$w" 2>/dev/null; do
    r=$(rss_kb "$3"); [ "${r:-0}" -gt "$max" ] && max=$r
    sleep 0.2
  done
  wait "$w" || true
  out=$(cat "$W/wrk.out")
  local rps p99
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<<"$out")
  echo "$rps ${p99:-0} $max"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

note "1 GiB downloads ($runs each)"
dl_jl=$(download "$p_jl"); dl_ssh=$(download "$p_ssh"); dl_gcm=$(download "$p_gcm")
note "wrk, 64 connections, 1 KiB"
read -r k1_jl p99_jl rss_jl < <(wrk_run "$p_jl" 1k "$pid_jl")
read -r k1_ssh p99_ssh rss_ssh < <(wrk_run "$p_ssh" 1k "$pid_ssh")
read -r k1_gcm p99_gcm rss_gcm < <(wrk_run "$p_gcm" 1k "$pid_gcm")
note "wrk, 64 connections, 100 KiB"
read -r k100_jl _ rss100_jl < <(wrk_run "$p_jl" 100k "$pid_jl")
read -r k100_ssh _ rss100_ssh < <(wrk_run "$p_ssh" 100k "$pid_ssh")
read -r k100_gcm _ _ < <(wrk_run "$p_gcm" 100k "$pid_gcm")
note "idle CPU over 10 s"
sleep 1
c0_jl=$(cpu_ticks "$pid_jl"); c0_ssh=$(cpu_ticks "$pid_ssh")
sleep 10
idle_jl=$(awk -v a="$c0_jl" -v b="$(cpu_ticks "$pid_jl")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / 10 * 100 }')
idle_ssh=$(awk -v a="$c0_ssh" -v b="$(cpu_ticks "$pid_ssh")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / 10 * 100 }')
"$JL" -F "$CFG" close --all >/dev/null

# --- jl up versus Jupyter's own start and the old flow ------------------------------------
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$CONT")
reset_container() {
  "$JL" -F "$CFG" close --all >/dev/null 2>&1 || true
  "$JL" -F "$CFG" stop --all >/dev/null 2>&1 || true
  docker exec "$CONT" sh -c 'pkill -KILL -f "[j]upyter-(server|notebook|lab)"; rm -f /root/.local/share/jupyter/runtime/*server-*' >/dev/null 2>&1 || true
  rm -rf "$XDG_STATE_HOME"
  sleep 0.3
}
first_200() { for _ in $(seq 600); do [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1")" = 200 ] && return 0; sleep 0.02; done; return 1; }
best() { tr ' ' '\n' | grep . | sort -g | head -n 1; }

own_start() {
  reset_container
  local t0
  t0=$(now)
  docker exec -d "$CONT" sh -c "cd /tmp && JUPYTER_TOKEN=bench exec jupyter server --allow-root --no-browser --ip=$ip --port=9998"
  printf 'Authorization: token bench\n' >"$W/hdr"
  for _ in $(seq 600); do [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "@$W/hdr" "http://$ip:9998/api/status")" = 200 ] && break; sleep 0.02; done
  since "$t0"
}
jl_up() { # HOST
  reset_container
  local t0 url
  t0=$(now)
  url=$("$JL" -F "$CFG" -H "$1" up "$CONT" --app server --no-browser | tail -n 1)
  first_200 "$url"
  since "$t0"
}
old_flow() { # HOST
  reset_container
  local t0 url lp
  lp=$(free_port)
  t0=$(now)
  ssh -F "$CFG" "$1" docker exec "$CONT" jupyter server --ip 0.0.0.0 --port 9999 --allow-root --no-browser >/dev/null 2>&1 &
  local jlr=$!
  ssh -F "$CFG" -fN -o ExitOnForwardFailure=yes -L "$lp:$ip:9999" "$1"
  url=
  while [ -z "$url" ]; do
    url=$(ssh -F "$CFG" "$1" docker exec "$CONT" jupyter server list 2>&1 | grep -o 'http://[^ ]*token=[0-9a-f]*' | head -n 1 || true)
  done
  url=$(sed -E "s#http://[^/]*/#http://127.0.0.1:$lp/#" <<<"$url")
  first_200 "$url"
  since "$t0"
  pkill -f -- "-L $lp:$ip:9999" || true
  kill "$jlr" 2>/dev/null || true
}

note "start-up: Jupyter's own start, jl up and the old flow ($runs each, best)"
own=""; up_fast=""; old_fast=""; up_slow=""; old_slow=""
for _ in $(seq "$runs"); do own+=" $(own_start)"; done
for _ in $(seq "$runs"); do up_fast+=" $(jl_up fast)"; done
for _ in $(seq "$runs"); do old_fast+=" $(old_flow fast)"; done
note "the same at 50 ms round-trip time"
for _ in $(seq "$runs"); do up_slow+=" $(jl_up slow)"; done
for _ in $(seq "$runs"); do old_slow+=" $(old_flow slow)"; done
# jl up through jump hosts, against OpenSSH's login through the same chains: the bed's inner
# host (only the bastion reaches it) through the bastion, and through the gateway (the bed's
# own sshd) then the bastion; "direct" is the bastion itself, the same sshd as the inner host.
cat >>"$CFG" <<EOT
Host j0 j1 j2 jgw
  User root
  IdentityFile $JL_TESTBED_USERKEY
  IdentitiesOnly yes
  UserKnownHostsFile $JL_TESTBED_KNOWN_HOSTS
  StrictHostKeyChecking yes
Host j0
  HostName $JL_TESTBED_BASTION
Host jgw
  HostName 127.0.0.1
  Port $JL_TESTBED_PORT
Host j1 j2
  HostName 127.0.0.1
  Port $JL_TESTBED_INNER_PORT
Host j1
  ProxyJump j0
Host j2
  ProxyJump jgw,j0
EOT
ssh_login() { # HOST -> seconds for `ssh HOST true`
  local t0
  t0=$(now)
  ssh -F "$CFG" -o BatchMode=yes "$1" true </dev/null >/dev/null 2>&1
  since "$t0"
}
note "jl up and ssh logins: direct, through one jump, through two ($runs each, best)"
declare -A upj sshj
for h in j0 j1 j2; do
  upj[$h]=""; sshj[$h]=""
  for _ in $(seq "$runs"); do upj[$h]+=" $(jl_up "$h")"; sshj[$h]+=" $(ssh_login "$h")"; done
done
own_b=$(best <<<"$own"); upf_b=$(best <<<"$up_fast"); oldf_b=$(best <<<"$old_fast")
ups_b=$(best <<<"$up_slow"); olds_b=$(best <<<"$old_slow")
reset_container

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
row() { printf '%-44s %12s %12s %14s   %s\n' "$@"; }
echo
echo "jl benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; one run, figures side by side"
row "what" "jl" "ssh -L" "ssh -L gcm" "ratio jl/ref (target)"
row "1 GiB download, MiB/s" "$dl_jl" "$dl_ssh" "$dl_gcm" "$(ratio "$dl_jl" "$dl_gcm") vs gcm (>= 1.0); $(ratio "$dl_jl" "$dl_ssh") vs default"
row "wrk 64 conn 1 KiB, req/s" "$k1_jl" "$k1_ssh" "$k1_gcm" "$(ratio "$k1_jl" "$k1_ssh") (>= 1.0)"
row "wrk 64 conn 1 KiB, p99 ms" "$p99_jl" "$p99_ssh" "$p99_gcm" "$(ratio "$p99_jl" "$p99_ssh") (<= 1.0)"
row "wrk 64 conn 100 KiB, req/s" "$k100_jl" "$k100_ssh" "$k100_gcm" "$(ratio "$k100_jl" "$k100_ssh") (>= 1.0)"
row "tunnel RSS at 64 conn (1 KiB), MB" "$(awk -v k="$rss_jl" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$rss_ssh" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$rss_gcm" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$rss_jl" "$rss_ssh") (<= 0.75)"
row "tunnel RSS at 64 conn (100 KiB), MB" "$(awk -v k="$rss100_jl" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$rss100_ssh" 'BEGIN { printf "%.1f", k / 1024 }')" "" "$(ratio "$rss100_jl" "$rss100_ssh")"
row "idle tunnel CPU over 10 s, %" "$idle_jl" "$idle_ssh" "" "(~0)"
echo
row "start-up, seconds (best of $runs)" "jl up" "old flow" "Jupyter alone" "jl up - Jupyter alone (target)"
row "loopback" "$upf_b" "$oldf_b" "$own_b" "+$(awk -v a="$upf_b" -v b="$own_b" 'BEGIN { printf "%.2f", a - b }') s (<= +0.4 s); old flow / jl up $(ratio "$oldf_b" "$upf_b")x"
row "50 ms round-trip time" "$ups_b" "$olds_b" "$own_b" "+$(awk -v a="$ups_b" -v b="$own_b" 'BEGIN { printf "%.2f", a - b }') s (<= +0.6 s); old flow / jl up $(ratio "$olds_b" "$ups_b")x"
echo
row "through jump hosts, seconds (best of $runs)" "jl up" "ssh HOST true" "" "jl up / jl up direct; ssh / ssh direct"
for h in j0 j1 j2; do
  label=$([ "$h" = j0 ] && echo "direct (the bastion)" || echo "${h#j} jump(s) to the inner host")
  u=$(best <<<"${upj[$h]}"); l=$(best <<<"${sshj[$h]}")
  row "$label" "$u" "$l" "" "$(ratio "$u" "$(best <<<"${upj[j0]}")")x; $(ratio "$l" "$(best <<<"${sshj[j0]}")")x"
done
echo "all runs: own start:$own | jl up:$up_fast | old flow:$old_fast | jl up 50ms:$up_slow | old flow 50ms:$old_slow"
echo "all runs: jl up j0:${upj[j0]} j1:${upj[j1]} j2:${upj[j2]} | ssh j0:${sshj[j0]} j1:${sshj[j1]} j2:${sshj[j2]}"
