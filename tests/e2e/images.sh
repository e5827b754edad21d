#!/usr/bin/env bash
# JupyterLab 4 images that fight a launcher (configs from tests/testbed/jupyter-config mounted at
# /etc/jupyter): c.ServerApp.ip = '0.0.0.0' with a fixed port, a base_url, a hashed password, a
# password with tokens switched off, a server extension that takes 20 s to load; a uid without
# a passwd entry (HOME=/ is not writable) and a read-only root file system with a tmpfs /tmp.
# jl's own choices win, its URLs and checks follow the base_url, the password case works or
# says which line to remove, a slow start is waited for and reported, and doctor warns.
. "$(dirname "$0")/lib.sh"

get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }
# The sockets listening in a container, as ADDRESS:PORT in hex (from /proc/net/tcp).
listening() { docker exec "$1" sh -c 'cat /proc/net/tcp /proc/net/tcp6' | awk '$4 == "0A" { print $2 }' | sort -u; }
hexport() { printf '%04X' "$1"; }
table=()

# up, URL, API and page through the tunnel, status, reuse, stop; one table row.
works() { # CONTAINER WHAT [jl up options]
  local c=$1 what=$2 url base pid
  shift 2
  reset_container "$c"
  run_jlh up "$c" --no-browser "$@"
  expect_rc 0 "$c: jl up"
  url=$(printf '%s\n' "$OUT" | tail -n 1)
  base=${url%%/lab\?*}
  printf 'Authorization: token %s\n' "$(session_field token)" >"$WORK/hdr"
  expect_eq "$(get "$base/api/status")" 200 "$c: the API answers with jl's token through the tunnel"
  expect_eq "$(curl -s -o "$WORK/page" -m 10 -w '%{http_code}' "$url")" 200 "$c: the URL loads"
  expect_contains "$(cat "$WORK/page")" "jupyter-config-data" "$c: and is JupyterLab's page"
  run_jlh status --json
  expect_contains "$OUT" '"answers": true' "$c: status: the server answers"
  pid=$(session_field pid)
  run_jlh start "$c"
  expect_contains "$OUT" "reusing" "$c: start again reuses the server"
  expect_eq "$(session_field pid)" "$pid" "$c: same pid"
  LAST_URL=$url
  LAST_PID=$pid
  table+=("$(printf '%-14s %-44s %s' "$c" "$what" "up, URL, API, status, reuse")")
}

stops() { # CONTAINER
  local c=$1 pid
  pid=$(session_field pid)
  run_jlh stop "$c"
  expect_contains "$OUT" "shut down cleanly" "$c: stop shuts it down"
  if container_pid_alive "$c" "$pid"; then fail "$c: the server still runs"; else pass "$c: the server is gone"; fi
  table[-1]="${table[-1]}, stop"
}

log "== ip 0.0.0.0 and port 9999 in the image's config: jl's address and port win"
C=jltb-cfgip
works "$C" "c.ServerApp.ip = '0.0.0.0', port = 9999"
expect_eq "$(session_field port)" 8888 "$C: jl's port, not the config's 9999"
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$C")
socks=$(listening "$C")
expect_contains "$socks" "$(printf '%02X%02X%02X%02X' $(echo "$ip" | awk -F. '{ print $4, $3, $2, $1 }')):$(hexport 8888)" \
  "$C: Jupyter listens on the container's address"
expect_not_contains "$socks" "00000000:$(hexport 8888)" "$C: not on 0.0.0.0"
expect_not_contains "$socks" ":$(hexport 9999)" "$C: nothing on the config's port 9999"
run_jlh logs "$C" -n 200
expect_not_contains "$OUT" "No web browser found" "$C: --no-browser beat open_browser = True"
run_jlh doctor "$C"
expect_contains "$OUT" "jupyter_server_config.py sets c.ServerApp.ip = '0.0.0.0'" "$C: doctor warns about the ip"
expect_contains "$OUT" "sets a fixed port (c.ServerApp.port = 9999)" "$C: and the fixed port"
stops "$C"

log "== base_url /user/alice/"
C=jltb-baseurl
works "$C" "c.ServerApp.base_url = '/user/alice/'"
case $LAST_URL in http://127.0.0.1:*/user/alice/lab\?token=*) pass "$C: the URL has the base_url" ;; *) fail "$C: the URL is $LAST_URL" ;; esac
expect_eq "$(session_field base_url)" /user/alice/ "$C: the session records it"
expect_eq "$(get "${LAST_URL%%/user/*}/api/status")" 404 "$C: (the server has nothing outside it)"
run_jlh doctor "$C"
expect_contains "$OUT" "sets c.ServerApp.base_url = '/user/alice/': jl's URLs and checks use it" "$C: doctor notes it"
expect_contains "$OUT" "jl's session" "$C: doctor's session check answers under the base_url"
stops "$C"

log "== a hashed password"
C=jltb-password
works "$C" "hashed password"
run_jlh doctor "$C"
expect_contains "$OUT" "sets a password (c.PasswordIdentityProvider.hashed_password = <set>): jl's token opens the server as well" \
  "$C: doctor notes the password, without its hash"
expect_not_contains "$OUT" "argon2" "$C: the hash is not shown"
stops "$C"

log "== a password with tokens switched off: jl says which line to remove"
C=jltb-notoken
reset_container "$C"
run_jlh up "$C" --no-browser
expect_rc 4 "$C: jl up fails (remote)"
expect_contains "$ERR" "jl: error: Jupyter started in '$C' but refuses jl's token (HTTP 403): /etc/jupyter/jupyter_server_config.py sets c.ServerApp.token = ''" \
  "$C: the error names the file and the line"
expect_contains "$ERR" "hint: remove that line from /etc/jupyter/jupyter_server_config.py in the image" "$C: and the fix"
expect_eq "$(jupyter_count "$C")" 0 "$C: nothing is left running"
expect_eq "$(session_count)" 0 "$C: no session recorded"
run_jlh doctor "$C"
expect_contains "$OUT" "FAIL  jupyter config" "$C: doctor fails the config"
table+=("$(printf '%-14s %-44s %s' "$C" "password, c.ServerApp.token = ''" "up refused: names the line")")

log "== a server extension that takes 20 s to load"
C=jltb-slow
reset_container "$C"
run_jlh up "$C" --no-browser --timeout 5
expect_rc 5 "$C: with --timeout 5 jl up times out"
expect_contains "$ERR" "Jupyter did not start within 5 s in container '$C' (stopped it); the end of its log:" "$C: it says so"
expect_contains "$ERR" "jltb_slow: warming up, this takes 20 s" "$C: the log's end names the slow extension"
expect_eq "$(jupyter_count "$C")" 0 "$C: and stopped what it started"
reset_container "$C"
t0=$(date +%s.%N)
out=$(python3 "$(dirname "$0")/pty_dialog.py" 90 'waiting for it to listen, [0-9]+ s of 60; log: .*jltb_slow: warming' '' -- \
  "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" up "$C" --no-browser 2>&1)
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
expect_contains "$out" "EXIT 0" "$C: with the default --timeout (60 s) jl up waits and succeeds (${secs} s)"
expect_contains "$out" "ANSWERED 1" "$C: the spinner said what it waited for, with the log's last line"
if awk -v s="$secs" 'BEGIN { exit !(s >= 20) }'; then pass "$C: it took the extension's 20 s"; else fail "$C: only $secs s"; fi
url=$(printf '%s\n' "$out" | grep -o 'http://127.0.0.1:[0-9]*/lab?token=[0-9a-f]*' | tail -n 1)
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url")" 200 "$C: the URL loads"
table+=("$(printf '%-14s %-44s %s' "$C" "extension that loads in 20 s" "timeout 5 s: log tail; default: up after ${secs} s")")
stops "$C"

log "== HOME not writable: a uid without a passwd entry (HOME=/)"
C=jltb-nohome
works "$C" "--user 4242:4242, HOME=/ not writable"
expect_contains "$(session_field runtime_file)" "/tmp/jl-4242/runtime/jpserver-" "$C: the runtime file is in jl's own directory"
perms=$(docker exec "$C" ls -ldn /tmp/jl-4242 | awk '{ print $1, $3 }')
expect_eq "$perms" "drwx------ 4242" "$C: which is 0700 and the user's"
# A session jl forgot: the server is still found there and reused.
rm -f "$(state_file)"
run_jlh up "$C" --no-browser
expect_contains "$OUT" "reusing" "$C: a server in jl's runtime directory is found again"
expect_eq "$(session_field pid)" "$LAST_PID" "$C: the same one"
stops "$C"

log "== a read-only root file system with a tmpfs /tmp"
C=jltb-rofs
works "$C" "--read-only, --tmpfs /tmp (root)"
expect_contains "$(session_field runtime_file)" "/tmp/jl-0/runtime/jpserver-" "$C: the runtime file is in /tmp"
run_jlh logs "$C" -n 20
expect_rc 0 "$C: logs"
stops "$C"

log "container      image shape                                  what ran"
for row in "${table[@]}"; do log "$row"; done
finish
