# shellcheck shell=sh disable=SC2154 # $n (the nonce) is set by the script this one follows
# Runs inside the container after probe_inner.sh: starts Jupyter detached and waits for its
# runtime file.
umask 077
# Whether the server answers, with the token, where jl's tunnel will reach it ($ip:$port, the
# runtime file's base URL), asked from here by the app's own Python, so that jl need not ask
# through the host (a channel's open and the request: two round trips). Once: Jupyter writes
# the file once it listens, so a refused connection means it listens elsewhere. Prints "answer
# STATUS VERSION": STATUS 0 when nothing answered (within 5 s); VERSION from GET api when the
# runtime file has none, else "-". Nothing without a Python (jl then asks through the host).
answer() {
  py=
  first=
  p=$(command -v "$app" 2>/dev/null) && IFS= read -r first <"$p" 2>/dev/null
  case $first in '#!'*python*) py=${first#??} ;; esac
  if [ -z "$py" ]; then py=$(command -v python3 2>/dev/null) || return 0; fi
  set -f
  # shellcheck disable=SC2086 # the shebang's words, split on purpose
  a=$($py -I - "$1" "$ip" 2>/dev/null <<'EOF'
import http.client, json, os, sys
try:
    rt = json.load(open(sys.argv[1]))
    port = int(rt["port"])
except Exception:
    print(0, "-")
    sys.exit(0)
ip = sys.argv[2]
base = rt.get("base_url") or "/"
tok = os.environ.get("JUPYTER_TOKEN", "")
def get(path, auth):
    c = http.client.HTTPConnection(ip, port, timeout=5)
    try:
        c.request("GET", base + path, headers={"Authorization": "token " + tok} if auth else {})
        r = c.getresponse()
        return r.status, r.read()
    except Exception:
        return 0, b""
    finally:
        c.close()
st = get("api/status", True)[0]
ver = "-"
if st == 200 and not rt.get("version"):
    try:
        ver = str(json.loads(get("api", False)[1])["version"]).replace(" ", "") or "-"
    except Exception:
        pass
print(st, ver)
EOF
)
  set +f
  case $a in [0-9]*' '?*) m answer "$a" ;; esac
}
IFS= read -r JUPYTER_TOKEN || { m fail no-token; exit 0; }
[ -n "$JUPYTER_TOKEN" ] || { m fail no-token; exit 0; }
export JUPYTER_TOKEN
base=${XDG_STATE_HOME:-${HOME:-/}/.local/state}/jl
if ! { mkdir -p "$base" 2>/dev/null && [ -w "$base" ]; }; then
  base=$(own_tmp) || { m fail log-dir "/tmp/jl-$(id -u)"; exit 0; }
fi
log=$base/jupyter-$port.log
# Jupyter exits at once when it cannot create its runtime directory (HOME not writable): give
# it, and JupyterLab's workspaces, a directory of jl's own instead.
rt=$(runtime_dir)
if ! { mkdir -p "$rt" 2>/dev/null && [ -w "$rt" ]; }; then
  tmp=$(own_tmp) || { m fail runtime-dir "$rt"; exit 0; }
  mkdir -p "$tmp/runtime" "$tmp/workspaces"
  export JUPYTER_RUNTIME_DIR="$tmp/runtime" JUPYTERLAB_WORKSPACES_DIR="$tmp/workspaces"
  m runtime-moved "$rt" "$tmp/runtime"
  rt=$tmp/runtime
fi
if [ -n "$dir" ]; then
  cd -- "$dir" 2>/dev/null || { m fail dir "$dir"; exit 0; }
fi
# The port never moves (port_retries defaults to 50). Notebook 6 reads NotebookApp's option;
# apps on jupyter_server read ServerApp's and warn about NotebookApp's.
set -- "$app" "$@" --no-browser "--ip=$ip" "--port=$port" --ServerApp.port_retries=0
case $app in *notebook*) set -- "$@" --NotebookApp.port_retries=0 ;; esac
[ "$root" = 1 ] && set -- "$@" --allow-root
if [ -n "$job" ]; then
  # A Slurm job: its batch script runs the server (see slurm_job.sh), from the handover
  # directory it made: the plan, the token in a file of its own, then "go".
  h=/tmp/jl-$(id -u)/job-$job
  if ! { [ -d "$h" ] && [ -O "$h" ] && [ ! -L "$h" ]; }; then m fail handoff "$h"; exit 0; fi
  : >"$log"
  if ! {
    {
      printf '%s\n' "$log" "$(pwd)" "${JUPYTER_RUNTIME_DIR-}" "${JUPYTERLAB_WORKSPACES_DIR-}" "$#"
      printf '%s\n' "$@"
    } >"$h/plan" && printf '%s\n' "$JUPYTER_TOKEN" >"$h/token" && mv -f -- "$h/plan" "$h/go"
  }; then
    m fail handoff "$h"; exit 0
  fi
  i=0
  while [ ! -s "$h/pid" ]; do
    [ "$i" -ge 500 ] && { m fail handoff "$h (the job did not take it)"; exit 0; }
    sleep 0.02 2>/dev/null || sleep 1
    i=$((i + 1))
  done
  pid=$(cat "$h/pid")
elif command -v setsid >/dev/null 2>&1; then
  setsid "$@" </dev/null >"$log" 2>&1 &
  pid=$!
else
  "$@" </dev/null >"$log" 2>&1 &
  pid=$!
fi
m started "$pid" "$log"
# $limit counts rounds of 20 ms; the clock, where date can read it, keeps the rounds honest
# (each round also costs the checks' own time).
t0=$(date +%s 2>/dev/null)
case $t0 in ''|*[!0-9]*) t0=;; esac
i=0
while [ "$i" -lt "$limit" ]; do
  # Once a second: how long it has waited, and the last line Jupyter logged.
  if [ "$i" -gt 0 ] && [ $((i % 40)) -eq 0 ]; then
    if [ -n "$t0" ]; then
      secs=$(($(date +%s) - t0))
      [ "$secs" -ge $((limit / 50)) ] && break
    else
      secs=$((i / 50))
    fi
    m waiting "$secs" "$(tail -n 1 "$log" 2>/dev/null | tr -d '\r' | cut -c 1-200)"
  fi
  for f in "$rt/jpserver-$pid.json" "$rt/nbserver-$pid.json"; do
    if [ -s "$f" ] && [ "$(tail -c 1 "$f" 2>/dev/null)" = '}' ]; then
      m new-runtime "$f"
      cat "$f"
      echo
      answer "$f"
      m end
      exit 0
    fi
  done
  if ! alive "$pid"; then
    m died
    tail -n 30 "$log" 2>/dev/null
    m end
    exit 0
  fi
  sleep 0.02 2>/dev/null || sleep 1
  i=$((i + 1))
done
m slow
tail -n 30 "$log" 2>/dev/null
m end
