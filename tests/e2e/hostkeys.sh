#!/usr/bin/env bash
# Host keys: asked about on a terminal (and added only on "yes"), StrictHostKeyChecking yes,
# accept-new and no, a changed key refused even with "no", and --accept-changed-host-key.
. "$(dirname "$0")/lib.sh"

ssh-keygen -q -t ed25519 -N '' -f "$WORK/otherhostkey" -C other
real_fp=$(ssh-keygen -lf "$JL_TESTBED_HOSTKEY_PUB" | awk '{ print $2 }')
changed_line=$(printf '[127.0.0.1]:%s %s' "$JL_TESTBED_PORT" "$(cut -d' ' -f1,2 "$WORK/otherhostkey.pub")")
cfg=$WORK/ssh_config
for f in ask_yes ask_no strict_yes accept_new strict_no; do : >"$WORK/kh_$f"; done
printf '%s\n' "$changed_line" >"$WORK/kh_changed_no"
printf '%s\n' "$changed_line" >"$WORK/kh_changed_flag"
{
  ssh_entry ask-yes known_hosts="$WORK/kh_ask_yes"
  ssh_entry ask-no known_hosts="$WORK/kh_ask_no"
  ssh_entry strict-yes known_hosts="$WORK/kh_strict_yes" strict=yes
  ssh_entry accept-new-host known_hosts="$WORK/kh_accept_new" strict=accept-new
  ssh_entry strict-no known_hosts="$WORK/kh_strict_no" strict=no
  ssh_entry changed-no known_hosts="$WORK/kh_changed_no" strict=no
  ssh_entry changed-flag known_hosts="$WORK/kh_changed_flag"
} >"$cfg"
# Past SSH, `start` of a container that does not exist fails with 4: proof that SSH worked.
probe_host() { run_jl_raw -F "$cfg" -H "$1" "${@:2}" start no-such-container; }

log "== unknown host on a terminal, answered yes"
out=$(python3 "$(dirname "$0")/pty_answer.py" 'continue connecting' yes 20 -- \
  "$JL_BIN" -F "$cfg" -H ask-yes start no-such-container)
expect_contains "$out" "$real_fp" "the prompt shows the SHA256 fingerprint"
expect_contains "$out" "EXIT 4" "after yes, jl goes on (and finds no such container)"
expect_contains "$(cat "$WORK/kh_ask_yes")" "$(cut -d' ' -f2 "$JL_TESTBED_HOSTKEY_PUB")" "the key was added to known_hosts"

log "== unknown host on a terminal, answered no"
out=$(python3 "$(dirname "$0")/pty_answer.py" 'continue connecting' no 20 -- \
  "$JL_BIN" -F "$cfg" -H ask-no start no-such-container)
expect_contains "$out" "EXIT 3" "after no, jl stops with the SSH exit code"
expect_contains "$out" "nothing was written" "and says nothing was written"
expect_eq "$(wc -c <"$WORK/kh_ask_no" | tr -d ' ')" 0 "known_hosts untouched"

log "== StrictHostKeyChecking yes: unknown refused, even on a terminal"
out=$(python3 "$(dirname "$0")/pty_answer.py" 'continue connecting' yes 20 -- \
  "$JL_BIN" -F "$cfg" -H strict-yes start no-such-container)
expect_contains "$out" "EXIT 3" "refused"
expect_contains "$out" "StrictHostKeyChecking yes" "and says why"
expect_eq "$(wc -c <"$WORK/kh_strict_yes" | tr -d ' ')" 0 "known_hosts untouched"

log "== StrictHostKeyChecking accept-new: added without asking"
probe_host accept-new-host
expect_rc 4 "connected (no terminal needed)"
expect_contains "$ERR" "permanently added" "says it added the key"
expect_contains "$(cat "$WORK/kh_accept_new")" "$(cut -d' ' -f2 "$JL_TESTBED_HOSTKEY_PUB")" "the key is in known_hosts"
probe_host accept-new-host
expect_rc 4 "the second time it is simply known"
expect_not_contains "$ERR" "permanently added" "and nothing is added again"

log "== StrictHostKeyChecking no is not honoured for unknown hosts"
probe_host strict-no
expect_rc 3 "an unknown host is still refused without a terminal"
expect_eq "$(wc -c <"$WORK/kh_strict_no" | tr -d ' ')" 0 "known_hosts untouched"

log "== a changed key is refused even with StrictHostKeyChecking no"
probe_host changed-no
expect_rc 3 "refused"
expect_contains "$ERR" "CHANGED" "says the key changed"
expect_contains "$ERR" "$real_fp" "with the new fingerprint"
expect_eq "$(cat "$WORK/kh_changed_no")" "$changed_line" "known_hosts untouched"

log "== --accept-changed-host-key lets one run through"
probe_host changed-flag --accept-changed-host-key
expect_rc 4 "connected despite the changed key"
expect_eq "$(cat "$WORK/kh_changed_flag")" "$changed_line" "known_hosts is not rewritten"
probe_host changed-flag
expect_rc 3 "the next run without the flag is refused again"
finish
