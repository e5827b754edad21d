#!/usr/bin/env bash
# A real browser: Debian's Chromium, headless, is $BROWSER, so jl opens it itself (on its 0600
# page, never the token URL). Over the DevTools protocol (tests/browser/drive.js, playwright-core)
# the suite waits for the app's UI and keeps a screenshot, creates a notebook and runs
# `import os; print(os.getpid())`; then kills the sshd process serving the tunnel, and once the
# tunnel is back the same tab runs a second cell without a reload, in the same kernel.
# JupyterLab 4 (in /usr/local and in a conda-like prefix), JupyterLab 3, Notebook 7 and Notebook 6. Screenshots go to $JL_ARTIFACTS (build/artifacts).
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
drive=$here/../browser
ARTIFACTS=${JL_ARTIFACTS:-$PWD/artifacts}/browser
mkdir -p "$ARTIFACTS"
CHROMIUM=$(command -v chromium || command -v chromium-browser) || { fail "Chromium is not installed"; finish; }
if [ ! -d "$drive/node_modules/playwright-core" ]; then
  (cd "$drive" && npm ci --no-audit --no-fund >/dev/null 2>"$WORK/npm.err") ||
    { fail "cannot install playwright-core: $(tail -n 3 "$WORK/npm.err")"; finish; }
fi
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }
table=()

one() { # CONTAINER APP(lab|notebook7|notebook6) PAGE [jl up options]
  local c=$1 app=$2 page=$3 dir profile port url base tp victim phase first second
  shift 3
  log "== $c: $app in Chromium"
  reset_container "$c"
  # A fresh UI: no JupyterLab workspace (it would reopen the last run's notebooks instead of the
  # launcher) and no notebooks of earlier runs.
  docker exec "$c" sh -c 'rm -rf "${HOME:-/}/.jupyter/lab/workspaces" /jl-browser-*.ipynb /Untitled*.ipynb' || true
  dir=$WORK/$c profile=$WORK/$c/profile
  mkdir -p "$profile"
  port=$((9300 + RANDOM % 500))
  cat >"$WORK/browser-$c" <<EOT
#!/bin/sh
printf '%s\n' "\$*" >"$dir/browser-argv"
exec "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --no-default-browser-check --remote-debugging-address=127.0.0.1 --remote-debugging-port=$port \
  --user-data-dir="$profile" "\$@" >"$dir/chromium.log" 2>&1
EOT
  chmod +x "$WORK/browser-$c"
  BROWSER=$WORK/browser-$c run_jlh up "$c" "$@"
  expect_rc 0 "$c: jl up opens the browser"
  on_exit "pkill -KILL -f -- '--user-data-dir=$profile'"
  url=$(printf '%s\n' "$OUT" | tail -n 1)
  base=${url%%"$page"\?*}
  session_field token >"$WORK/token"
  printf 'Authorization: token %s\n' "$(cat "$WORK/token")" >"$WORK/hdr"
  for _ in $(seq 100); do [ -s "$dir/browser-argv" ] && break; sleep 0.1; done
  expect_not_contains "$(cat "$dir/browser-argv" 2>/dev/null)" "$(cat "$WORK/token")" "$c: the token is not in Chromium's argv"
  for _ in $(seq 150); do curl -s -m 1 "http://127.0.0.1:$port/json/version" >/dev/null && break; sleep 0.1; done
  node "$drive/drive.js" "http://127.0.0.1:$port" "$base" "$app" "$WORK/token" "$dir" 2>"$dir/drive.log" &
  local driver=$!
  on_exit "kill $driver"
  for _ in $(seq 1200); do [ -s "$dir/phase1.json" ] || ! kill -0 "$driver" 2>/dev/null && break; sleep 0.1; done
  sed 's/^/    drive| /' "$dir/drive.log" >&2
  if [ ! -s "$dir/phase1.json" ]; then
    fail "$c: the UI did not come up or the cell did not run: $(head -c 600 "$dir/error.txt" 2>/dev/null)"
    sed 's/^/    chromium| /' "$dir/chromium.log" | tail -n 20 >&2
    for f in "$dir"/*.png; do [ -e "$f" ] && cp "$f" "$ARTIFACTS/$c-${f##*/}"; done
    run_jlh stop "$c"
    return
  fi
  first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$dir/phase1.json")
  pass "$c: the UI loaded and the cell printed the kernel's pid ($first)"
  expect_eq "$(docker exec "$c" sh -c "kill -0 $first && echo alive")" alive "$c: that pid is a live process in the container"
  if [ -s "$dir/$app-home.png" ]; then pass "$c: screenshot kept ($ARTIFACTS/$c-$app-home.png)"; else fail "$c: no screenshot"; fi

  tp=$(session_field tunnel_pid)
  victim=$(sshd_of_tunnel "$tp")
  if [ -n "$victim" ]; then pass "$c: found sshd $victim serving tunnel $tp"; else fail "$c: no sshd for the tunnel"; fi
  kill $victim
  local t0 back=
  t0=$(date +%s.%N)
  for _ in $(seq 300); do
    if grep -q "reconnected" "$XDG_STATE_HOME"/jl/tunnels/*.log 2>/dev/null && [ "$(get "${base}api/status")" = 200 ]; then back=1; break; fi
    sleep 0.1
  done
  if [ -n "$back" ]; then
    pass "$c: the tunnel is back after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  else
    fail "$c: the tunnel did not come back"
  fi
  touch "$dir/go"
  wait "$driver"
  local rc=$?
  sed 's/^/    drive| /' "$dir/drive.log" | tail -n 2 >&2
  for f in "$dir"/*.png; do [ -e "$f" ] && cp "$f" "$ARTIFACTS/$c-${f##*/}"; done
  expect_eq "$rc" 0 "$c: the driver finished"
  if [ -s "$dir/result.json" ]; then
    second=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["second"])' "$dir/result.json")
    expect_eq "$second" "$first" "$c: after the reconnect the same tab ran a cell in the same kernel"
    expect_contains "$(cat "$dir/result.json")" '"marker":"still the same document"' "$c: without a reload"
    table+=("$(printf '%-11s %-10s %-8s %s' "$c" "$app" "$first" "UI, screenshot, cell, sshd killed, cell in the same tab and kernel")")
  else
    fail "$c: no second cell: $(head -c 600 "$dir/error.txt" 2>/dev/null)"
  fi
  run_jlh stop "$c"
  expect_rc 0 "$c: stop"
  pkill -KILL -f -- "--user-data-dir=$profile" 2>/dev/null
  rm -f "$XDG_STATE_HOME"/jl/tunnels/*.log
}

for c in jltb-lab4 jltb-lab3 jltb-conda; do
  one "$c" lab lab
  on_exit "docker exec $c sh -c 'rm -rf /root/.jupyter/lab/workspaces /jl-browser-*.ipynb'"
done
one jltb-nb7 notebook7 tree --app notebook
one cont1 notebook6 tree --app notebook

log "container   app        kernel   what ran"
for row in "${table[@]}"; do log "$row"; done
finish
