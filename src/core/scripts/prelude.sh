# shellcheck shell=sh disable=SC2154 # $n (the nonce) is set by the script this one follows
# Shared shell functions for scripts that run in the container (they expect the nonce in $n).
# `m` prints a marker; `alive` tells whether a pid is a live process (a zombie counts as gone:
# containers whose init does not reap leave zombies behind).
m() { printf '@@%s %s\n' "$n" "$*"; }
alive() {
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  case $st in ''|*') Z '*|*') X '*) return 1;; esac
  return 0
}
runtime_dir() {
  printf '%s' "${JUPYTER_RUNTIME_DIR:-${JUPYTER_DATA_DIR:-${XDG_DATA_HOME:-${HOME:-/}/.local/share}/jupyter}/runtime}"
}
# jl's own directory in /tmp, for a container whose HOME cannot be written (a uid without a
# passwd entry gets HOME=/; a read-only root file system): 0700, and it must be ours.
own_tmp() {
  d=/tmp/jl-$(id -u)
  mkdir -p "$d" 2>/dev/null
  [ -O "$d" ] && [ -w "$d" ] && [ ! -L "$d" ] && chmod 700 "$d" && printf '%s' "$d"
}
# The runtime files in $1 whose server process lives, each as a "runtime FILE" marker and the
# file's text.
live_servers() {
  for f in "$1"/jpserver-*.json "$1"/nbserver-*.json; do
    [ -f "$f" ] || continue
    b=${f##*/}; pid=${b#*-}; pid=${pid%.json}
    case $pid in ''|*[!0-9]*) continue;; esac
    alive "$pid" || continue
    m runtime "$f"
    cat "$f" 2>/dev/null
    echo
  done
}
# The same for the usual runtime directory and the one jl uses when that cannot be written.
live_servers_all() {
  rt=$(runtime_dir)
  live_servers "$rt"
  alt=/tmp/jl-$(id -u)/runtime
  if [ "$alt" != "$rt" ] && [ -d "$alt" ] && [ -O "$alt" ]; then live_servers "$alt"; fi
}
