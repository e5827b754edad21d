#!/usr/bin/env bash
# jl over long links: round trips, measured in one run at 50 ms and at 150 ms round-trip time (a
# delaying TCP proxy in front of the bed's sshd, 25 ms and 75 ms each way on loopback), side by
# side, each figure the median of N runs:
#   1. `jl up C` over a fresh connection (no tunnel, Jupyter stopped), to the first 200 through
#      the tunnel;
#   2. `jl up C2` of another container while the tunnel of C (the host's master) lives, Jupyter
#      stopped too, to the first 200; and once more with C2's Jupyter running (its tunnel closed);
#   3. `jl status` (two sessions) with the master alive, and with no tunnel (a fresh connection);
#   4. the old three-function flow (ssh docker exec jupyter lab, ssh -fN -L, scrape `jupyter
#      server list`), to the first 200;
#   5. OpenSSH with ControlMaster: `ssh host true` that makes the master, `ssh host true` over it,
#      and `ssh -O forward -L` over it to the first 200 of the Jupyter already running in C;
#   6. Jupyter's own start on the host, without SSH (docker exec -d, poll /api/status).
# Next to each time through the proxy it prints the turns counted in the proxy's trace (below),
# and the ratio jl / reference where one applies. Needs root and the test bed; uses only the
# containers jltb-lab4 (C) and jltb-conda (C2), its own XDG directories, and 127.0.0.1. Takes
# ~4 min (~1.5 min with --quick).
# Usage: tests/bench/rtt.sh [--quick | --runs N]
#
# Turns. The proxy (JL_PROXY_TRACE) logs every chunk it reads, with the time it arrived, the
# connection and the direction. A turn is a change of direction from client->server to
# server->client on one connection: the client said something and then the server answered.
# When the client waits for that answer before its next step (key exchange, authentication, a
# channel open, an exec and its exit status, an HTTP request), each such step costs one RTT on
# the critical path, and shows as one turn; so the turns during a command approximate the round
# trips it waits for. Approximate because: messages the client sends without waiting (pipelined
# requests, window adjusts, keepalives) can still produce a turn; turns on connections that run
# at the same time (the old flow's three ssh) add up though their round trips overlap; and a
# server that sends on its own (output streaming) gives no turn at all. Time that is not round
# trips (sshd's session setup, Jupyter's start, docker exec) is in the seconds, not the turns.
# Only the trace lines whose arrival falls within the command's window are counted; for the
# shared cases that is the master's existing connection.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/bench
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi
runs=3
case "${1:-}" in
  --quick) runs=1 ;;
  --runs) runs=${2:?--runs N} ;;
  "") ;;
  *) sed -n 's/^# Usage: //p' "$0" >&2; exit 2 ;;
esac

note() { printf '%s\n' "bench: $*" >&2; }

JL=${JL_BIN:-$root/build/jl}
[ -x "$JL" ] || { note "build jl first (cmake --build build), or set JL_BIN"; exit 1; }
"$root/tests/testbed/testbed.sh" up >/dev/null 2>&1 || "$root/tests/testbed/testbed.sh" up
eval "$("$root/tests/testbed/testbed.sh" env)"

C=jltb-lab4
C2=jltb-conda
DELAYS=(25 75) # one way, ms
W=$(mktemp -d /tmp/jl-bench-rtt.XXXXXX)
chmod 755 "$W"
mkdir -m 700 "$W/run"
export XDG_STATE_HOME=$W/state XDG_CONFIG_HOME=$W/config XDG_RUNTIME_DIR=$W/run
unset JL_HOST JL_SSH_CONFIG BROWSER SSH_AUTH_SOCK
CFG=$W/ssh_config
proxy_pids=()
bg_pids=()

jlc() { timeout -k 5 180 "$JL" -F "$CFG" "$@" </dev/null; }
ssh_() { timeout -k 5 120 ssh -F "$CFG" -o BatchMode=yes "$@" </dev/null; }
cm() { ssh_ -o ControlPath="$W/cm-%C" "$@"; } # OpenSSH through the ControlMaster's socket

# Jupyter servers in C and C2 that registered a runtime file: killed by their pid, file removed.
# These two containers are the bench's own while it runs.
kill_servers() {
  local c
  for c in "$C" "$C2"; do
    docker exec "$c" sh -c 'cd "$HOME/.local/share/jupyter/runtime" 2>/dev/null || exit 0
      for f in jpserver-*.json; do
        [ -f "$f" ] || continue
        p=${f#jpserver-}; p=${p%.json}
        kill -KILL "$p" 2>/dev/null
        rm -f "$f" "jpserver-$p-open.html"
      done
      [ ! -f /tmp/jl-bench-own.pid ] || { kill -KILL "$(cat /tmp/jl-bench-own.pid)" 2>/dev/null; rm -f /tmp/jl-bench-own.pid; }
      true' >/dev/null 2>&1 || true
  done
}
# Wait until no master's socket is left in our runtime directory (the master ends by itself once
# its last tunnel closed).
no_master() {
  for _ in $(seq 100); do
    compgen -G "$XDG_RUNTIME_DIR/jl/*.sock" >/dev/null || return 0
    sleep 0.05
  done
  note "a master's socket is still there: $(ls "$XDG_RUNTIME_DIR/jl")"
}
reset_all() {
  jlc close --all >/dev/null 2>&1 || true
  jlc stop --all >/dev/null 2>&1 || true
  kill_servers
  rm -rf "$XDG_STATE_HOME"
  no_master
}
cleanup() {
  local h p
  set +e
  for h in d25 d75; do ssh -F "$CFG" -o ControlPath="$W/cm-%C" -O exit "$h" >/dev/null 2>&1; done
  reset_all
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The page the URL names, redirects followed (Jupyter sends / on to /lab), as create.sh.
first_200() { for _ in $(seq 1500); do [ "$(curl -sL -o /dev/null -m 5 -w '%{http_code}' "$1")" = 200 ] && return 0; sleep 0.02; done; note "no 200 from $1"; return 1; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# turns TRACE FROM TO -> "TURNS CONNECTIONS" among the trace's lines that arrived in [FROM, TO]
turns() {
  awk -v a="$2" -v b="$3" '$5 >= a && $5 <= b {
      if (!($2 in last)) conns++
      if ($3 == "S>C" && last[$2] == "C>S") t++
      last[$2] = $3
    } END { printf "%d %d\n", t, conns }' "$1"
}

# --- the delaying proxies, each with its trace, and an ssh config with a host for each ----------
cp "$JL_TESTBED_KNOWN_HOSTS" "$W/known_hosts"
for d in "${DELAYS[@]}"; do
  JL_PROXY_TRACE=$W/trace-$d python3 "$here/delay_proxy.py" 0 "$JL_TESTBED_PORT" "$d" 127.0.0.1 >"$W/proxy-$d.log" 2>&1 &
  proxy_pids+=($!)
  for _ in $(seq 100); do grep -q '^delay proxy' "$W/proxy-$d.log" && break; sleep 0.05; done
  port=$(sed -n 's/^delay proxy 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$W/proxy-$d.log")
  [ -n "$port" ] || { note "the proxy did not start: $(cat "$W/proxy-$d.log")"; exit 1; }
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$JL_TESTBED_HOSTKEY_PUB")" >>"$W/known_hosts"
  # One block per alias: libssh 0.10 matches later Host blocks against the HostName, not the alias.
  cat >>"$CFG" <<EOT
Host d$d
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $JL_TESTBED_USERKEY
  IdentitiesOnly yes
  UserKnownHostsFile $W/known_hosts
  StrictHostKeyChecking yes
EOT
done
note "proxies: $(cat "$W"/proxy-*.log | tr '\n' ';')"

ip_c=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$C")
# A session's "ADDRESS PORT TOKEN" from jl's state file.
session_of() {
  python3 -c 'import json, sys
for s in json.load(open(sys.argv[1]))["sessions"]:
    if s["container"] == sys.argv[2]:
        print(s["address"], s["port"], s["token"])' "$XDG_STATE_HOME/jl/state.json" "$1"
}

# Results: R[KEY:DELAY] and T[KEY:DELAY] collect the seconds and turns of each run.
declare -A R T
add() { # KEY DELAY SECONDS TRACE FROM TO
  local t
  R[$1:$2]+=" $3"
  if [ -n "${4:-}" ]; then
    read -r t _ < <(turns "$4" "$5" "$6")
    T[$1:$2]+=" $t"
  fi
}

# One run at one delay: every measurement through the proxy, in this order.
run_at() { # ONE_WAY_MS
  local d=$1 h=d$1 tr=$W/trace-$1 t0 t1 url addr port token lp s fpid srv
  reset_all
  # 1. jl up C over a fresh connection; Jupyter starts.
  t0=$(now)
  url=$(jlc -H "$h" up "$C" --no-browser | tail -n 1)
  first_200 "$url"
  s=$(since "$t0"); t1=$(now); add up_fresh "$d" "$s" "$tr" "$t0" "$t1"
  # 2. jl up C2 while C's tunnel, the master, lives; Jupyter starts.
  compgen -G "$XDG_RUNTIME_DIR/jl/*.sock" >/dev/null || note "no master's socket after jl up $C"
  t0=$(now)
  url=$(jlc -H "$h" up "$C2" --no-browser | tail -n 1)
  first_200 "$url"
  s=$(since "$t0"); t1=$(now); add up_shared "$d" "$s" "$tr" "$t0" "$t1"
  # 3a. jl status of the two sessions over the master.
  t0=$(now)
  jlc status >/dev/null || note "jl status (shared) failed"
  s=$(since "$t0"); t1=$(now); add status_shared "$d" "$s" "$tr" "$t0" "$t1"
  # 2b. jl up C2 again, its Jupyter running, its tunnel closed, the master alive.
  jlc close "$C2" >/dev/null
  t0=$(now)
  url=$(jlc -H "$h" up "$C2" --no-browser | tail -n 1)
  first_200 "$url"
  s=$(since "$t0"); t1=$(now); add up_running "$d" "$s" "$tr" "$t0" "$t1"
  # 5. OpenSSH: the login that makes a ControlMaster, a command over it, a forward over it to
  #    the first 200 of C's running Jupyter.
  t0=$(now)
  cm -o ControlMaster=auto -o ControlPersist=60 "$h" true
  s=$(since "$t0"); t1=$(now); add ssh_fresh "$d" "$s" "$tr" "$t0" "$t1"
  t0=$(now)
  cm "$h" true
  s=$(since "$t0"); t1=$(now); add ssh_cm "$d" "$s" "$tr" "$t0" "$t1"
  read -r addr port token < <(session_of "$C")
  lp=$(free_port)
  t0=$(now)
  cm -O forward -L "$lp:$addr:$port" "$h" >/dev/null
  first_200 "http://127.0.0.1:$lp/lab?token=$token"
  s=$(since "$t0"); t1=$(now); add ssh_fwd "$d" "$s" "$tr" "$t0" "$t1"
  cm -O exit "$h" >/dev/null 2>&1 || true
  # 3b. jl status of the same two sessions with no tunnel: a connection of its own.
  jlc close --all >/dev/null
  no_master
  t0=$(now)
  jlc status >/dev/null || note "jl status (fresh) failed"
  s=$(since "$t0"); t1=$(now); add status_fresh "$d" "$s" "$tr" "$t0" "$t1"
  # 4. The old flow, as bench.sh and create.sh: ssh docker exec jupyter lab (in the background,
  #    as people leave it in a terminal), ssh -fN -L, scrape `jupyter server list` until the
  #    server is listed, first 200.
  reset_all
  lp=$(free_port)
  t0=$(now)
  ssh_ "$h" docker exec "$C" jupyter lab --ip 0.0.0.0 --port 9999 --allow-root --no-browser >/dev/null 2>&1 &
  srv=$!; bg_pids+=("$srv")
  ssh_ -fN -o ExitOnForwardFailure=yes -L "$lp:$ip_c:9999" "$h" >/dev/null 2>&1
  url=
  while [ -z "$url" ]; do
    [ "$(since "$t0" | cut -d. -f1)" -lt 120 ] || { note "old flow: the server never listed"; return 1; }
    url=$(ssh_ "$h" docker exec "$C" jupyter server list 2>&1 | grep -o 'http://[^ ]*:9999/[^ ]*token=[0-9a-f]*' | head -n 1 || true)
  done
  url=$(sed -E "s#http://[^/]*/#http://127.0.0.1:$lp/#" <<<"$url")
  first_200 "$url"
  s=$(since "$t0"); t1=$(now); add old "$d" "$s" "$tr" "$t0" "$t1"
  # The ssh -fN forked: its pid is the one that listens on lp.
  fpid=$(ss -Hltnp "sport = :$lp" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
  if [ -n "$fpid" ]; then kill "$fpid" 2>/dev/null || true; fi
  kill "$srv" 2>/dev/null || true
  kill_servers
}

# 6. Jupyter's own start on the host, no SSH: docker exec -d, then poll /api/status.
own_start() { # CONTAINER -> seconds
  local ip t0
  ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$1")
  t0=$(now)
  docker exec -d "$1" sh -c "echo \$\$ >/tmp/jl-bench-own.pid; cd /tmp && JUPYTER_TOKEN=bench exec jupyter lab --allow-root --no-browser --ip=$ip --port=9998"
  for _ in $(seq 1500); do [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "@$W/hdr" "http://$ip:9998/api/status")" = 200 ] && break; sleep 0.02; done
  since "$t0"
  kill_servers
}
printf 'Authorization: token bench\n' >"$W/hdr"

note "$runs run(s); each: Jupyter's own start in $C and $C2, then every measurement at 50 ms, then at 150 ms RTT"
for r in $(seq "$runs"); do
  reset_all
  R[own:C]+=" $(own_start "$C")"
  R[own:C2]+=" $(own_start "$C2")"
  for d in "${DELAYS[@]}"; do
    note "run $r/$runs, $((2 * d)) ms RTT"
    run_at "$d"
  done
done
reset_all

# --- the table ------------------------------------------------------------------------------
med() { median <<<"${R[$1]:-}"; }
medt() { median <<<"${T[$1]:-}"; }
fig() { # KEY DELAY -> "1.23 s, 14 turns"
  if [ -n "${T[$1:$2]:-}" ]; then printf '%s s, %s turns' "$(med "$1:$2")" "$(medt "$1:$2")"; else printf '%s s' "$(med "$1:$2")"; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
ratios() { # KEY REFKEY -> "0.45; 0.40"
  printf '%s; %s' "$(ratio "$(med "$1:25")" "$(med "$2:25")")" "$(ratio "$(med "$1:75")" "$(med "$2:75")")"
}
rts() { # KEY DELAY OWNKEY -> (median - own start) / RTT
  awk -v t="$(med "$1:$2")" -v o="$(med "$3")" -v rtt="$((2 * $2))" 'BEGIN { printf "%.1f", (t - o) / (rtt / 1000) }'
}
row() { printf '%-50s %-20s %-20s %s\n' "$@"; }
own_c=$(med own:C); own_c2=$(med own:C2)
echo
echo "jl over long links, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; median of $runs, one run; C=$C, C2=$C2"
row "what" "50 ms RTT" "150 ms RTT" "jl / reference (50 ms; 150 ms)"
row "1. jl up C, fresh connection, to first 200" "$(fig up_fresh 25)" "$(fig up_fresh 75)" "$(ratios up_fresh old) vs old flow"
row "2. jl up C2, master alive, to first 200" "$(fig up_shared 25)" "$(fig up_shared 75)" "$(ratios up_shared old) vs old flow; $(ratios up_shared up_fresh) vs jl up fresh"
row "2b. jl up C2, Jupyter running, master alive" "$(fig up_running 25)" "$(fig up_running 75)" "$(ratios up_running ssh_fwd) vs ssh -L via master"
row "3. jl status (2 sessions), master alive" "$(fig status_shared 25)" "$(fig status_shared 75)" "$(ratios status_shared status_fresh) vs jl status fresh; $(ratios status_shared ssh_cm) vs ssh true via master"
row "3. jl status (2 sessions), fresh connection" "$(fig status_fresh 25)" "$(fig status_fresh 75)" "$(ratios status_fresh ssh_fresh) vs ssh true, fresh"
row "4. old flow (ssh exec, ssh -fN -L, server list)" "$(fig old 25)" "$(fig old 75)" ""
row "5. ssh host true, makes the ControlMaster" "$(fig ssh_fresh 25)" "$(fig ssh_fresh 75)" ""
row "5. ssh host true, via the ControlMaster" "$(fig ssh_cm 25)" "$(fig ssh_cm 75)" ""
row "5. ssh -O forward -L via master, to first 200" "$(fig ssh_fwd 25)" "$(fig ssh_fwd 75)" ""
row "6. Jupyter's own start on the host, C / C2" "$own_c / $own_c2 s" "(same)" ""
echo
row "jl up - Jupyter's own start, in RTTs" "50 ms RTT" "150 ms RTT" ""
row "1. jl up C, fresh" "$(rts up_fresh 25 own:C)" "$(rts up_fresh 75 own:C)" ""
row "2. jl up C2, master alive" "$(rts up_shared 25 own:C2)" "$(rts up_shared 75 own:C2)" ""
row "4. old flow" "$(rts old 25 own:C)" "$(rts old 75 own:C)" ""
echo
echo "turns: client->server then server->client on one connection, counted in the proxy's trace"
echo "within each command's window (all its connections; see the comment at the top of rtt.sh)"
for k in up_fresh up_shared up_running status_shared status_fresh old ssh_fresh ssh_cm ssh_fwd; do
  echo "all runs $k: 50 ms:${R[$k:25]} (turns${T[$k:25]}) | 150 ms:${R[$k:75]} (turns${T[$k:75]})"
done
echo "all runs own start: $C:${R[own:C]} | $C2:${R[own:C2]}"
