# Usage: bash --norc --noprofile bash_complete.sh bc|plain SCRIPT LINE
# Loads SCRIPT (shell/jl.bash), with bash-completion first when the mode is "bc", sets
# COMP_LINE, COMP_POINT, COMP_WORDS and COMP_CWORD as bash does for LINE with the cursor at its
# end ('=' and ':' break words, as in bash's default COMP_WORDBREAKS), calls the completion
# function registered for jl, and prints COMPREPLY one per line.
mode=$1 script=$2 line=$3
if [ "$mode" = bc ]; then
  . /usr/share/bash-completion/bash_completion || exit 3
  declare -F _init_completion >/dev/null || exit 3
fi
[ "$mode" = plain ] && declare -F _init_completion >/dev/null && exit 5
. "$script"
func=$(complete -p jl | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$func" ] || exit 4
COMP_LINE=$line
COMP_POINT=${#line}
read -ra COMP_WORDS <<<"$(sed -e 's/[=:]/ & /g' <<<"$line")"
case $line in *" ") COMP_WORDS+=("") ;; esac
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
"$func" jl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
