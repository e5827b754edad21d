#!/usr/bin/env bash
# Jupyter as pip installs it: JupyterLab 4 and 3, Notebook 7 (all on jupyter_server 2, pinned in
# tests/testbed/pypi/*.txt) in /usr/local on Debian's Python, and JupyterLab 4 in a prefix of its
# own that is on PATH only through the image's ENV (as conda images have it). For each: jl up
# (auto picks lab where it is there), the URL opens the right page, the API and the page answer
# through the tunnel, status, logs, doctor with the versions, start again reuses, stop. Then a
# JupyterLab that jl did not start is found and reused.
. "$(dirname "$0")/lib.sh"

locks=$(dirname "$0")/../testbed/pypi
pin() { sed -n "s/^$2==//p" "$locks/$1.txt"; }
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }
table=()

# The app's own start, as people run it: docker exec, then poll /api/status from the host.
own_start() { # CONTAINER APP -> seconds
  local c=$1 app=$2 ip t0
  ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$c")
  t0=$(date +%s.%N)
  docker exec -d "$c" sh -c "cd /tmp && JUPYTER_TOKEN=own-start-token-0123 exec jupyter $app --allow-root --no-browser --ip=$ip --port=9998 >/tmp/own.log 2>&1"
  for _ in $(seq 600); do
    [ "$(http_status_with_token "http://$ip:9998/api/status" own-start-token-0123)" = 200 ] && break
    sleep 0.02
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
  reset_container "$c"
}

one() { # CONTAINER LOCK PREFIX APP PAGE [jl up options]
  local c=$1 lock=$2 prefix=$3 app=$4 page=$5 server ver url base pid what t0 secs own
  shift 5
  server=$(pin "$lock" jupyter_server)
  case $app in lab) ver=$(pin "$lock" jupyterlab) ;; notebook) ver=$(pin "$lock" notebook) ;; esac
  log "== $c: $app $ver on jupyter_server $server ($lock)"
  reset_container "$c"
  t0=$(date +%s.%N)
  run_jlh up "$c" --no-browser "$@"
  expect_rc 0 "$c: jl up"
  url=$(printf '%s\n' "$OUT" | tail -n 1)
  base=${url%%/"$page"\?*}
  printf 'Authorization: token %s\n' "$(session_field token)" >"$WORK/hdr"
  for _ in $(seq 100); do [ "$(get "$base/api/status")" = 200 ] && break; sleep 0.05; done
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  expect_contains "$OUT" "started Jupyter $app (jupyter_server $server)" "$c: started $app on jupyter_server $server"
  expect_eq "$(session_field app)" "$app" "$c: the session's app"
  case $url in http://127.0.0.1:*/"$page"\?token=*) pass "$c: the URL opens /$page" ;; *) fail "$c: the URL is $url" ;; esac
  expect_eq "$(get "$base/api/status")" 200 "$c: the API answers through the tunnel"
  expect_eq "$(curl -s -o "$WORK/page" -m 10 -w '%{http_code}' "$url")" 200 "$c: /$page loads with the token in the URL"
  expect_contains "$(cat "$WORK/page")" "jupyter-config-data" "$c: and is the app's page"
  run_jlh status --json
  expect_contains "$OUT" '"answers": true' "$c: status: the server answers"
  run_jlh logs "$c" -n 50
  expect_contains "$OUT" "Jupyter Server $server" "$c: logs: jupyter_server's log"
  run_jlh doctor "$c"
  what="jupyter-$app $ver"
  expect_contains "$OUT" "$what" "$c: doctor names $what"
  expect_contains "$OUT" "jupyter-server $server" "$c: and jupyter-server $server"
  pid=$(session_field pid)
  run_jlh start "$c" "$@"
  expect_contains "$OUT" "reusing" "$c: start again reuses the server"
  expect_eq "$(session_field pid)" "$pid" "$c: same pid"
  run_jlh stop "$c"
  expect_contains "$OUT" "shut down cleanly" "$c: stop shuts it down"
  if container_pid_alive "$c" "$pid"; then fail "$c: the server still runs"; else pass "$c: the server is gone"; fi
  own=$(own_start "$c" "$app")
  table+=("$(printf '%-11s %-9s %-8s %-7s %-11s %-8s %-8s %s' "$c" "$app" "$ver" "$server" "$prefix" \
    "$secs" "$own" "$(awk -v a="$secs" -v b="$own" 'BEGIN { printf "%.2fx", a / b }')")")
}

one jltb-lab4 lab4 /usr/local lab lab
one jltb-conda lab4 /opt/conda lab lab
one jltb-lab3 lab3 /usr/local lab lab
# Notebook 7 needs the jupyterlab package, so jupyter-lab is there too and auto picks it; the
# notebook app is asked for by name.
one jltb-nb7 nb7 /usr/local notebook tree --app notebook
expect_eq "$(docker exec jltb-conda sh -c 'command -v jupyter-lab')" /opt/conda/bin/jupyter-lab \
  "jltb-conda: jupyter-lab comes from the prefix on the image's PATH"

log "== a JupyterLab that jl did not start"
C=jltb-lab4
reset_container "$C"
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$C")
docker exec -d "$C" sh -c 'cd /tmp && JUPYTER_TOKEN=handmade-token-0123456789 exec jupyter lab --allow-root --no-browser --ip=0.0.0.0 --port=8899 >/tmp/hand.log 2>&1'
for _ in $(seq 1 150); do
  [ "$(http_status_with_token "http://$ip:8899/api/status" handmade-token-0123456789)" = 200 ] && break
  sleep 0.1
done
run_jlh start "$C"
expect_rc 0 "start finds the hand-made JupyterLab"
expect_contains "$OUT" "reusing" "and reuses it"
expect_eq "$(session_field port)" 8899 "its port"
expect_eq "$(session_field app)" lab "as lab"
run_jlh stop "$C"
expect_rc 0 "stop the hand-made server"

log "container   app       version  server  prefix      jl up    own      ratio (seconds to the first 200)"
for row in "${table[@]}"; do log "$row"; done
finish
