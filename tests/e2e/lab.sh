#!/usr/bin/env bash
# JupyterLab 4 as pip installs it (jupyterlab and jupyter_server 2 from PyPI, pinned in
# tests/testbed/pypi/lab4.txt, in /usr/local on Debian's Python): auto picks lab, the URL opens
# /lab, and start, up, status, reuse of a server jl did not start, logs, doctor and stop work.
. "$(dirname "$0")/lib.sh"

C=jltb-lab4
reset_container "$C"
want_lab=$(sed -n 's/^jupyterlab==//p' "$(dirname "$0")/../testbed/pypi/lab4.txt")
want_server=$(sed -n 's/^jupyter_server==//p' "$(dirname "$0")/../testbed/pypi/lab4.txt")
get() { curl -s -o /dev/null -m 10 -w '%{http_code}' -H "@$WORK/hdr" "$1"; }

log "== jl up: auto picks JupyterLab"
run_jlh up "$C" --no-browser
expect_rc 0 "jl up $C"
expect_contains "$OUT" "started Jupyter lab (jupyter_server $want_server)" "it started JupyterLab on jupyter_server 2"
expect_eq "$(session_field app)" lab "the session's app is lab"
expect_eq "$(session_field server_version)" "$want_server" "jupyter_server $want_server"
url=$(printf '%s\n' "$OUT" | tail -n 1)
case $url in http://127.0.0.1:*/lab\?token=*) pass "the URL opens /lab" ;; *) fail "the URL is $url" ;; esac
base=${url%%/lab\?*}
printf 'Authorization: token %s\n' "$(session_field token)" >"$WORK/hdr"
expect_eq "$(get "$base/api/status")" 200 "the API answers through the tunnel"
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url")" 200 "the /lab page loads with the token in the URL"
lab_html=$(curl -s -m 10 "$url")
expect_contains "$lab_html" "jupyter-config-data" "and is JupyterLab's page"
expect_eq "$(get "$base/lab/api/settings")" 200 "lab's own API answers"

log "== status, logs, doctor"
run_jlh status --json
expect_contains "$OUT" '"app": "lab"' "status shows the lab session"
expect_contains "$OUT" '"answers": true' "and that it answers"
run_jlh logs "$C" -n 50
expect_rc 0 "logs"
expect_contains "$OUT" "Jupyter Server $want_server" "the log is jupyter_server 2's"
run_jlh doctor "$C"
expect_contains "$OUT" "jupyter-lab $want_lab" "doctor names JupyterLab's version"
expect_contains "$OUT" "jupyter-server $want_server" "and jupyter_server's"

log "== start again reuses it; stop"
pid=$(session_field pid)
run_jlh start "$C"
expect_rc 0 "second start"
expect_contains "$OUT" "reusing" "reuses the server"
expect_eq "$(session_field pid)" "$pid" "same pid"
run_jlh stop "$C"
expect_rc 0 "stop"
expect_contains "$OUT" "shut down cleanly" "shut down cleanly"
if container_pid_alive "$C" "$pid"; then fail "the server still runs"; else pass "the server is gone"; fi

log "== a JupyterLab that jl did not start"
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

finish
