# shellcheck shell=sh disable=SC2034 # start_inner.sh, which follows, reads these
# Runs inside the container as its default user, after prelude.sh: the probe, then (mode
# plan) reads a plan on stdin; start_inner.sh follows it.
# A third parameter, a Slurm job's id, makes the start hand Jupyter over to that job's batch
# script (slurm_job.sh) instead of starting it detached.
n=$1 mode=$2 job=${3-}
m id "$(id -u 2>/dev/null)" "$(id -un 2>/dev/null)"
m home "${HOME:-/}"
for a in jupyter-lab jupyter-notebook jupyter-server; do
  p=$(command -v "$a" 2>/dev/null) && m app "$a" "$p"
done
m runtime-dir "$(runtime_dir)"
# In a Slurm job: the pid of the server this job runs, if any (a node's other jobs may run
# servers of the same user, whose runtime files sit beside this one's).
if [ -n "$job" ]; then m job-server "$(cat "/tmp/jl-$(id -u)/job-$job/pid" 2>/dev/null)"; fi
live_servers_all
m tcp
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
m end
[ "$mode" = plan ] || exit 0
# jl answers with a plan on stdin: "quit", or "start" and the start's parameters, one per
# line, the extra Jupyter arguments, and last the token.
m plan?
IFS= read -r what || exit 0
[ "$what" = start ] || exit 0
if ! { IFS= read -r app && IFS= read -r ip && IFS= read -r port && IFS= read -r dir &&
       IFS= read -r root && IFS= read -r limit && IFS= read -r nextra; }; then
  m fail plan; exit 0
fi
case "$port:$limit:$nextra" in *[!0-9:]*|:*|*::*|*:) m fail plan; exit 0;; esac
set --
i=0
while [ "$i" -lt "$nextra" ]; do
  IFS= read -r a || { m fail plan; exit 0; }
  set -- "$@" "$a"
  i=$((i + 1))
done
