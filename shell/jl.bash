# bash completion for jl
_jl() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
  }
  local commands="start stop status ls"
  local globals="-H --host -F --ssh-config --json -v --verbose -q --quiet --version --help"
  case $prev in
    -F | --ssh-config | --dir)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    -H | --host)
      local hosts
      hosts=$(awk 'tolower($1) == "host" { for (i = 2; i <= NF; i++) if ($i !~ /[*?!]/) print $i }' \
        ~/.ssh/config 2>/dev/null)
      COMPREPLY=($(compgen -W "$hosts" -- "$cur"))
      return
      ;;
    --app)
      COMPREPLY=($(compgen -W "auto lab notebook server" -- "$cur"))
      return
      ;;
    --port | --timeout)
      return
      ;;
  esac
  local i cmd=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -H | --host | -F | --ssh-config) ((i++)) ;;
      -*) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
    return
  fi
  case $cmd in
    start) COMPREPLY=($(compgen -W "--port --dir --app --timeout --help" -- "$cur")) ;;
    stop) COMPREPLY=($(compgen -W "--all --help $(_jl_sessions)" -- "$cur")) ;;
    status | ls) COMPREPLY=($(compgen -W "--help $(_jl_sessions)" -- "$cur")) ;;
  esac
}

# Containers of the known sessions, from jl's state file.
_jl_sessions() {
  local state=${XDG_STATE_HOME:-$HOME/.local/state}/jl/state.json
  [ -r "$state" ] || return
  sed -n 's/^ *"container": "\(.*\)",\{0,1\}$/\1/p' "$state"
}
complete -F _jl jl
