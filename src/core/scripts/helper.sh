# shellcheck shell=sh
# Runs on the host, for as long as a master (jl's tunnel process) lives, in one session channel
# of its connection: the commands other jl commands send over the shared connection, one at a
# time, each answered in one round trip instead of a channel of its own (open, exec and the
# bootstrap: three). It arrives through the login-shell bootstrap (core/shell), so it is
# /bin/sh whatever the login shell is, and it reads its jobs the way the bootstrap reads its
# command: a line "ID N", then exactly N bytes (dd with bs=1 takes no byte beyond them) that
# end in the bootstrap's trailer. A job runs in a subshell with an empty stdin and its output in
# files of a private directory; the answer is a line "@@jl-done ID STATUS OUT ERR" with the byte
# counts, then stdout's and stderr's bytes. EOF on stdin (the master went away) ends the loop.
d=$(mktemp -d "${TMPDIR:-/tmp}/jl-helper.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
trap 'exit 1' HUP INT TERM PIPE
echo @@jl-helper-1
while read -r id n; do
  case $id:$n in *[!0-9:]* | :* | *:) exit 98 ;; esac
  s=$(dd bs=1 count="$n" 2>/dev/null)
  case $s in *"#jl-end") ;; *) exit 97 ;; esac
  (eval "$s") </dev/null >"$d/o" 2>"$d/e"
  r=$?
  # shellcheck disable=SC2046 # wc's counts, which BSD's wc pads with blanks
  printf '@@jl-done %s %s %s %s\n' "$id" "$r" $(wc -c <"$d/o") $(wc -c <"$d/e")
  cat "$d/o" "$d/e"
done
