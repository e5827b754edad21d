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

  # SYNOPSIS against --help, both ways: each option of a command (in one of its spellings) is in
  # that command's .SY block, and the block names no option the command lacks. `jl up` shows
  # start's options as "start options".
  synopsis_of() { # the .SY "jl CMD" block, roff dashes made plain
    awk -v want="$1" '$0 == ".SY \"" want "\"" || ($0 == ".SY jl" && want == "jl") {on = 1; print ".SY"; next}
      on && /^\.YS/ {on = 0} on {print}' "$page" | sed 's/\\-/-/g'
  }
  opts_in() { grep -oE -- '(^|[ |])-{1,2}[[:alpha:]][-[:alnum:]]*' | grep -oE -- '-{1,2}[[:alpha:]][-[:alnum:]]*' | sort -u; }
  check_synopsis() { # NAME HELP_TEXT [EXTRA_ALLOWED_HELP]
    local name=$1 text=$2 extra=${3:-} block group opt found
    block=$(synopsis_of "$name")
    [ -n "$block" ] || { fail "SYNOPSIS has no .SY block for $name"; return; }
    while read -r group; do
      [ -n "$group" ] || continue
      found=0
      for opt in ${group//,/ }; do grep -qxF -- "$opt" < <(opts_in <<<"$block") && found=1; done
      [ "$found" -eq 1 ] || fail "SYNOPSIS of $name does not show $group"
    done < <(sed -n '/^Options:/,$p' <<<"$text" | grep -oE '^  +-[-[:alnum:]]+(,-[-[:alnum:]]+)*' |
      tr -d ' ' | grep -vxE -- '-h,--help')
    while read -r opt; do
      [ -n "$opt" ] || continue
      grep -qE -- "(^|[ ,])$opt([ ,]|$)" < <(sed -n '/^Options:/,$p' <<<"$text$extra") ||
        fail "SYNOPSIS of $name shows $opt, which $name does not have"
    done < <(opts_in <<<"$block")
  }
  global_help=$(sed '/^Subcommands:/,$d' <<<"$help")
  check_synopsis jl "$global_help"
  start_help=$("$jl" start --help)
  while read -r cmd _; do
    if [ "$cmd" = up ]; then
      grep -qF '"start options"' < <(synopsis_of "jl up") || fail "SYNOPSIS of jl up lacks start options"
      check_synopsis "jl up" "$("$jl" up --help | grep -vF -f <(sed -n '/^Options:/,$p' <<<"$start_help" | grep -E '^  +-' | grep -v -- '--help'))" $'\n'"$start_help"
      continue
    fi
    sub=$("$jl" "$cmd" --help)
    if grep -q '^Subcommands:' <<<"$sub"; then
      while read -r leaf; do
        check_synopsis "jl $cmd $leaf" "$("$jl" "$cmd" "$leaf" --help)"
      done < <(sed -n '/^Subcommands:/,$p' <<<"$sub" | sed -nE 's/^  ([a-z][-a-z]*) .*/\1/p')
    else
      check_synopsis "jl $cmd" "$sub"
    fi
  done <<<"$commands"
  # Every exit code --help lists is in EXIT STATUS, 130 among them, and --help names the default
  # host (the local test bed).
  exit_text=$(sed -n '/^Exit codes:/,/^$/p' <<<"$help")
  grep -q 'jl-testbed' <<<"$help" || fail "jl --help does not name the default host jl-testbed"
  grep -qE '\b130\b' <<<"$exit_text" || fail "jl --help does not list exit code 130"
  codes=$(grep -oE '\b[0-9]+\b' <<<"$exit_text")
  [ -n "$codes" ] || fail "jl --help lists no exit codes"
  for code in $codes; do
    awk '/^\.SH "?EXIT STATUS"?$/{on=1;next} /^\.SH/{on=0} on' "$page" | grep -qxF ".B $code" ||
      fail "exit code $code of jl --help is not in EXIT STATUS"
  done
else
  echo "manpage: $jl not built; skipped the check against jl --help" >&2
fi

[ "$failed" -eq 0 ] || exit 1
echo "manpage: $page ok" >&2
