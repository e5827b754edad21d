#!/usr/bin/env bash
# jl gpus, the GPUs of jl status, and --gpus free:N, against the bed's stand-in nvidia-smi (it
# replays recorded nvidia-smi output; only the bed's GPU user has it) with real processes in
# real containers holding the GPUs, so that the /proc/PID/cgroup mapping is the real one. The
# GPU choice is checked from what docker was asked to do (a wrapper docker records it); real
# docker here has no NVIDIA runtime, and its own answer is checked too.
. "$(dirname "$0")/lib.sh"

: "${JL_TESTBED_GPU_HOST:?the test bed has no GPU user; run testbed.sh up}"
GPU=$JL_TESTBED_GPU_HOST
SCENARIO=$JL_TESTBED_GPU_SCENARIO
IMG=$(docker inspect -f '{{.Config.Image}}' jltb-lab4 2>/dev/null)
[ -n "$IMG" ] || { fail "the bed's lab4 image is not known"; finish; }
NEW=jltb-gpumade
docker rm -f "$NEW" >/dev/null 2>&1
on_exit "docker rm -f $NEW"
on_exit "rm -f $SCENARIO"
gpu() { run_jl -H "$GPU" "$@"; }
scenario() { printf '%s\n' "$@" >"$SCENARIO.tmp" && chmod 0644 "$SCENARIO.tmp" && mv -f "$SCENARIO.tmp" "$SCENARIO"; }
json() { printf '%s' "$OUT" | python3 -c "import json,sys; j=json.load(sys.stdin); $1"; }

# The GPU users: the init processes of two bed containers, and a process on the host itself.
ROOT_PID=$(docker inspect -f '{{.State.Pid}}' jltb-root)
BARE_PID=$(docker inspect -f '{{.State.Pid}}' jltb-bare)
ROOT_ID=$(docker inspect -f '{{.Id}}' jltb-root)
sleep 600 &
HOST_PID=$!
on_exit "kill $HOST_PID"
log "holders: jltb-root pid $ROOT_PID, jltb-bare pid $BARE_PID, host pid $HOST_PID"
# Eight GPUs (a capture of eight GeForce GTX TITAN X; memory used 802, 10032, 6442, 6442, 6459,
# 6440, 6451, 6442 MiB): 1 held by both containers, 2 by the host process; six free.
busy_gpus() {
  scenario "fixture titanx8" "app 1 $ROOT_PID 6000" "app 1 $BARE_PID 3000" "app 2 $HOST_PID 6400" \
    "app 3 999999999 50"
}
busy_gpus

log "== jl gpus: the table"
gpu gpus
expect_rc 0 "jl gpus"
line() { printf '%s\n' "$OUT" | awk -v i="$1" '$1 == i'; }
expect_contains "$(line 1)" "jltb-root (pid $ROOT_PID, 6000 MiB)" "GPU 1: jltb-root's process"
expect_contains "$(line 1)" "jltb-bare (pid $BARE_PID, 3000 MiB)" "GPU 1: jltb-bare's process"
expect_contains "$(line 1)" "10032 / 12206" "GPU 1: its memory used and total"
expect_contains "$(line 1)" "86%" "GPU 1: its utilization"
expect_contains "$(line 2)" "host pid $HOST_PID (6400 MiB)" "GPU 2: the host process"
expect_contains "$(line 0)" "GeForce GTX TITAN X" "GPU 0: its name"
expect_eq "$(line 0 | awk '{ print $NF }')" "-" "GPU 0: nobody"
expect_eq "$(line 3 | awk '{ print $NF }')" "-" "GPU 3: a pid that has ended is not listed"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 9 "a header and eight GPUs"
expect_within 10 "jl gpus"

log "== jl --json gpus"
gpu --json gpus
expect_rc 0 "jl --json gpus"
expect_eq "$(json 'print(j["host"], len(j["gpus"]))')" "$GPU 8" "the host and eight GPUs"
expect_eq "$(json 'print(sorted((p["container"], p["pid"], p["used_memory_mib"]) for p in j["gpus"][1]["processes"]))')" \
  "[('jltb-bare', $BARE_PID, 3000), ('jltb-root', $ROOT_PID, 6000)]" "GPU 1's processes, by container"
expect_eq "$(json 'print([p["container_id"] for p in j["gpus"][1]["processes"] if p["container"] == "jltb-root"][0])')" \
  "$ROOT_ID" "with the container's full id"
expect_eq "$(json 'p = j["gpus"][2]["processes"][0]; print(p["container"], p["container_id"], p["pid"])')" \
  "None None $HOST_PID" "GPU 2: a process outside any container"
expect_eq "$(json 'g = j["gpus"][0]; print(g["index"], g["uuid"], g["memory_used_mib"], g["memory_total_mib"], g["utilization_percent"], g["processes"])')" \
  "0 GPU-004f693d-767b-b215-b4a9-a18af0ffd643 802 12206 0 []" "GPU 0 as nvidia-smi reported it"
scenario "fixture titanx8" "gpus 0" "unsupported 0 utilization.gpu"
gpu --json gpus
expect_eq "$(json 'print(j["gpus"][0]["utilization_percent"])')" None "[Not Supported] is null"
busy_gpus

log "== jl status: each session's GPUs"
reset_container jltb-root
reset_container jltb-user
gpu start jltb-root
expect_rc 0 "a session in jltb-root, as the GPU user"
run_jlh start jltb-user
expect_rc 0 "a session in jltb-user, on a host user without nvidia-smi"
run_jl status
expect_rc 0 "jl status"
expect_contains "$(printf '%s\n' "$OUT" | head -n 1)" "GPUS" "a GPUS column"
expect_contains "$(printf '%s\n' "$OUT" | grep jltb-root)" "1 (6000 MiB)" "jltb-root uses GPU 1 with 6000 MiB"
expect_not_contains "$(printf '%s\n' "$OUT" | grep jltb-user)" "MiB" "nothing about GPUs for the host without nvidia-smi"
run_jl --json status
expect_eq "$(json 'print([s.get("gpus") for s in j if s["container"] == "jltb-root"][0])')" \
  "[{'index': 1, 'used_memory_mib': 6000}]" "--json: jltb-root's GPUs"
expect_eq "$(json 'print(["gpus" in s for s in j if s["container"] == "jltb-user"][0])')" False \
  "--json: no gpus for the host without nvidia-smi"
scenario "driver down"
run_jl status
expect_rc 0 "jl status while nvidia-smi fails"
expect_not_contains "$(printf '%s\n' "$OUT" | head -n 1)" "GPUS" "then status says nothing about GPUs"
gpu stop jltb-root
run_jlh stop jltb-user
busy_gpus

log "== --gpus free:3: the three free GPUs that use the least memory, lower index among equals"
WRAP=$WORK/wrap
chmod 0711 "$WORK"
install -d -m 0777 "$WRAP"
cat >"$WRAP/docker" <<'EOF'
#!/bin/sh
# Records the arguments of docker run, one per line, then runs docker; with strip-gpus beside
# it, without --gpus and its value (as a docker with the NVIDIA runtime would take them).
d=$(dirname "$0")
if [ "$1" = run ]; then
  printf '%s\n' "$@" >"$d/run-args"
  if [ -f "$d/strip-gpus" ]; then
    skip=no
    for a do
      shift
      if [ "$skip" = yes ]; then skip=no; continue; fi
      if [ "$a" = --gpus ]; then skip=yes; continue; fi
      set -- "$@" "$a"
    done
  fi
fi
exec docker "$@"
EOF
chmod 0755 "$WRAP/docker"
wrapped() { JL_DOCKER=$WRAP/docker run_jl -H "$GPU" "$@"; }
after() { awk -v o="$1" 'found { print; exit } $0 == o { found = 1 }' "$WRAP/run-args"; }
label() { grep "^$1=" "$WRAP/run-args" | cut -d= -f2-; }
wrapped start "$NEW" --image "$IMG" --pull never --gpus free:3
expect_rc 4 "docker without the NVIDIA runtime refuses"
expect_contains "$ERR" "cannot give the container GPUs" "told apart from other docker errors"
expect_contains "$ERR" "could not select device driver" "docker's own words"
expect_contains "$ERR" "NVIDIA Container Toolkit" "the fix"
expect_error_shape "no NVIDIA runtime"
expect_eq "$(after --gpus)" '"device=0,5,3"' "docker was asked for GPUs 0, 5 and 3"
expect_eq "$(label jl.devices)" "0,5,3" "the devices label names them"
expect_contains "$(label jl.spec)" '"gpus":"free:3"' "the spec label keeps free:3"
docker inspect "$NEW" >/dev/null 2>&1
expect_eq "$?" 1 "no container is left behind"

log "== too few free GPUs: how many are, and who holds the others"
rm -f "$WRAP/run-args"
wrapped start "$NEW" --image "$IMG" --pull never --gpus free:7
expect_rc 4 "--gpus free:7 with six free"
expect_contains "$ERR" "6 of 8 GPUs on $GPU are free, and --gpus free:7 asks for 7" "says how many are free"
expect_contains "$ERR" "GPU 1: jltb-root (pid $ROOT_PID, 6000 MiB), jltb-bare (pid $BARE_PID, 3000 MiB)" \
  "names the containers on GPU 1"
expect_contains "$ERR" "GPU 2: host pid $HOST_PID (6400 MiB)" "and the host process on GPU 2"
expect_contains "$ERR" "--gpus free:6" "hints at what is free"
expect_error_shape "too few free GPUs"
expect_within 10 "the refusal"
[ -f "$WRAP/run-args" ]
expect_eq "$?" 1 "docker run was never asked"

log "== a container made with free:1, asked for again: no spec difference, no GPU query"
touch "$WRAP/strip-gpus"
wrapped start "$NEW" --image "$IMG" --pull never --gpus free:1
expect_rc 0 "created (the wrapper drops --gpus, as a docker with the runtime would take it)"
touch_container "$NEW"
expect_contains "$OUT" "created container '$NEW'" "says it created it"
expect_contains "$OUT" "with GPUs 0" "and which GPUs it chose"
expect_eq "$(docker inspect -f '{{index .Config.Labels "jl.devices"}}' "$NEW")" 0 \
  "the container's label names GPU 0 (the free one with the least memory used)"
scenario "driver down"
wrapped start "$NEW" --image "$IMG" --pull never --gpus free:1
expect_rc 0 "asked again, with nvidia-smi failing"
expect_not_contains "$ERR" "another spec" "no spec difference is reported"
expect_not_contains "$OUT" "created container" "nothing is created"
wrapped rm "$NEW"
expect_rc 0 "jl rm"
busy_gpus
wrapped --json start "$NEW" --image "$IMG" --pull never --gpus free:2
expect_rc 0 "created again, with --json"
expect_eq "$(json 'print(j["container_created"], j["container_gpus"])')" "True [0, 5]" \
  "--json names the GPUs chosen"
wrapped rm "$NEW"
busy_gpus

log "== nvidia-smi fails, or finds no GPU"
scenario "driver down"
gpu gpus
expect_rc 4 "jl gpus when the driver does not answer"
expect_contains "$ERR" "nvidia-smi fails on $GPU (exit 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver" \
  "nvidia-smi's own words"
expect_error_shape "nvidia-smi fails"
scenario "no devices"
gpu gpus
expect_rc 0 "jl gpus on a driver without GPUs"
expect_contains "$OUT" "no GPU" "says there is none"
gpu --json gpus
expect_eq "$(json 'print(j["gpus"])')" "[]" "--json: no GPUs"
gpu start "$NEW" --image "$IMG" --pull never --gpus free:1
expect_rc 4 "--gpus free:1 without GPUs"
expect_contains "$ERR" "$GPU has an NVIDIA driver but no GPU" "says there is none"
busy_gpus

log "== no nvidia-smi on the host"
run_jlh gpus
expect_rc 4 "jl gpus on a host without nvidia-smi"
expect_contains "$ERR" "no NVIDIA driver on $JL_TESTBED_HOST" "says there is no driver"
expect_contains "$ERR" "install the NVIDIA driver" "the hint"
expect_error_shape "no NVIDIA driver"
expect_within 10 "the refusal"
run_jlh start "$NEW" --image "$IMG" --pull never --gpus free:1
expect_rc 4 "--gpus free:1 on a host without nvidia-smi"
expect_contains "$ERR" "no NVIDIA driver on $JL_TESTBED_HOST" "says there is no driver"
expect_contains "$ERR" "leave out --gpus free:1" "the hint names the option"
docker inspect "$NEW" >/dev/null 2>&1
expect_eq "$?" 1 "no container was made"
run_jl gpus "$JL_TESTBED_HOST"
expect_rc 4 "jl gpus HOST takes the host as its argument"

finish
