#!/usr/bin/env bash
# jl up NAME --image REGISTRY/IMAGE when the image is not on the host: jl pulls it from the bed's
# registry (Debian's docker-registry on 127.0.0.1) as a step of its own, on a terminal of the SSH
# channel, and shows one progress line (layers and bytes) only when stderr is a terminal; off a
# terminal nothing is drawn, --json has the result only; --pull never and always; an image the
# registry does not have names docker's reason; Ctrl-C ends the pull on the host; jl rm removes
# what was made. Only the registry
# tag this suite pulled is removed from the host (the bed's own images stay).
. "$(dirname "$0")/lib.sh"
SUITE_T0=$(date +%s.%N)

REG=${JL_TESTBED_REGISTRY:-}
[ -n "$REG" ] || { fail "the bed has no registry (JL_TESTBED_REGISTRY); run testbed.sh up"; finish; }
IMG=$REG/$JL_TESTBED_REGISTRY_IMAGE
LAYERS=$JL_TESTBED_REGISTRY_LAYERS
NAMES=(jltb-pull-a jltb-pull-b jltb-pull-c jltb-pull-f jltb-pull-d jltb-pull-e jltb-pull-h jltb-pull-i)
rm_ours() {
  docker rm -f "${NAMES[@]}" >/dev/null 2>&1
  docker rmi "$IMG" >/dev/null 2>&1
}
rm_ours
on_exit "docker rm -f ${NAMES[*]}"
on_exit "docker rmi $IMG"
absent() {
  if docker image inspect "$IMG" >/dev/null 2>&1; then
    fail "$IMG is on the host before the test (${1})"
  else
    pass "$IMG is not on the host (${1})"
  fi
}
# jl rm NAME, then the image goes too (only that tag: its base layer is the bed's lab4 image).
rm_and_forget() {
  run_jlh rm "$1"
  expect_rc 0 "jl rm $1"
  expect_eq "$(docker ps -aq --filter "name=^$1\$" | wc -l)" 0 "$1 is gone"
  docker rmi "$IMG" >/dev/null 2>&1
}

log "== (a) on a terminal: one progress line with layers and bytes, cleared after"
absent "a"
t0=$(date +%s.%N)
python3 "$(dirname "$0")/pty_dialog.py" 90 -- \
  "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" up jltb-pull-a --image "$IMG" \
  --no-browser >"$WORK/screen.raw" 2>&1
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
screen=$(python3 "$(dirname "$0")/pty_screen.py" <"$WORK/screen.raw")
log "$(printf '%s\n' "$screen" | sed 's/^/    screen| /')"
expect_contains "$screen" "EXIT 0" "jl up on a terminal pulls and starts (${secs} s)"
# The spinner's line as drawn: "pulling IMAGE: 2/4 layers, 61.2 MB of 117.5 MB [====>   ] 1.3s".
drawn=$(tr '\r' '\n' <"$WORK/screen.raw" | grep -aE "pulling .*[0-9]+/$LAYERS layers, [0-9.]+ [kMG]?B of [0-9.]+ MB \[[=> ]+\]" | head -n 1)
if [ -n "$drawn" ]; then pass "a progress line with layers, bytes and a bar was drawn: ${drawn#*pulling }"
else fail "no progress line with layers and bytes was drawn"; fi
partly=$(tr '\r' '\n' <"$WORK/screen.raw" | grep -acE "layers, [0-9.]+ [kMG]?B of [0-9.]+ MB \[[=> ]*[ >][=> ]*\]")
if [ "$partly" -gt 0 ]; then pass "it moved: $partly lines drawn while bytes were still coming"
else fail "no line was drawn midway through the download"; fi
expect_not_contains "$screen" "/$LAYERS layers" "the progress line was cleared from the screen"
expect_not_contains "$screen" "pulling " "nothing of it is left"
expect_contains "$screen" "pulled $IMG on $JL_TESTBED_HOST in" "the screen says what was pulled"
expect_contains "$screen" "($LAYERS layers, " "with its layers and size"
expect_contains "$screen" "created container 'jltb-pull-a' on $JL_TESTBED_HOST from $IMG" "and that it created the container"
docker image inspect "$IMG" >/dev/null 2>&1
expect_eq "$?" 0 "the image is on the host now"
expect_eq "$(docker inspect -f '{{.State.Running}}' jltb-pull-a 2>/dev/null)" true "the container runs"
rm_and_forget jltb-pull-a

log "== (b) off a terminal: nothing drawn on stderr, the results on stdout (-v: one plain line)"
absent "b"
run_jlh -v up jltb-pull-b --image "$IMG" --no-browser
expect_rc 0 "jl up with stderr not a terminal"
JL_UP_SECS=$SECS
expect_contains "$OUT" "pulled $IMG on $JL_TESTBED_HOST in" "stdout says what was pulled"
expect_contains "$OUT" "created container 'jltb-pull-b' on $JL_TESTBED_HOST from $IMG" "stdout has the created line"
case $ERR in
  *$'\r'* | *$'\033'*) fail "stderr holds carriage returns or escapes: something was drawn" ;;
  *) pass "no carriage return or escape on stderr" ;;
esac
expect_not_contains "$ERR" "layers," "no progress on stderr"
expect_eq "$(printf '%s\n' "$ERR" | grep -c 'pulling ')" 1 "-v says 'pulling' once"
expect_contains "$ERR" "pulling $IMG on $JL_TESTBED_HOST" "naming the image"

log "== (f) --pull always pulls a present image again, and says so"
run_jlh up jltb-pull-f --image "$IMG" --pull always --no-browser
expect_rc 0 "jl up --pull always with the image present"
expect_contains "$OUT" "pulled $IMG on $JL_TESTBED_HOST in" "it pulled again"
expect_contains "$OUT" "it was up to date" "and says there was nothing new"
rm_and_forget jltb-pull-f
run_jlh rm jltb-pull-b
expect_rc 0 "jl rm jltb-pull-b"
docker rmi "$IMG" >/dev/null 2>&1

log "== (c) --json: the result only"
absent "c"
run_jlh --json up jltb-pull-c --image "$IMG" --no-browser
expect_rc 0 "jl --json up"
expect_eq "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1 "stdout is one line"
fields=$(printf '%s\n' "$OUT" | python3 -c '
import json, sys
s = json.load(sys.stdin)["server"]
print(s["image_pulled"], s["image_digest"].startswith("sha256:") and len(s["image_digest"]) == 71,
      s["container_created"])' 2>&1)
expect_eq "$fields" "True True True" "server.image_pulled, a sha256 image_digest, container_created"
expect_eq "$(printf '%s\n' "$ERR" | grep -v '^jl: warning: ' | grep -c .)" 0 "nothing but warnings on stderr"
expect_eq "$(docker image inspect -f '{{index .RepoDigests 0}}' "$IMG" 2>/dev/null | sed 's/.*@//')" \
  "$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["image_digest"])')" \
  "the digest is the one docker recorded"
rm_and_forget jltb-pull-c

log "== (d) --pull never with the image absent"
absent "d"
run_jlh up jltb-pull-d --image "$IMG" --pull never --no-browser
expect_rc 4 "jl up --pull never"
expect_contains "$ERR" "image '$IMG' is not on $JL_TESTBED_HOST, and --pull never forbids pulling it" "says so"
expect_error_shape "--pull never"
expect_eq "$(docker ps -aq --filter name=^jltb-pull-d\$ | wc -l)" 0 "no container"
docker image inspect "$IMG" >/dev/null 2>&1
expect_eq "$?" 1 "and no image was pulled"

log "== (e) an image the registry does not have: docker's reason"
run_jlh up jltb-pull-e --image "$REG/jl-testbed/not-there:1" --no-browser
expect_rc 4 "jl up with an unknown image"
expect_contains "$ERR" "cannot pull image '$REG/jl-testbed/not-there:1' on $JL_TESTBED_HOST: $REG has no such image or tag" "says the registry has no such image"
expect_contains "$ERR" "manifest unknown" "in docker's words"
expect_contains "$ERR" "hint: check the image's name and tag" "with a hint"
expect_error_shape "an unknown image"
expect_eq "$(docker ps -aq --filter name=^jltb-pull-e\$ | wc -l)" 0 "no container"

log "== (h) Ctrl-C during the pull ends docker pull on the host"
absent "h"
# Once the progress shows bytes: note the host's docker pull, then type Ctrl-C.
python3 "$(dirname "$0")/pty_dialog.py" 60 'layers, [0-9.]+ [kMG]?B of' \
  "\$ pgrep -af '^docker pull $IMG' >$WORK/pull-before; printf '\\003'" -- \
  "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$JL_TESTBED_HOST" up jltb-pull-h --image "$IMG" \
  --no-browser >"$WORK/interrupted.raw" 2>&1
interrupted=$(python3 "$(dirname "$0")/pty_screen.py" <"$WORK/interrupted.raw")
expect_contains "$interrupted" "ANSWERED 1" "the pull was under way"
expect_contains "$(cat "$WORK/pull-before")" "docker pull $IMG" "docker pull ran on the host then"
expect_contains "$interrupted" "EXIT 130" "jl ends on Ctrl-C"
sleep 0.5
expect_eq "$(pgrep -af "^docker pull $IMG" | wc -l)" 0 "and no docker pull is left on the host"
expect_eq "$(docker ps -aq --filter name=^jltb-pull-h\$ | wc -l)" 0 "no container"

log "== (i) a host whose sshd refuses terminals (PermitTTY no) still pulls: layers, no bytes"
absent "i"
# An sshd of this suite's own, with the bed's keys, that refuses terminals.
for ((P = 2300; P < 2400; P++)); do
  [ -z "$(ss -Htln "( sport = :$P )")" ] && break
done
printf '%s\n' "Port $P" "ListenAddress 127.0.0.1" "HostKey $JL_TESTBED_DIR/hostkey" \
  "PidFile $WORK/sshd_notty.pid" "AuthorizedKeysFile $JL_TESTBED_DIR/authorized_keys" \
  "StrictModes no" "UsePAM no" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
  "PermitRootLogin yes" "PermitTTY no" >"$WORK/sshd_notty"
/usr/sbin/sshd -f "$WORK/sshd_notty" -E "$WORK/sshd_notty.log" </dev/null
for _ in $(seq 50); do [ -s "$WORK/sshd_notty.pid" ] && break; sleep 0.1; done
on_exit "kill $(cat "$WORK/sshd_notty.pid")"
read -r type key _ <"$JL_TESTBED_HOSTKEY_PUB"
printf '[127.0.0.1]:%s %s %s\n' "$P" "$type" "$key" >"$WORK/known_notty"
ssh_entry notty "port=$P" "known_hosts=$WORK/known_notty" >"$WORK/ssh_notty"
run_jl_raw -F "$WORK/ssh_notty" -H notty -v up jltb-pull-i --image "$IMG" --no-browser
expect_rc 0 "jl up through an sshd that refuses terminals"
expect_contains "$ERR" "refused a terminal" "-v says the terminal was refused"
expect_contains "$OUT" "pulled $IMG on notty in" "the image was pulled anyway"
expect_contains "$OUT" "($LAYERS layers):" "counting layers (off a terminal docker names no sizes)"
expect_contains "$OUT" "created container 'jltb-pull-i'" "and the container created"
run_jl_raw -F "$WORK/ssh_notty" -H notty rm jltb-pull-i
expect_rc 0 "jl rm jltb-pull-i"
docker rmi "$IMG" >/dev/null 2>&1

log "== (g) everything this suite made is gone"
expect_eq "$(docker ps -aq --filter name=^jltb-pull- | wc -l)" 0 "no jltb-pull-* container is left"
log "figure: jl up --image (absent: pull, create, Jupyter, tunnel) took ${JL_UP_SECS}s off a terminal"
log "the suite took $(awk -v a="$SUITE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
finish
