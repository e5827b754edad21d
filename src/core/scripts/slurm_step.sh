# shellcheck shell=sh
# Runs on the login node: the inner script as a step of a running job, on its node, beside the
# job's own steps. Positional parameters: nonce, job id, the inner script, its mode (probe or
# plan).
n=$1 job=$2 inner=$3 mode=$4
m() { printf '@@%s %s\n' "$n" "$*"; }
if ! command -v srun >/dev/null 2>&1; then m slurm-missing srun; exit 0; fi
m exec
if [ "$mode" = plan ]; then
  srun --overlap --jobid="$job" --nodes=1 --ntasks=1 --quiet sh -c "$inner" jl "$n" "$mode" "$job" 2>&1
else
  srun --overlap --jobid="$job" --nodes=1 --ntasks=1 --quiet sh -c "$inner" jl "$n" "$mode" "$job" </dev/null 2>&1
fi
m exec-rc "$?"
