#!/usr/bin/env bash
# The test bed touches only what carries its mark. A container someone else made under a name
# the bed needs (cont1, from another image) survives `testbed.sh up` and `down` byte for byte:
# both stop with an error naming it and change nothing. The same for a host user and a state
# directory the bed did not make, and for a container made from the bed's own image (which
# carries the image's label, but not the bed's container mark): a successful `down` and `up`
# leave it as it was.
. "$(dirname "$0")/lib.sh"

FOREIGN_IMG=jltb-foreign-image:$$
OTHER=jltb-foreign-$$
FOREIGN_ID=
SAVED_GECOS=

# shellcheck disable=SC2317  # called by the EXIT trap
foreign_cleanup() {
  if [ -n "$SAVED_GECOS" ]; then usermod -c "$SAVED_GECOS" jltb-nodocker; fi
  if [ -n "$FOREIGN_ID" ]; then docker rm -f "$FOREIGN_ID" >/dev/null 2>&1; fi
  docker rm -f "$OTHER" >/dev/null 2>&1
  docker image rm "$FOREIGN_IMG" >/dev/null 2>&1
  # leave the bed as the other suites expect it
  "$JL_TESTBED" up >/dev/null 2>&1 || log "foreign: could not bring the test bed back up"
  cleanup
}
trap foreign_cleanup EXIT

BED_NAMES="cont1 jltb-root jltb-user jltb-hostnet jltb-bare jltb-stopped"

# Everything docker knows about a container, plus a file inside it: equal before and after
# means the container was not touched.
snapshot() { # NAME-OR-ID
  docker inspect --type container "$1" 2>&1
  docker exec "$1" cat /precious 2>&1
}

# name=id for each of the bed's containers except cont1, and the sshd pid
bed_state() {
  local n
  for n in $BED_NAMES; do
    [ "$n" = cont1 ] && continue
    printf '%s=%s\n' "$n" "$(docker inspect -f '{{.Id}}' "$n" 2>&1)"
  done
  printf 'sshd=%s\n' "$(cat "$JL_TESTBED_DIR/sshd.pid" 2>&1)"
}

run_bed() { # up|down, with extra environment before it
  local start end
  start=$(date +%s.%N)
  ERR=$(timeout -k 5 600 env "$@" 2>&1 >/dev/null)
  RC=$?
  end=$(date +%s.%N)
  SECS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  log "  \$ testbed.sh ${*: -1} -> rc=$RC in ${SECS}s"
  printf '%s\n' "$ERR" | grep 'error' | sed 's/^/    | /' >&2
}

# ---------------------------------------------------------------------------------------------
log "== a foreign cont1, from another image, under the bed's name"
docker create --name "$OTHER" jl-testbed/plain:1 true >/dev/null
docker commit --change 'LABEL owner=someone-else' "$OTHER" "$FOREIGN_IMG" >/dev/null
docker rm "$OTHER" >/dev/null
expect_eq "$(docker image inspect -f '{{index .Config.Labels "jl-testbed"}}' "$FOREIGN_IMG")" 1 \
  "the foreign image inherits the bed image's jl-testbed label (the hard case)"
docker rm -f cont1 >/dev/null
FOREIGN_ID=$(docker run -d --name cont1 "$FOREIGN_IMG" sleep infinity)
docker exec cont1 sh -c 'echo "the user'\''s data" >/precious'
before=$(snapshot "$FOREIGN_ID")
bed_before=$(bed_state)

for cmd in up down; do
  run_bed "$JL_TESTBED" "$cmd"
  expect_eq "$RC" 1 "testbed.sh $cmd refuses"
  expect_contains "$ERR" "testbed: error: container names the test bed needs are taken by containers it did not make: cont1 (running, image $FOREIGN_IMG)" \
    "testbed.sh $cmd names the conflict: cont1, its state and its image"
  expect_contains "$ERR" "nothing was removed" "testbed.sh $cmd says it removed nothing"
  expect_not_contains "$ERR" "recreating" "testbed.sh $cmd recreates nothing"
  expect_eq "$(snapshot cont1)" "$before" "after $cmd, the foreign cont1 is byte for byte the same"
  expect_eq "$(docker inspect -f '{{.Id}} {{.State.Running}}' cont1)" "$FOREIGN_ID true" \
    "after $cmd, cont1 has the same id and still runs"
  expect_eq "$(bed_state)" "$bed_before" "after $cmd, the bed's other containers and its sshd are as they were"
done

# ---------------------------------------------------------------------------------------------
log "== the bed's cont1 back: up re-creates it with its mark"
docker rm -f "$FOREIGN_ID" >/dev/null
FOREIGN_ID=
run_bed "$JL_TESTBED" up
expect_eq "$RC" 0 "testbed.sh up with the name free again"
expect_contains "$ERR" "cont1: creating" "up creates cont1"
expect_eq "$(docker inspect -f '{{index .Config.Labels "jl-testbed"}} {{.State.Running}}' cont1)" "1 true" \
  "cont1 is the bed's and runs"
expect_not_contains "$(docker inspect -f '{{index .Config.Labels "jl-testbed.spec"}}' cont1)" "no value" \
  "cont1 carries the bed's container mark"

# ---------------------------------------------------------------------------------------------
log "== a host user the bed did not make"
SAVED_GECOS=$(getent passwd jltb-nodocker | cut -d: -f5)
usermod -c "Someone Else" jltb-nodocker
shadow_before=$(getent shadow jltb-nodocker)
groups_before=$(id -nG jltb-nodocker)
run_bed "$JL_TESTBED" up
expect_eq "$RC" 1 "testbed.sh up refuses"
expect_contains "$ERR" "testbed: error: host user jltb-nodocker exists and was not made by the test bed (its GECOS field is 'Someone Else', not 'jl-testbed')" \
  "up names the user and why it is not the bed's"
expect_eq "$(getent shadow jltb-nodocker)" "$shadow_before" "the user's password field is untouched"
expect_eq "$(id -nG jltb-nodocker)" "$groups_before" "the user's groups are untouched"
usermod -c "$SAVED_GECOS" jltb-nodocker
SAVED_GECOS=

# ---------------------------------------------------------------------------------------------
log "== a state directory the bed did not make"
mine=$WORK/somebodys-dir
mkdir -p "$mine"
echo "keep me" >"$mine/notes.txt"
listing_before=$(cd "$mine" && ls -la --time-style=full-iso && md5sum notes.txt)
run_bed JL_TESTBED_DIR="$mine" "$JL_TESTBED" up
expect_eq "$RC" 1 "testbed.sh up refuses"
expect_contains "$ERR" "testbed: error: $mine holds files the test bed did not make" "up names the directory"
expect_eq "$(cd "$mine" && ls -la --time-style=full-iso && md5sum notes.txt)" "$listing_before" \
  "nothing was written into it"
run_bed JL_TESTBED_DIR="$mine" "$JL_TESTBED" down
expect_eq "$RC" 1 "testbed.sh down refuses too"
expect_eq "$(cd "$mine" && ls -la --time-style=full-iso && md5sum notes.txt)" "$listing_before" \
  "and writes nothing either"

# ---------------------------------------------------------------------------------------------
log "== a container made from the bed's own image, under another name, survives down and up"
docker run -d --name "$OTHER" jl-testbed/jupyter:1 sleep infinity >/dev/null
docker exec "$OTHER" sh -c 'echo "the user'\''s data" >/precious'
expect_eq "$(docker inspect -f '{{index .Config.Labels "jl-testbed"}}' "$OTHER")" 1 \
  "it carries the jl-testbed label from the image"
other_before=$(snapshot "$OTHER")
run_bed "$JL_TESTBED" down
expect_eq "$RC" 0 "testbed.sh down"
expect_eq "$(snapshot "$OTHER")" "$other_before" "after down, it is byte for byte the same"
gone=0
for n in $BED_NAMES; do docker inspect "$n" >/dev/null 2>&1 || gone=$((gone + 1)); done
expect_eq "$gone" 6 "down removed the bed's six containers"
run_bed "$JL_TESTBED" up
expect_eq "$RC" 0 "testbed.sh up after down"
log "  (up after down took ${SECS}s)"
expect_eq "$(snapshot "$OTHER")" "$other_before" "after up, it is byte for byte the same"
docker rm -f "$OTHER" >/dev/null

finish
