# shellcheck shell=sh
# Runs on the host: make sure container $c exists and runs, creating it from $image when there
# is none (or saying that the image must be pulled first). Positional parameters: nonce, container, image (empty: never create), pull policy
# (missing, always or never), what to do with a stopped container (start it; ours: start it
# when jl made it; leave it), the
# docker command's first word, the whole docker command (quoted words, for eval), then the
# arguments that create it (`run` and what follows; none: report a missing container and stop,
# so that jl can choose what to create it with, e.g. free GPUs, and ask again).
n=$1 c=$2 image=$3 pull=$4 stopped=$5 dexe=$6 dq=$7
shift 7
m() { printf '@@%s %s\n' "$n" "$*"; }
# The docker command as configured, with these arguments (its words were quoted by jl).
d() { eval "$dq \"\$@\""; }
if ! command -v "$dexe" >/dev/null 2>&1; then m docker-missing "$dexe"; m end; exit 0; fi
out=$(d inspect --type container --format '{{.State.Status}} {{index .Config.Labels "jl.made-by"}}' "$c" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
  m exists "$out"
  m spec
  d inspect --type container --format '{{index .Config.Labels "jl.spec"}}' "$c" 2>/dev/null
  case $out in
    running*) ;;
    *)
      if [ "$stopped" = start ] || { [ "$stopped" = ours ] && [ "${out#* }" = jl ]; }; then
        o=$(d start "$c" 2>&1)
        m started "$?"
        printf '%s\n' "$o"
      fi;;
  esac
  m end
  exit 0
fi
case $out in
  *'No such'*) ;;
  *) m inspect-failed "$rc"; printf '%s\n' "$out"; m end; exit 0;;
esac
m missing
if [ -z "$image" ] || [ $# -eq 0 ]; then m end; exit 0; fi
have=no
d image inspect "$image" >/dev/null 2>&1 && have=yes
m image "$have"
# jl pulls the image itself, as a step of its own (on a terminal, for docker's progress), then
# runs this again with pull=never: `docker run` never pulls.
if [ "$pull" = always ] || { [ "$have" = no ] && [ "$pull" = missing ]; }; then
  m pull-needed
  m end
  exit 0
elif [ "$have" = no ]; then
  m end
  exit 0
fi
m run
d "$@" 2>&1
rc=$?
m run-rc "$rc"
# A run that failed after creating the container (e.g. no GPU runtime) leaves it created but
# not running: it did not exist before, so it is this run's, and goes.
if [ "$rc" -ne 0 ]; then d rm -f "$c" >/dev/null 2>&1; fi
m end
