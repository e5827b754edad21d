#!/usr/bin/env bash
# jl up NAME --image IMAGE: the container jl creates (an init, the ulimits NVIDIA documents,
# /dev/shm, volumes, --user host, -e, --workdir, its labels), what happens when it exists, is
# stopped or was made from another spec, no defunct process after start/stop cycles, jl rm, and
# every bad value. On the real dockerd, from the bed's own JupyterLab 4 image.
. "$(dirname "$0")/lib.sh"

IMG=$(docker inspect -f '{{.Config.Image}}' jltb-lab4 2>/dev/null)
[ -n "$IMG" ] || { fail "the bed's lab4 image is not known"; finish; }
NEW=jltb-made1
docker rm -f "$NEW" >/dev/null 2>&1
on_exit "docker rm -f $NEW"

# A host user in the docker group (not root), so that --user host is tested for real.
CFG=$WORK/ssh_config
{
  ssh_entry jlb | sed 's/^  User root$/  User jltb-bash/'
} >"$CFG"
HOST_UID=$(id -u jltb-bash)
HOST_GID=$(id -g jltb-bash)
HOST_HOME=$(getent passwd jltb-bash | cut -d: -f6)
DATA=$HOST_HOME/jl-e2e-data
rm -rf "$DATA"
install -d -o jltb-bash -g "$HOST_GID" "$DATA"
on_exit "rm -rf $DATA"
up() { run_jl_raw -F "$CFG" -H jlb "$@"; }

log "== bad values are usage errors, before any connection"
for args in "--gpus x" "--gpus 0" "--gpus free:0" "-v data:/data" "-v /a" "--shm-size 0" \
  "--shm-size 1q" "--user nobody" "-e 1X=y" "--workdir rel" "--pull sometimes"; do
  # shellcheck disable=SC2086
  up up "$NEW" --no-browser --image "$IMG" $args
  expect_rc 2 "up --image ... $args"
done
up up "$NEW" --no-browser --image "$IMG" --shm-size 1g --ipc host
expect_rc 2 "--shm-size with --ipc host"
expect_contains "$ERR" "not both" "says not both"
up up "$NEW" --no-browser --gpus all
expect_rc 2 "--gpus without --image"
expect_contains "$ERR" "give --image too" "says --image is needed"
up up "$NEW" --no-browser --image 'Bad Image'
expect_rc 2 "an invalid image name"

log "== create: an init, the ulimits, /dev/shm, a volume, --user host, -e, --workdir"
before=$(docker ps -aq | wc -l)
up up "$NEW" --no-browser --image "$IMG" --pull never --user host -v "$DATA:/data" \
  --shm-size 256m -e JL_E2E=made --workdir /data
expect_rc 0 "jl up --image"
expect_contains "$OUT" "created container '$NEW'" "says it created the container"
url=$(printf '%s\n' "$OUT" | tail -n 1)
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url")" 200 "its Jupyter answers through the tunnel"
expect_eq "$(docker ps -aq | wc -l)" "$((before + 1))" "one new container"
expect_eq "$(docker inspect -f '{{index .Config.Labels "jl.made-by"}}' "$NEW")" jl "labelled as made by jl"
spec=$(docker inspect -f '{{index .Config.Labels "jl.spec"}}' "$NEW")
expect_contains "$spec" "\"image\":\"$IMG\"" "the label holds the spec"
expect_eq "$(docker inspect -f '{{.HostConfig.Init}}' "$NEW")" true "it runs with an init"
# memlock=-1 needs a docker that may lift the host's limit (CAP_SYS_RESOURCE); where it may not,
# jl creates the container with the host's limit and says so.
if [ "$(ulimit -Hl)" = unlimited ] || grep -q 'CapEff:.*' /proc/self/status && [ "$(( 0x$(awk '/CapEff/ { print $2 }' /proc/self/status) >> 24 & 1 ))" = 1 ]; then
  expect_eq "$(docker exec "$NEW" sh -c 'ulimit -l')" unlimited "memlock is unlimited"
else
  expect_contains "$ERR" "does not allow an unlimited locked-memory limit" \
    "the host cannot lift memlock: jl says so"
  expect_eq "$(docker exec "$NEW" sh -c 'ulimit -l')" "$(ulimit -Hl)" "memlock is the host's limit"
fi
expect_eq "$(docker exec "$NEW" sh -c 'ulimit -s')" 65536 "the stack limit is 64 MiB"
expect_eq "$(docker exec "$NEW" df -k /dev/shm | awk 'NR == 2 { print $2 }')" 262144 "/dev/shm is 256 MiB"
expect_eq "$(docker exec "$NEW" id -u):$(docker exec "$NEW" id -g)" "$HOST_UID:$HOST_GID" "it runs as the SSH user's uid:gid"
expect_eq "$(docker exec "$NEW" printenv JL_E2E)" made "-e is set"
expect_eq "$(docker exec "$NEW" pwd)" /data "--workdir is the working directory"
docker exec "$NEW" sh -c 'echo hello >/data/written-in-the-container'
expect_eq "$(stat -c %u:%g "$DATA/written-in-the-container" 2>/dev/null)" "$HOST_UID:$HOST_GID" \
  "a file written to the volume belongs to the SSH user"
id1=$(docker inspect -f '{{.Id}}' "$NEW")

log "== again, with the same spec: the same container, reused"
up up "$NEW" --no-browser --image "$IMG" --pull never --user host -v "$DATA:/data" \
  --shm-size 256m -e JL_E2E=made --workdir /data
expect_rc 0 "jl up --image again"
expect_not_contains "$OUT" "created container" "nothing is created"
expect_not_contains "$ERR" "another spec" "no spec difference is reported"
expect_eq "$(docker inspect -f '{{.Id}}' "$NEW")" "$id1" "the same container"

log "== another spec: reported, never applied"
up up "$NEW" --no-browser --image "$IMG" --pull never --shm-size 512m
expect_rc 0 "jl up with another spec"
expect_contains "$ERR" "made from another spec" "the difference is reported"
expect_contains "$ERR" "--shm-size" "it names the setting"
expect_eq "$(docker inspect -f '{{.Id}}' "$NEW")" "$id1" "the container is not re-created"
expect_eq "$(docker exec "$NEW" df -k /dev/shm | awk 'NR == 2 { print $2 }')" 262144 "/dev/shm is unchanged"

log "== no defunct process after ten start/stop cycles"
for _ in $(seq 10); do
  up stop "$NEW" >/dev/null 2>&1
  up start "$NEW" --image "$IMG" --pull never >/dev/null 2>&1
done
up stop "$NEW"
expect_rc 0 "the last stop"
zombies=$(docker exec "$NEW" sh -c 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l')
expect_eq "$zombies" 0 "no zombie in the container"

log "== stopped: a container jl made is started again"
docker stop -t 1 "$NEW" >/dev/null
up up "$NEW" --no-browser --image "$IMG" --pull never
expect_rc 0 "jl up of the stopped container"
expect_contains "$OUT" "started container '$NEW'" "says it started it"
expect_eq "$(docker inspect -f '{{.Id}}' "$NEW")" "$id1" "the same container again"

log "== jl rm: stops Jupyter and removes the container, never the volume"
up rm "$NEW"
expect_rc 0 "jl rm"
expect_contains "$OUT" "removed container $NEW" "says it removed it"
docker inspect "$NEW" >/dev/null 2>&1
expect_eq "$?" 1 "the container is gone"
expect_eq "$(cat "$DATA/written-in-the-container" 2>/dev/null)" hello "the volume's files stay"
expect_eq "$(session_count)" 0 "the session is forgotten"
up rm "$NEW"
expect_rc 4 "jl rm of a container that is not there"

log "== after docker rm: created again"
up up "$NEW" --no-browser --image "$IMG" --pull never
expect_rc 0 "jl up after the container was removed"
expect_contains "$OUT" "created container '$NEW'" "created afresh"
up --json rm "$NEW"
expect_rc 0 "jl --json rm again"
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["container"], j["removed"], j["created_by_jl"], "jupyter" in j)')" \
  "$NEW True True True" "--json says what was removed, and how Jupyter ended"

log "== config.json alone: the container's image and settings, re-created and restarted"
CONF=$XDG_CONFIG_HOME/jl/config.json
mkdir -p "$XDG_CONFIG_HOME/jl"
write_conf() { # SHM_SIZE
  cat >"$CONF" <<EOF
{"containers": {"$NEW": {"image": "$IMG", "pull": "never", "shm_size": "$1",
                         "env": {"JL_E2E": "from-config"}, "user": "host"}},
 "hosts": {"jlb": {"volumes": ["$DATA:/data"]}}}
EOF
}
write_conf 128m
up config show "$NEW"
expect_rc 0 "config show of the container"
expect_contains "$OUT" "config file (containers.$NEW.image)" "the image comes from the container's section"
expect_contains "$OUT" "config file (hosts.jlb.volumes)" "the volumes from the host's"
up up "$NEW" --no-browser
expect_rc 0 "jl up NAME with its image in config.json"
expect_contains "$OUT" "created container '$NEW' on jlb from $IMG" "created from the config's image"
expect_eq "$(docker exec "$NEW" df -k /dev/shm | awk 'NR == 2 { print $2 }')" 131072 "shm_size from config.json"
expect_eq "$(docker exec "$NEW" printenv JL_E2E)" from-config "env from config.json"
expect_eq "$(docker exec "$NEW" id -u)" "$HOST_UID" "user from config.json"
expect_eq "$(docker exec "$NEW" cat /data/written-in-the-container)" hello "the host section's volume"
id2=$(docker inspect -f '{{.Id}}' "$NEW")
docker stop -t 1 "$NEW" >/dev/null
up up "$NEW" --no-browser
expect_rc 0 "jl up NAME after docker stop"
expect_contains "$OUT" "started container '$NEW'" "started again"
expect_eq "$(docker inspect -f '{{.Id}}' "$NEW")" "$id2" "the same container"
docker rm -f "$NEW" >/dev/null
up up "$NEW" --no-browser
expect_rc 0 "jl up NAME after docker rm"
expect_contains "$OUT" "created container '$NEW'" "created again from config.json"
id3=$(docker inspect -f '{{.Id}}' "$NEW")
write_conf 64m
up up "$NEW" --no-browser
expect_rc 0 "jl up after config.json changed"
expect_contains "$ERR" "made from another spec" "the changed spec is reported"
expect_contains "$ERR" "--shm-size" "naming the setting"
expect_eq "$(docker inspect -f '{{.Id}}' "$NEW")" "$id3" "and never applied"
up up "$NEW" --no-browser --shm-size 128m
expect_rc 0 "a flag over config.json"
expect_not_contains "$ERR" "another spec" "the flag wins: the spec matches again"
# Another container on the host is not created from the host's settings.
up up jltb-none --no-browser
expect_rc 4 "a container without an image anywhere"
expect_contains "$ERR" "jltb-none" "is named, and not created"
docker inspect jltb-none >/dev/null 2>&1
expect_eq "$?" 1 "nothing was created for it"
up rm "$NEW"
expect_rc 0 "jl rm of the container made from config.json"
rm -f "$CONF"

log "== a container jl did not create"
# A name that is taken: --image does not apply to it, and jl says so instead of touching it.
cid=$(docker inspect -f '{{.Id}}' cont1)
run_jlh up cont1 --no-browser --image "$IMG" --pull never --shm-size 64m
expect_rc 0 "jl up --image of a name a foreign container has"
expect_contains "$ERR" "jl did not create it" "says the container is not jl's"
expect_contains "$ERR" "do not apply" "and that --image does not apply"
expect_not_contains "$OUT" "created container" "nothing is created"
expect_eq "$(docker inspect -f '{{.Id}}' cont1)" "$cid" "cont1 is the same container"
expect_eq "$(docker inspect -f '{{index .Config.Labels "jl.made-by"}}' cont1)" "" "and carries no label of jl's"
run_jlh stop cont1
expect_rc 0 "stop Jupyter in cont1"
run_jlh rm cont1
expect_rc 4 "jl rm of a foreign container"
expect_contains "$ERR" "was not created by jl" "refuses it"
expect_contains "$ERR" "--force" "hints at --force"
expect_eq "$(docker inspect -f '{{.State.Running}}' cont1)" true "cont1 is untouched"
run_jlh up jltb-stopped --no-browser
expect_rc 4 "a stopped foreign container"
expect_contains "$ERR" "--start-container" "the hint is --start-container"
run_jlh start jltb-stopped --start-container
expect_rc 0 "--start-container starts it"
touch_container jltb-stopped
expect_contains "$OUT" "started container 'jltb-stopped'" "says it started it"
run_jlh stop jltb-stopped
docker stop -t 1 jltb-stopped >/dev/null

log "== what the host cannot do"
up up "$NEW" --no-browser --image jl-testbed/not-there:1 --pull never
expect_rc 4 "--pull never and no image"
expect_contains "$ERR" "is not on" "says the image is not there"
up up "$NEW" --no-browser --image 127.0.0.1:9/jl/none:1
expect_rc 4 "a registry that does not answer"
expect_contains "$ERR" "cannot pull image" "says the pull failed"
expect_within 30 "the failed pull is reported"
up up "$NEW" --no-browser --image "$IMG" --pull never --gpus all
expect_rc 4 "--gpus on a docker without the NVIDIA runtime"
expect_contains "$ERR" "NVIDIA Container Toolkit" "names the fix"
docker inspect "$NEW" >/dev/null 2>&1
expect_eq "$?" 1 "no container is left behind"

finish
