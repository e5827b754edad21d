#!/usr/bin/env bash
# Check the man page: man and groff render it without a single warning, and, given the jl
# binary, it documents every command and every option that `jl --help` lists.
# Usage: tests/manpage.sh [MAN_PAGE [JL_BINARY]]   (default: docs/jl.1, build/jl if present)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
page=${1:-$root/docs/jl.1}
jl=${2:-$root/build/jl}
failed=0
fail() {
  printf 'manpage: FAIL: %s\n' "$1" >&2
  shift
  [ $# -gt 0 ] && printf '%s\n' "$@" | head -n 20 | sed 's/^/  | /' >&2
  failed=1
}

[ -r "$page" ] || { echo "manpage: cannot read $page" >&2; exit 1; }
for tool in man groff; do
  command -v "$tool" >/dev/null || { echo "manpage: $tool is missing (tests/deps.sh test)" >&2; exit 1; }
done

# man-db: MANROFFSEQ= ignores preprocessor hints, --warnings turns on groff's warnings.
out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || true
[ -z "$out" ] || fail "man --warnings -l $page" "$out"
out=$(LC_ALL=C.UTF-8 groff -man -ww -z "$page" 2>&1) || fail "groff exited with an error" "$out"
[ -z "$out" ] || fail "groff -man -ww -z $page" "$out"
# Every section the page promises.
for section in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS CONFIGURATION ENVIRONMENT \
  FILES "EXIT STATUS" SECURITY EXAMPLES "SEE ALSO"; do
  grep -qxE "\.SH \"?$section\"?" "$page" || fail "no section $section"
done

# Drift from the command line: each command of `jl --help` has its own subsection, and each
# option of `jl COMMAND --help` is mentioned (as roff writes it: \-\-port).
if [ -x "$jl" ]; then
  roff() { printf '%s\n' "${1//-/\\-}"; }
  options_of() { # the option names in a --help text, one per line
    sed -n '/^Options:/,$p' | grep -oE '^  +-[-[:alnum:]]+(,-[-[:alnum:]]+)*' | tr -d ' ' |
      tr ',' '\n' | grep -vxE -- '-h|--help'
  }
  help=$("$jl" --help)
  while read -r opt; do
    grep -qF -- "$(roff "$opt")" "$page" || fail "global option $opt is not documented"
  done < <(options_of <<<"$help")
  commands=$(sed -n '/^Subcommands:/,$p' <<<"$help" | sed -nE 's/^  ([a-z][-a-z]*)(, ([a-z][-a-z]*))?( .*)?$/\1 \3/p')
  [ -n "$commands" ] || fail "found no commands in jl --help"
  while read -r cmd alias; do
    grep -qE "^\.SS \"jl $cmd( |\")" "$page" || fail "command $cmd has no subsection"
    if [ -n "$alias" ]; then
      grep -qF "jl $alias" "$page" || fail "alias $alias of $cmd is not documented"
    fi
    while read -r opt; do
      grep -qF -- "$(roff "$opt")" "$page" || fail "option $opt of $cmd is not documented"
    done < <("$jl" "$cmd" --help | options_of)
  done <<<"$commands"
else
  echo "manpage: $jl not built; skipped the check against jl --help" >&2
fi

[ "$failed" -eq 0 ] || exit 1
echo "manpage: $page ok" >&2
