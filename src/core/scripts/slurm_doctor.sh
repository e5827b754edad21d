# shellcheck shell=sh
# Runs on the login node for jl doctor: the Slurm client tools there, Slurm's version, every
# partition (sinfo) and the user's associations with their limits (sacctmgr). Positional
# parameters: the nonce, and the partition jl asks about (empty: the default one). sinfo lists
# them all, so that jl can pick that one and name the others in a hint.
n=$1 part=$2
m() { printf '@@%s %s\n' "$n" "$*"; }
# A command's output as a section "NAME RC"; 127 and a line of words when it is not there.
section() {
  name=$1
  shift
  if ! command -v "$1" >/dev/null 2>&1; then
    m "$name" 127
    printf '%s: command not found\n' "$1"
    return 0
  fi
  out=$("$@" 2>&1)
  rc=$?
  m "$name" "$rc"
  [ -n "$out" ] && printf '%s\n' "$out"
  return 0
}
m tools
for t in sbatch squeue srun scancel sacct scontrol sinfo; do
  if command -v "$t" >/dev/null 2>&1; then
    printf '%s yes\n' "$t"
  else
    printf '%s no\n' "$t"
  fi
done
m version
if command -v sbatch >/dev/null 2>&1; then sbatch --version 2>&1; fi
m partition "$part"
# %P: the partition (the default one with a trailing '*'), %a: its state, %l: its time limit,
# %D: nodes, %G: their GRES. A partition whose nodes differ has several lines.
section sinfo sinfo -h -o '%P|%a|%l|%D|%G'
section assoc sacctmgr -n -P show assoc where user="$(id -un)" \
  format=Account,Partition,MaxWall,MaxTRES,GrpTRES,MaxJobs,MaxSubmit,QOS
m end
