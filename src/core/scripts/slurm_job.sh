#!/bin/sh
# shellcheck shell=sh
# jl's Slurm job: holds the allocation and runs the Jupyter server that jl starts in it. jl's
# start script (a step of this job) hands the server's command line over through a directory
# of this job's own on the node, the token in a file only this user reads; this script runs
# the server in the job's own step, so that it lives as long as the job (a step's background
# processes end with the step where ProctrackType is cgroup).
umask 077
say() { printf 'jl job %s: %s\n' "${SLURM_JOB_ID:-?}" "$*" >&2; }
base=/tmp/jl-$(id -u)
mkdir -p "$base" 2>/dev/null
if ! { [ -d "$base" ] && [ -O "$base" ] && [ ! -L "$base" ] && chmod 700 "$base"; }; then
  say "cannot use $base on $(hostname)"; exit 1
fi
d=$base/job-${SLURM_JOB_ID:?}
rm -rf -- "$d"
mkdir "$d" || { say "cannot make $d"; exit 1; }
pid=
# Ended by scancel or the time limit: stop the server first, then clean up.
# shellcheck disable=SC2317 # called by the trap
stop() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf -- "$d"
  exit 143
}
trap stop TERM INT HUP
# Wait for the handover: the file "go" holds the log's path, the directory to serve, two
# directories for Jupyter's environment (empty: unset), the count of words and the words.
while [ ! -f "$d/go" ]; do sleep 0.2; done
{
  IFS= read -r log && IFS= read -r dir && IFS= read -r rtdir && IFS= read -r wsdir &&
    IFS= read -r count
} <"$d/go" || { say "unreadable handover"; rm -rf -- "$d"; exit 1; }
case $count in '' | *[!0-9]*) say "unreadable handover"; rm -rf -- "$d"; exit 1 ;; esac
set --
i=0
while [ "$i" -lt "$count" ]; do
  i=$((i + 1))
  set -- "$@" "$(sed -n "$((i + 5))p" "$d/go")"
done
IFS= read -r JUPYTER_TOKEN <"$d/token" || { say "no token"; rm -rf -- "$d"; exit 1; }
rm -f -- "$d/token"
export JUPYTER_TOKEN
[ -n "$rtdir" ] && export JUPYTER_RUNTIME_DIR="$rtdir"
[ -n "$wsdir" ] && export JUPYTERLAB_WORKSPACES_DIR="$wsdir"
cd -- "$dir" || { say "cannot change to $dir"; rm -rf -- "$d"; exit 1; }
"$@" </dev/null >>"$log" 2>&1 &
pid=$!
printf '%s\n' "$pid" >"$d/pid.tmp" && mv -f -- "$d/pid.tmp" "$d/pid"
wait "$pid"
rc=$?
pid=
rm -rf -- "$d"
exit "$rc"
