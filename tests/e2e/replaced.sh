#!/usr/bin/env bash
# A session's container re-created under the same name, or removed: status, open, logs, doctor
# and stop say so in words, with what to do, instead of "stale" or a missing log file; up starts
# afresh in the new container. Also: a server that is gone reads "nothing listens on ADDR:PORT
# inside CONTAINER (connection refused)", with no libssh text, in the table and in JSON; and
# open prints the URL right after the line that announces it.
. "$(dirname "$0")/lib.sh"

C=jltb-replaced-$$
make_container() {
  docker run -d --name "$C" --label jl-testbed=1 --label jl-testbed.spec=e2e \
    jl-testbed/jupyter:1 sleep infinity
}
# shellcheck disable=SC2317  # called by the EXIT trap
replaced_cleanup() {
  "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" close --all >/dev/null 2>&1
  docker rm -f "$C" >/dev/null 2>&1
  cleanup
}
trap replaced_cleanup EXIT

# No raw libssh words anywhere in what a command printed.
expect_words() { # WHAT
  expect_not_contains "$OUT$ERR" "Channel opening failure" "$1: no libssh text"
  expect_not_contains "$OUT$ERR" "error (2)" "$1: no raw reason code"
}

id1=$(make_container)
run_jlh start "$C"
expect_rc 0 "start in $C"
expect_eq "$(session_field container_id)" "$id1" "the session records the container's id"
address=$(session_field address)
port=$(session_field port)

# ---------------------------------------------------------------------------------------------
log "== the server is gone, the container the same"
reset_container "$C"
run_jlh status "$C"
expect_rc 0 "status"
expect_contains "$OUT" "no (nothing listens on $address:$port inside $C (connection refused))" \
  "the ANSWERS column says in words why"
expect_words "status"
run_jlh --json status "$C"
printf '%s\n' "$OUT" >"$WORK/status.json"
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["detail"])' "$WORK/status.json")" \
  "nothing listens on $address:$port inside $C (connection refused)" "JSON detail in the same words"
run_jlh open "$C" --no-browser
expect_rc 4 "open of a server that is gone"
expect_words "open"
expect_not_contains "$ERR" "re-created" "open does not claim the container was re-created"

# ---------------------------------------------------------------------------------------------
log "== the URL follows its announcement"
run_jlh start "$C"
expect_rc 0 "start again"
last_two() { printf '%s\n' "$OUT" | tail -n 2 | head -n 1; }
url_last() {
  case $(printf '%s\n' "$OUT" | tail -n 1) in
    http://127.0.0.1:*/*) pass "$1: the last line is the URL" ;;
    *) fail "$1: the last line is not the URL: $(printf '%s\n' "$OUT" | tail -n 1)" ;;
  esac
}
run_jlh open "$C" --no-browser
expect_rc 0 "open --no-browser"
expect_eq "$(last_two)" "open this URL:" "--no-browser: the announcement is right above the URL"
url_last "--no-browser"
BROWSER=jl-no-such-opener-$$ run_jlh open "$C"
expect_rc 0 "open with no browser opener to be found"
expect_eq "$(last_two)" "no browser opener found (set \$BROWSER, or install xdg-utils); open this URL:" \
  "no opener: the announcement is right above the URL"
url_last "no opener"
printf '#!/bin/sh\necho "$1" >"%s"\n' "$WORK/opened" >"$WORK/fake-browser"
chmod +x "$WORK/fake-browser"
BROWSER=$WORK/fake-browser run_jlh open "$C"
expect_rc 0 "open with \$BROWSER"
expect_contains "$(last_two)" "opened in the browser (" "\$BROWSER: the announcement is right above the URL"
url_last "\$BROWSER"
opened=$(cat "$WORK/opened" 2>/dev/null)
case $opened in
  file://*.html) expect_contains "$(cat "${opened#file://}")" "url=$(printf '%s\n' "$OUT" | tail -n 1)\"" "the browser got a page that sends it to that URL" ;;
  *) fail "the browser got '$opened', not jl's page" ;;
esac

# ---------------------------------------------------------------------------------------------
log "== the container is re-created under the same name"
docker rm -f "$C" >/dev/null
id2=$(make_container)
was="it was ${id1:0:12}, it is now ${id2:0:12}"
words="container '$C' on $JL_TESTBED_HOST was re-created since jl started Jupyter in it ($was)"
hint="hint: start Jupyter in the new container with: jl -H $JL_TESTBED_HOST up $C"

run_jlh status "$C"
expect_rc 0 "status"
expect_contains "$OUT" "$words" "status says the container was re-created, old and new id"
expect_contains "$OUT" "jl -H $JL_TESTBED_HOST up $C" "status says what to do"
expect_words "status"

run_jlh open "$C" --no-browser
expect_rc 4 "open"
expect_error_shape "open"
expect_contains "$ERR" "jl: error: $words" "open says the container was re-created"
expect_contains "$ERR" "$hint" "open says what to do"

run_jlh logs "$C"
expect_rc 4 "logs"
expect_error_shape "logs"
expect_contains "$ERR" "jl: error: $words" "logs says the container was re-created"
expect_not_contains "$ERR" "No such file" "logs does not blame a missing log file"
expect_contains "$ERR" "$hint" "logs says what to do"

run_jlh doctor "$C"
expect_contains "$OUT$ERR" "$words" "doctor says the container was re-created"
expect_not_contains "$OUT$ERR" "stale" "doctor does not call it merely stale"
expect_contains "$OUT$ERR" "jl -H $JL_TESTBED_HOST up $C" "doctor says what to do"

run_jlh start "$C"
expect_rc 0 "start in the new container"
expect_contains "$ERR" "$words" "start notes that the old server went with the old container"
expect_eq "$(session_field container_id)" "$id2" "the session now records the new id"
expect_eq "$(jupyter_count "$C")" 1 "one Jupyter runs in the new container"

# ---------------------------------------------------------------------------------------------
log "== the container is removed"
docker rm -f "$C" >/dev/null
gone="container '$C' on $JL_TESTBED_HOST no longer exists (jl started Jupyter in ${id2:0:12})"
run_jlh status "$C"
expect_contains "$OUT" "$gone" "status says the container no longer exists"
run_jlh open "$C" --no-browser
expect_rc 4 "open"
expect_contains "$ERR" "jl: error: $gone" "open says the container no longer exists"
expect_contains "$ERR" "hint: forget the session with: jl -H $JL_TESTBED_HOST stop $C" "open says what to do"
run_jlh stop "$C"
expect_rc 0 "stop forgets it"
expect_contains "$OUT$ERR" "no longer exists" "stop says why there was nothing to stop"
expect_eq "$(session_count)" 0 "no session left"

finish
