# shellcheck shell=sh
# Runs on the host: the GPUs and the compute processes on them (nvidia-smi), each process's
# cgroup (which container it runs in), and, when there are processes, the running containers'
# ids and names. Positional parameters: the nonce, then the docker command's words.
n=$1
shift
m() { printf '@@%s %s\n' "$n" "$*"; }
t() { s=$1; shift; if command -v timeout >/dev/null 2>&1; then timeout "$s" "$@"; else "$@"; fi; }
if ! command -v nvidia-smi >/dev/null 2>&1; then m no-nvidia-smi; m end; exit 0; fi
out=$(t 10 nvidia-smi --query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu \
  --format=csv,noheader,nounits 2>&1 </dev/null)
rc=$?
m gpus "$rc"
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then m end; exit 0; fi
apps=$(t 10 nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory \
  --format=csv,noheader,nounits 2>&1 </dev/null)
rc=$?
m apps "$rc"
printf '%s\n' "$apps"
if [ "$rc" -ne 0 ]; then m end; exit 0; fi
found=no
while IFS=, read -r _ pid _; do
  pid=${pid# }
  case $pid in ''|*[!0-9]*) continue;; esac
  found=yes
  m cgroup "$pid"
  cat "/proc/$pid/cgroup" 2>/dev/null
done <<EOF
$apps
EOF
if [ "$found" = yes ] && [ $# -gt 0 ] && command -v "$1" >/dev/null 2>&1; then
  out=$(t 10 "$@" ps --no-trunc --format '{{.ID}} {{.Names}}' 2>&1 </dev/null)
  m containers "$?"
  printf '%s\n' "$out"
fi
m end
