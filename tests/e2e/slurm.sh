#!/usr/bin/env bash
# jl up --slurm against the bed's real Slurm cluster: slurmctld, slurmdbd and munge on the bed's
# sshd host (the login node), slurmd in three node containers on a network of their own, GPUs as
# counted GRES (gpu:1 on jltb-node1 and jltb-node2). Jupyter runs in the jobs; the tunnels go
# through the login node to node:port. The 1-minute time limit runs from the start, beside the
# other cases, so that the suite waits for it only once.
. "$(dirname "$0")/lib.sh"

: "${JL_TESTBED_SLURM_HOST:?the test bed has no Slurm cluster; run testbed.sh up}"
S=$JL_TESTBED_SLURM_HOST
U=$JL_TESTBED_SLURM_USER
js() { run_jl -H "$S" "$@"; }
# Slurm's own view, asked on the login node (this machine) as root.
job_state() { squeue -h -j "$1" -o %T 2>/dev/null | head -n 1; }
acct_state() { sacct -j "$1" -X -n -P -o State 2>/dev/null | head -n 1 | cut -d' ' -f1; }
live_jobs() { squeue -h -u "$U" -n "$1" -t PD,CF,R,CG -o %i 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
field() { # NAME FIELD: a session's field in the state file
  python3 -c 'import json,sys; s=[x for x in json.load(open(sys.argv[1]))["sessions"] if x["container"] == sys.argv[2]]; print(s[0][sys.argv[3]] if s else "")' \
    "$(state_file)" "$1" "$2" 2>/dev/null
}
status_line() { # the status row of session NAME
  js status
  printf '%s\n' "$OUT" | awk -v n="$1" '$2 == n'
}
# A session's tunnel has ended: the state says so and its local port is closed (a tunnel handed
# to the host's shared connection ends there while that process serves others).
tunnel_ended() {
  local port
  port=$(field "$1" local_port)
  [ "$(field "$1" tunnel_pid)" = 0 ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}
# Wait up to $1 seconds for the command in $2 to succeed.
wait_for() {
  local limit=$1 i=0
  while ! eval "$2"; do
    i=$((i + 1))
    [ "$i" -ge $((limit * 4)) ] && return 1
    sleep 0.25
  done
}
# The bed's Slurm user submits a job that holds a GPU: its id.
hold_gpu() {
  ssh -F "$JL_TESTBED_SSH_CONFIG" -o BatchMode=yes "$S" \
    "sbatch --parsable -p gpu --gres=gpu:1 -J jltb-holder -o /dev/null --wrap 'sleep 600'" </dev/null
}
scancel -u "$U" >/dev/null 2>&1
on_exit "scancel -u $U"
wait_for 20 '[ -z "$(squeue -h -u "$U" -o %i)" ]' || log "  (jobs of $U left from before)"

log "== a job with a 1-minute time limit, left to run out beside the other cases"
T_SHORT=$(date +%s)
js up short --slurm -p cpu -t 1 --no-browser
expect_rc 0 "jl up short --slurm -t 1"
SHORT_JOB=$(field short job_id)
expect_eq "$(job_state "$SHORT_JOB")" RUNNING "its job $SHORT_JOB runs"

log "== a job that runs at once: jl up --slurm to the first 200"
t0=$(date +%s.%N)
js up lab1 --slurm -p gpu --gres gpu:1 -t 10 --no-browser
t1=$(date +%s.%N)
expect_rc 0 "jl up lab1 --slurm --gres gpu:1"
url=$(printf '%s\n' "$OUT" | tail -n 1)
code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url")
t2=$(date +%s.%N)
expect_eq "$code" 200 "the URL answers through the tunnel"
LAB1_JOB=$(field lab1 job_id)
LAB1_NODE=$(field lab1 node)
LAB1_TOKEN=$(field lab1 token)
expect_contains "$OUT" "in job $LAB1_JOB (lab1) on $LAB1_NODE via $S" "it says the job and the node"
expect_eq "$(job_state "$LAB1_JOB")" RUNNING "Slurm runs job $LAB1_JOB"
expect_eq "$(squeue -h -j "$LAB1_JOB" -o %b)" "gres:gpu:1" "with the GPU asked for"
expect_eq "$(field lab1 address)" "$(scontrol show node -o "$LAB1_NODE" | grep -o 'NodeAddr=[^ ]*' | cut -d= -f2)" \
  "the tunnel's target is the node's address"
# The token: in no process's argv, on the login node or any node, and not in the job's script.
# (grep reads the token from a file: on its own command line it would find itself.)
printf '%s\n' "$LAB1_TOKEN" >"$WORK/token"
if ps -eo args= | grep -qFf "$WORK/token"; then fail "the token is in an argv on the login node"; else pass "the token is in no argv on the login node"; fi
for n in $JL_TESTBED_SLURM_NODES; do
  if docker exec "$n" ps -eo args= | grep -qFf "$WORK/token"; then fail "the token is in an argv on $n"; else pass "the token is in no argv on $n"; fi
done
script=$(scontrol write batch_script "$LAB1_JOB" - 2>/dev/null)
expect_contains "$script" "jl's Slurm job" "the job's script is jl's"
expect_not_contains "$script" "$LAB1_TOKEN" "the job's script does not hold the token"
# The figures: jl's time to the first 200, against the job's own start (sacct) and Jupyter's own
# start on a node, measured in this run.
submit=$(date -d "$(sacct -j "$LAB1_JOB" -X -n -P -o Submit)" +%s)
start=$(date -d "$(sacct -j "$LAB1_JOB" -X -n -P -o Start)" +%s)
jupyter_own=$(ssh -F "$JL_TESTBED_SSH_CONFIG" -o BatchMode=yes "$S" \
  "srun --overlap --jobid=$LAB1_JOB -N1 -n1 --quiet python3 -c '
import os, subprocess, time, urllib.request
env = dict(os.environ, JUPYTER_TOKEN=\"figure\")
t = time.time()
p = subprocess.Popen([\"jupyter-lab\", \"--no-browser\", \"--ip=127.0.0.1\", \"--port=8799\"], env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while True:
    try:
        urllib.request.urlopen(\"http://127.0.0.1:8799/api/status?token=figure\", timeout=1)
        break
    except Exception:
        time.sleep(0.02)
print(\"%.2f\" % (time.time() - t))
p.terminate(); p.wait()
'" </dev/null)
log "FIGURE jl up --slurm to the first 200: $(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s (jl up returned after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s); job's wait in the queue (sacct Start - Submit): $((start - submit)) s; Jupyter's own start on the node: ${jupyter_own:-?} s"
[ -n "$jupyter_own" ] && pass "Jupyter's own start measured" || fail "Jupyter's own start was not measured"

js status
row=$(printf '%s\n' "$OUT" | awk '$2 == "lab1"')
expect_contains "$row" "$LAB1_JOB RUNNING on $LAB1_NODE" "jl status: the job, its state and node"
expect_contains "$row" "left" "jl status: the time left"
expect_contains "$row" " yes " "jl status: the server answers"
js logs lab1 -n 50
expect_rc 0 "jl logs lab1 (a step of the job)"
expect_contains "$OUT" "ServerApp" "the job's Jupyter log"

log "== two sessions on the same node, on different ports"
js up two-a --slurm -p cpu --no-browser -- --nodelist=jltb-node3
expect_rc 0 "jl up two-a"
url_a=$(printf '%s\n' "$OUT" | tail -n 1)
js up two-b --slurm -p cpu --no-browser -- --nodelist=jltb-node3
expect_rc 0 "jl up two-b"
url_b=$(printf '%s\n' "$OUT" | tail -n 1)
expect_eq "$(field two-a node) $(field two-b node)" "jltb-node3 jltb-node3" "both on jltb-node3"
if [ "$(field two-a port)" != "$(field two-b port)" ]; then pass "on different ports ($(field two-a port), $(field two-b port))"; else fail "both on port $(field two-a port)"; fi
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url_a") $(curl -s -o /dev/null -m 10 -w '%{http_code}' "$url_b")" "200 200" "both answer"
js up two-a --slurm -p cpu --no-browser -- --nodelist=jltb-node3
expect_contains "$OUT" "reusing it" "jl up again reuses the job's server"
expect_eq "$(live_jobs jl-two-a)" "$(field two-a job_id)" "and its job, without a second one"
js up two-a --no-browser
expect_contains "$OUT" "reusing it" "jl up NAME without --slurm attaches to the session's job"

log "== a job that waits for a GPU, then runs"
HOLDER=$(hold_gpu)
wait_for 20 '[ "$(job_state "$HOLDER")" = RUNNING ]' && pass "job $HOLDER holds the other GPU" || fail "the holder job $HOLDER does not run: $(job_state "$HOLDER")"
timeout -k 5 120 "$JL_BIN" -v -F "$JL_TESTBED_SSH_CONFIG" -H "$S" up waits --slurm -p gpu --gres gpu:1 \
  --no-browser >"$WORK/waits.out" 2>"$WORK/waits.err" </dev/null &
waits_pid=$!
on_exit "kill $waits_pid"
if wait_for 20 '[ -n "$(live_jobs jl-waits)" ] && [ "$(job_state "$(live_jobs jl-waits)")" = PENDING ]'; then
  pass "its job is PENDING while both GPUs are held"
else
  fail "its job is not pending: $(live_jobs jl-waits) $(job_state "$(live_jobs jl-waits)")"
fi
WAITS_JOB=$(live_jobs jl-waits)
wait_for 10 'grep -q "PENDING (" "$WORK/waits.err"' && pass "jl shows PENDING and Slurm's reason" || fail "jl does not show the pending reason: $(tail -n 3 "$WORK/waits.err")"
js up ahead --slurm -p gpu --gres gpu:1 --no-wait
expect_rc 0 "jl up --no-wait while the GPUs are held"
expect_within 10 "--no-wait returns at once"
AHEAD_JOB=$(live_jobs jl-ahead)
expect_contains "$OUT" "submitted job $AHEAD_JOB (jl-ahead)" "it prints the job id"
expect_contains "$OUT" "PENDING" "and its state"
scancel "$HOLDER"
wait "$waits_pid"
expect_eq "$?" 0 "jl up returns once the GPU is free"
expect_eq "$(job_state "$WAITS_JOB")" RUNNING "job $WAITS_JOB runs"
expect_eq "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$(tail -n 1 "$WORK/waits.out")")" 200 "its Jupyter answers"

log "== Ctrl-C while the job is pending cancels it"
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  "$JL_BIN" -F "$JL_TESTBED_SSH_CONFIG" -H "$S" up interrupted --slurm -p gpu --gres gpu:1 --no-browser \
  >"$WORK/int.out" 2>&1 </dev/null &
int_pid=$!
wait_for 20 '[ -n "$(live_jobs jl-interrupted)" ]' || fail "no job for jl-interrupted"
INT_JOB=$(live_jobs jl-interrupted)
expect_eq "$(job_state "$INT_JOB")" PENDING "job $INT_JOB is pending (both GPUs in use)"
kill -INT "$int_pid"
wait "$int_pid"
expect_eq "$?" 130 "Ctrl-C ends jl up with 130"
expect_eq "$(job_state "$INT_JOB")" "" "and job $INT_JOB is out of the queue"
expect_eq "$(acct_state "$INT_JOB")" CANCELLED "sacct: CANCELLED"

log "== jl stop shuts Jupyter down and ends the job"
js stop waits
expect_rc 0 "jl stop waits"
wait_for 10 '[ -z "$(job_state "$WAITS_JOB")" ]' && pass "job $WAITS_JOB left the queue" || fail "job $WAITS_JOB is still $(job_state "$WAITS_JOB")"
js up ahead --slurm -p gpu --gres gpu:1 --no-browser
expect_rc 0 "jl up attaches to the job --no-wait submitted once it runs"
expect_eq "$(field ahead job_id)" "$AHEAD_JOB" "the same job ($AHEAD_JOB)"
js stop lab1
expect_rc 0 "jl stop lab1"
expect_contains "$OUT" "shut down cleanly" "Jupyter shut down"
wait_for 10 '[ -z "$(job_state "$LAB1_JOB")" ]' && pass "job $LAB1_JOB is gone from squeue" || fail "job $LAB1_JOB is still $(job_state "$LAB1_JOB")"
expect_eq "$(acct_state "$LAB1_JOB")" COMPLETED "sacct: COMPLETED"

log "== scancel from outside: reported, and the tunnel stops"
EXT_JOB=$(field two-b job_id)
scancel "$EXT_JOB"
wait_for 30 'tunnel_ended two-b' &&
  pass "the tunnel of two-b stopped" || fail "the tunnel of two-b still runs"
row=$(status_line two-b)
expect_contains "$row" "job $EXT_JOB ended: CANCELLED" "jl status names the end"
expect_contains "$row" "$EXT_JOB CANCELLED" "the JOB column too"
js open two-b --no-browser
expect_rc 4 "jl open of an ended job fails"
expect_contains "$ERR" "job $EXT_JOB ended: CANCELLED" "naming the end"
js up two-b --no-browser
expect_rc 4 "jl up without --slurm does not submit a new job for it"
expect_contains "$ERR" "no job jl-two-b of yours" "it says there is none"
expect_eq "$(live_jobs jl-two-b)" "" "and none was submitted"

log "== bad options: Slurm's own answer, in seconds"
js up bad --slurm -p nosuch
expect_rc 2 "an unknown partition"
expect_error_shape "an unknown partition"
expect_contains "$ERR" "Invalid partition name specified" "Slurm's reason"
expect_within 10 "the refusal"
js up bad --slurm -p gpu --gres gpu:99
expect_rc 2 "--gres gpu:99"
expect_contains "$ERR" "Requested node configuration is not available" "Slurm's reason"
expect_within 10 "the refusal"
js up bad --slurm -p gpu --time 3:00:00
expect_rc 2 "a time over the partition's limit (Slurm takes the job, which would wait for ever)"
expect_contains "$ERR" "PartitionTimeLimit" "Slurm's reason"
expect_contains "$ERR" "(cancelled it)" "jl cancelled the job"
expect_within 15 "the refusal"
js up bad --slurm --time 1h
expect_rc 2 "a time Slurm does not read"
expect_contains "$ERR" "invalid --time '1h'" "refused before anything is sent"
js up bad --slurm --image busybox:1
expect_rc 2 "--image with --slurm"
expect_contains "$ERR" "a Slurm job runs Jupyter on its node" "refused: jl makes no container in a job"
js up bad --slurm -v /data:/data
expect_rc 2 "-v with --slurm"
expect_contains "$ERR" "not to a Slurm job" "refused, naming the flag"
expect_eq "$(live_jobs jl-bad)" "" "no job was left"

log "== the config file makes a host's sessions Slurm jobs; jl doctor --slurm"
mkdir -p "$XDG_CONFIG_HOME/jl"
printf '{"hosts": {"%s": {"scheduler": "slurm", "partition": "cpu", "time": "5"}}}\n' "$S" \
  >"$XDG_CONFIG_HOME/jl/config.json"
js config show cfgjob
expect_contains "$(printf '%s\n' "$OUT" | grep -E '^ *scheduler ')" "slurm    " "jl config show: the scheduler from the config file"
js up cfgjob --no-browser
expect_rc 0 "jl up without --slurm, the config file's scheduler"
CFG_JOB=$(field cfgjob job_id)
expect_eq "$(squeue -h -j "$CFG_JOB" -o '%P %l')" "cpu 5:00" "in the config file's partition, with its time limit"
js --json status cfgjob
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; j=json.load(sys.stdin)[0]["job"]; print(j["id"], j["state"], j["node"])')" \
  "$CFG_JOB RUNNING jltb-node3" "jl --json status: the job"
js stop cfgjob
expect_rc 0 "jl stop cfgjob"
js doctor --slurm -p gpu
expect_contains "$OUT" "partition gpu is up: 2 nodes" "jl doctor: the partition"
expect_contains "$OUT" "account $JL_TESTBED_SLURM_ACCOUNT:" "jl doctor: the account and its limits"
expect_contains "$OUT" "slurm-wlm 22.05" "jl doctor: Slurm's version"
js doctor --slurm -p nosuch
expect_rc 1 "jl doctor with an unknown partition fails"
expect_contains "$OUT" "no partition 'nosuch'" "naming it"
expect_contains "$OUT" "gpu, cpu" "and the partitions there"
rm -f "$XDG_CONFIG_HOME/jl/config.json"

log "== the 1-minute time limit: TIMEOUT, reported, the tunnel stops"
left=$((T_SHORT + 150 - $(date +%s)))
wait_for "$left" '[ "$(acct_state "$SHORT_JOB")" = TIMEOUT ]' && pass "sacct: job $SHORT_JOB TIMEOUT" || fail "job $SHORT_JOB is $(acct_state "$SHORT_JOB")"
wait_for 25 'tunnel_ended short' && pass "the tunnel of short stopped" || fail "the tunnel of short still runs"
row=$(status_line short)
expect_contains "$row" "job $SHORT_JOB ended: TIMEOUT after 0:01:" "jl status: TIMEOUT after about a minute"
expect_contains "$(field short tunnel_note)" "job $SHORT_JOB ended: TIMEOUT" "the tunnel's note names it"

log "== slurmd killed on the node: reported, not retried for ever"
js up nodefail --slurm -p gpu --no-browser -- --nodelist=jltb-node2
expect_rc 0 "jl up nodefail on jltb-node2"
NF_JOB=$(field nodefail job_id)
on_exit "$JL_TESTBED up"
docker exec jltb-node2 pkill -KILL -x slurmd
wait_for 60 '[ "$(acct_state "$NF_JOB")" = NODE_FAIL ]' && pass "sacct: NODE_FAIL" || fail "job $NF_JOB is $(acct_state "$NF_JOB")"
wait_for 25 'tunnel_ended nodefail' && pass "the tunnel stopped" || fail "the tunnel still runs"
row=$(status_line nodefail)
expect_contains "$row" "job $NF_JOB ended: NODE_FAIL" "jl status names the node failure"
# Every session whose job ran on that node: its tunnel ended with a note, none is left dead.
for name in ahead nodefail; do
  if [ "$(field "$name" node)" = jltb-node2 ]; then
    wait_for 25 "tunnel_ended $name" && pass "the tunnel of $name ended" || fail "the tunnel of $name did not end"
    expect_contains "$(field "$name" tunnel_note)" "NODE_FAIL" "the note of $name names the end"
  fi
done
if [ "$FAILS" -gt 0 ]; then
  for f in "$XDG_STATE_HOME"/jl/tunnels/*.log; do log "--- $f"; tail -n 25 "$f" >&2; done
fi
js stop --all
expect_rc 0 "jl stop --all"
expect_eq "$(squeue -h -u "$U" -o %i | tr '\n' ' ')" "" "no job of $U is left"

finish
