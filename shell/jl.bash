# bash completion for jl                                       -*- shell-script -*-
#
# Installed as bash-completion's "jl"; `jl completion bash` prints this same file, so
# `source <(jl completion bash)` works too. Works with and without bash-completion.
#
# Commands, options and fixed values are listed here. Hosts, known sessions and the running
# containers of a host come from `jl __complete hosts|sessions|containers`, run with the -H and
# -F already on the line, under a time limit, with errors discarded: completing never hangs the
# shell and never prints into the prompt.

# Print what `jl __complete KIND` offers. $1 is the jl to run, the rest its arguments.
_jl_ask() {
  local bin=$1
  shift
  case $bin in "~/"*) bin=$HOME/${bin#"~/"} ;; esac
  local -a guard=()
  if type -P timeout >/dev/null 2>&1; then
    guard=(timeout -k 1 5)
  fi
  "${guard[@]}" "$bin" "$@" </dev/null 2>/dev/null
}

# Set COMPREPLY to the words of $1 that start with $2 (none of jl's words has a space or a
# glob character: jl __complete prints only names that cannot).
_jl_reply() {
  COMPREPLY=($(compgen -W "$1" -- "$2"))
}

_jl() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    # -n =: keeps --opt=value and host:port one word each; returns 1 after completing a
    # redirection (jl status > FILE).
    _init_completion -n =: || return
  else
    # Without bash-completion: join what bash split at '=' and ':' back into whole words.
    words=() cword=0
    local i t
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
      t=${COMP_WORDS[i]}
      if ((${#words[@]} > 1)) && [[ $t == [=:] || ${words[${#words[@]} - 1]} == *[=:] && $t != -* ]]; then
        words[${#words[@]} - 1]+=$t
      else
        words+=("$t")
      fi
      ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
      words+=("")
      cword=$((${#words[@]} - 1))
    fi
    cur=${words[cword]}
  fi

  local globals="-H --host -F --ssh-config --json -v --verbose -q --quiet
    --accept-changed-host-key --version -h --help"
  local commands="start up open stop rm status ls gpus forward close doctor logs config completion"

  # Walk the line before the cursor: -H/-F (passed on to jl __complete), the command, how many
  # arguments it has so far, and whether a -- was seen.
  local -a pass=()
  local cmd= w v npos=0 dashdash=
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    v=
    case $w in
      --) dashdash=1; break ;;
      -H | --host | -F | --ssh-config)
        if ((i + 1 < cword)); then
          v=${words[i + 1]}
          [[ $w == -H || $w == --host ]] && pass+=(-H "$v") || pass+=(-F "$v")
        fi
        ((i++))
        ;;
      --host=*) pass+=(-H "${w#*=}") ;;
      --ssh-config=*) pass+=(-F "${w#*=}") ;;
      -H?*) pass+=(-H "${w#-H}") ;;
      -F?*) pass+=(-F "${w#-F}") ;;
      --port | --dir | --app | --timeout | --idle-timeout | --local-port | -L | -n | --lines | \
        --image | --gpus | --volume | --shm-size | --ipc | --user | --workdir | --env | --pull | \
        -p | --partition | --gres | -t | --time | -c | --cpus-per-task | --mem | -A | --account | \
        --qos) ((i++)) ;;
      # Before a command -v is --verbose and -q --quiet; after start or up -v is --volume, as -e
      # is --env and -q --qos.
      -v | -e | -q) [[ $cmd == start || $cmd == up ]] && ((i++)) ;;
      -*) ;;
      *)
        if [[ -z $cmd ]]; then
          cmd=$w
        else
          ((npos++))
        fi
        ;;
    esac
  done
  [[ -n $dashdash ]] && return 0 # the rest goes to Jupyter

  local bin=${words[0]}
  local opt= eq=
  prev=
  ((cword > 0)) && prev=${words[cword - 1]}
  # --opt=value: complete the value; bash replaces only what follows '=' when '=' breaks words.
  if [[ $cur == --*=* ]]; then
    opt=${cur%%=*}
    cur=${cur#*=}
    [[ $COMP_WORDBREAKS == *=* ]] || eq=$opt=
  elif [[ $prev == -* ]]; then
    opt=$prev
  fi

  local values=
  case $opt in
    -H | --host)
      [[ $cur == *:* ]] && return 0
      values=$(_jl_ask "$bin" "${pass[@]}" __complete hosts)
      ;;
    -F | --ssh-config)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
      ;;
    --app) values="auto lab notebook server" ;;
    --pull) values="missing always never" ;;
    --ipc) values="host" ;;
    --user) values="host" ;;
    --gpus) values="all" ;;
    --idle-timeout) values="30m 1h 2h 8h" ;;
    --port | --dir | --timeout | --local-port | -L | -n | --lines | --image | --volume | \
      --shm-size | --workdir | --env | -p | --partition | --gres | -t | --time | -c | \
      --cpus-per-task | --mem | -A | --account | --qos) return 0 ;;
    -v | -e | -q)
      [[ $cmd == start || $cmd == up ]] && return 0
      opt=
      ;;
    *) opt= ;;
  esac
  if [[ -n $opt ]]; then
    _jl_reply "$values" "$cur"
    if [[ -n $eq ]]; then
      COMPREPLY=("${COMPREPLY[@]/#/$eq}")
    fi
    return 0
  fi

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      _jl_reply "$globals" "$cur"
    else
      _jl_reply "$commands" "$cur"
    fi
    return 0
  fi

  local options=
  local create="--image --gpus -v --volume --shm-size --ipc --user --workdir -e --env --pull
    --start-container"
  local slurm="--slurm --no-wait -p --partition --gres -t --time -c --cpus-per-task --mem
    -A --account -q --qos"
  case $cmd in
    start) options="--port --dir --app --timeout --idle-timeout $create $slurm" ;;
    up) options="--port --dir --app --timeout --idle-timeout $create $slurm --no-browser
      --local-port --foreground" ;;
    rm) options="--force" ;;
    open) options="--no-browser --local-port --foreground" ;;
    forward) options="-L --local-port --foreground" ;;
    stop | close) options="--all" ;;
    status | ls) options="--show-token" ;;
    logs) options="-f --follow -n --lines" ;;
    doctor) options="--port --slurm -p --partition" ;;
  esac
  if [[ $cur == -* ]]; then
    _jl_reply "$options -h --help" "$cur"
    return 0
  fi
  ((npos > 0)) && return 0
  case $cmd in
    start | up | rm) values=$(_jl_ask "$bin" "${pass[@]}" __complete containers) ;;
    open | stop | close | status | ls | logs | doctor)
      values=$(_jl_ask "$bin" "${pass[@]}" __complete sessions)
      ;;
    gpus) values=$(_jl_ask "$bin" "${pass[@]}" __complete hosts) ;;
    config) values="show path" ;;
    completion) values="bash zsh fish" ;;
    *) return 0 ;;
  esac
  _jl_reply "$values" "$cur"
  return 0
}

complete -F _jl jl
