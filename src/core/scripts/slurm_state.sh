# shellcheck shell=sh
# Runs on the login node: what Slurm knows of one job (job id given) or of this user's live
# job by name (id empty, name given). squeue's line; for a running job the node's line of
# scontrol (its NodeAddr); for a job squeue no longer lists as live, sacct's record and
# scontrol's.
n=$1 id=$2 name=$3
m() { printf '@@%s %s\n' "$n" "$*"; }
if ! command -v squeue >/dev/null 2>&1; then m missing squeue; exit 0; fi
fmt='%i|%T|%r|%S|%N|%L|%l|%M|%P'
if [ -n "$id" ]; then
  out=$(squeue -h -j "$id" -o "$fmt" 2>&1)
else
  out=$(squeue -h -u "$(id -un)" -n "$name" -t PD,CF,R -o "$fmt" 2>&1)
fi
rc=$?
m squeue "$rc"
printf '%s\n' "$out"
line=$(printf '%s\n' "$out" | sed -n 1p)
state=$(printf '%s' "$line" | cut -d '|' -f 2)
node=$(printf '%s' "$line" | cut -d '|' -f 5)
case $state in
  RUNNING | CONFIGURING | COMPLETING)
    if [ -n "$node" ]; then
      m node
      scontrol show node -o "$node" 2>&1
    fi
    exit 0 ;;
  PENDING) exit 0 ;;
esac
[ -n "$id" ] || exit 0
m sacct
sacct -j "$id" -X -n -P -o JobID,State,Elapsed,Start,End,NodeList,Reason,ExitCode,Timelimit,Partition 2>&1
m scontrol
scontrol show job -o "$id" 2>&1
m end
