#!/usr/bin/env bash
# A container whose user is not root: no --allow-root, the server runs as that user.
. "$(dirname "$0")/lib.sh"

C=jltb-user
reset_container "$C"
run_jlh start "$C"
expect_rc 0 "start in a uid-1000 container"
pid=$(session_field pid)
uid=$(docker exec "$C" awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
expect_eq "$uid" 1000 "Jupyter runs as uid 1000"
cmdline=$(docker exec "$C" sh -c "tr '\0' ' ' </proc/$pid/cmdline")
expect_not_contains "$cmdline" "--allow-root" "no --allow-root for a non-root user"
log_file=$(session_field log)
expect_contains "$log_file" "/home/jupyter/" "the log is in the user's home"
token=$(session_field token)
expect_eq "$(http_status_with_token "http://$(session_field address):$(session_field port)/api/status" "$token")" 200 "it answers"
run_jlh stop
expect_rc 0 "stop"
if container_pid_alive "$C" "$pid"; then fail "still alive"; else pass "gone"; fi
finish
