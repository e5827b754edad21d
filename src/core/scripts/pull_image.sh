# shellcheck shell=sh
# Runs on the host, on a terminal (so that docker prints its progress with byte counts): pull
# an image. Positional parameters: nonce, the docker command's first word, the whole docker
# command (quoted words, for eval), the image. docker's own stdin is /dev/null.
n=$1 dexe=$2 dq=$3 image=$4
m() { printf '@@%s %s\n' "$n" "$*"; }
d() { eval "$dq \"\$@\""; }
if ! command -v "$dexe" >/dev/null 2>&1; then m docker-missing "$dexe"; exit 0; fi
m pull
d pull "$image" </dev/null 2>&1
m pull-rc "$?"
