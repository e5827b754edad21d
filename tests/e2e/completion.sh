#!/usr/bin/env bash
# Shell completion, driven for real: shell/jl.bash sourced into bash (with bash-completion and
# without) and its completion function called as bash calls it, zsh's completion system on a
# pseudo-terminal, fish's `complete -C`; all against the real jl and the real test bed.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SHELL_DIR=$(cd "$HERE/../../shell" && pwd)
export XDG_CACHE_HOME=$WORK/cache
mkdir -p "$WORK/bin"
ln -s "$JL_BIN" "$WORK/bin/jl"
export PATH=$WORK/bin:$PATH
CFG=$JL_TESTBED_SSH_CONFIG
H=$JL_TESTBED_HOST

# Complete LINE (cursor at the end) in bash; MODE bc (bash-completion loaded) or plain.
# Sets GOT (the candidates, sorted, space-separated), CERR (stderr) and CSECS.
bash_complete() {
  local mode=$1 line=$2 start end
  start=$(date +%s.%N)
  GOT=$(timeout 30 bash --norc --noprofile "$HERE/bash_complete.sh" "$mode" "$SHELL_DIR/jl.bash" \
    "$line" 2>"$WORK/cerr" | grep -v '^$' | sort | tr '\n' ' ')
  end=$(date +%s.%N)
  GOT=${GOT% }
  CERR=$(cat "$WORK/cerr")
  CSECS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  log "  bash($mode) [$line] -> [$GOT] in ${CSECS}s"
}

zsh_complete() {
  local line=$1
  rm -f "$WORK/zout"
  timeout 30 zsh -f "$HERE/zsh_complete.zsh" "$SHELL_DIR" "$WORK/zout" "$line" 2>"$WORK/cerr"
  GOT=$(grep -v -e '^@@done$' -e '^$' "$WORK/zout" 2>/dev/null | sort -u | tr '\n' ' ')
  GOT=${GOT% }
  log "  zsh [$line] -> [$GOT]"
}

fish_complete() {
  local line=$1
  GOT=$(timeout 30 fish --no-config -c "source $(printf '%q' "$SHELL_DIR/jl.fish"); complete -C \$argv[1]" \
    "$line" 2>"$WORK/cerr" | cut -f1 | sort -u | tr '\n' ' ')
  GOT=${GOT% }
  log "  fish [$line] -> [$GOT]"
}

secs_below() { awk -v s="$1" -v l="$2" 'BEGIN { exit !(s < l) }'; }
connections() { grep -c 'Connection from' "$JL_TESTBED_DIR/sshd.log"; }

log "== the scripts: printed by jl completion byte for byte, valid syntax"
for pair in bash:jl.bash zsh:_jl fish:jl.fish; do
  sh=${pair%%:*} file=${pair#*:}
  "$JL_BIN" completion "$sh" >"$WORK/printed" 2>"$WORK/stderr"
  if cmp -s "$WORK/printed" "$SHELL_DIR/$file"; then
    pass "jl completion $sh is shell/$file byte for byte"
  else
    fail "jl completion $sh differs from shell/$file"
  fi
done
run_jl_raw completion tcsh
expect_rc 2 "an unknown shell is a usage error"
expect_contains "$ERR" "bash, zsh and fish" "naming the shells jl completes"
run_jl_raw completion
expect_rc 2 "no shell is a usage error"
run_jl_raw --help
expect_not_contains "$OUT" "__complete" "the hidden __complete is not in the help"
expect_contains "$OUT" "completion" "completion is"
if bash -n "$SHELL_DIR/jl.bash" 2>"$WORK/stderr"; then pass "bash -n jl.bash"; else fail "bash -n: $(cat "$WORK/stderr")"; fi
if zsh -n "$SHELL_DIR/_jl" 2>"$WORK/stderr"; then pass "zsh -n _jl"; else fail "zsh -n: $(cat "$WORK/stderr")"; fi
if fish --no-execute "$SHELL_DIR/jl.fish" 2>"$WORK/stderr"; then pass "fish --no-execute jl.fish"; else fail "fish: $(cat "$WORK/stderr")"; fi

for mode in bc plain; do
  log "== bash ($mode): commands, options, values"
  bash_complete $mode "jl st"
  expect_eq "$GOT" "start status stop" "commands from a prefix"
  bash_complete $mode "jl "
  expect_eq "$GOT" "close completion config doctor forward gpus logs ls open rm start status stop up" "every command"
  bash_complete $mode "jl -v --"
  expect_contains " $GOT " " --ssh-config " "global options before the command"
  bash_complete $mode "jl up --"
  expect_eq "$GOT" "--account --app --cpus-per-task --dir --env --foreground --gpus --gres --help --idle-timeout --image --ipc --local-port --mem --no-browser --no-wait --partition --port --pull --qos --shm-size --slurm --start-container --time --timeout --user --volume --workdir" "options of up"
  bash_complete $mode "jl logs -"
  expect_eq "$GOT" "--follow --help --lines -f -h -n" "options of logs"
  bash_complete $mode "jl start --app "
  expect_eq "$GOT" "auto lab notebook server" "--app values"
  bash_complete $mode "jl start cont1 --app=no"
  expect_eq "$GOT" "notebook" "--app=VALUE"
  bash_complete $mode "jl completion "
  expect_eq "$GOT" "bash fish zsh" "completion's shells"
  bash_complete $mode "jl config "
  expect_eq "$GOT" "path show" "config show and path"
  bash_complete $mode "jl start cont1 --port "
  expect_eq "$GOT" "" "nothing for a number"
done

log "== every option jl's own help lists is offered (commands this build lacks are skipped)"
run_jl_raw --help
help_cmds=$(printf '%s\n' "$OUT" |
  awk '/^Subcommands:/ { s = 1; next } s && /^  [a-z]/ { sub(/  .*/, ""); gsub(/,/, ""); print }')
bash_complete bc "jl "
for c in $help_cmds; do
  case " $GOT " in *" $c "*) pass "command $c is completed" ;; *) fail "command $c from --help is not completed" ;; esac
done
for c in start up open stop rm status forward close doctor logs config completion; do
  if ! "$JL_BIN" "$c" --help >"$WORK/help" 2>/dev/null; then
    log "  (jl $c is not in this build)"
    continue
  fi
  bash_complete bc "jl $c -"
  opts=$(awk '/^Options:/ { s = 1; next } /^[^ ]/ { s = 0 } s && /^  -/ { print $1 }' "$WORK/help" |
    sed 's/,/ /g')
  [ -n "$opts" ] || fail "jl $c --help lists no options"
  for o in $opts; do
    case $o in -H | --host | -F | --ssh-config | --json | -v | --verbose | -q | --quiet | --version | --accept-changed-host-key) continue ;; esac
    case " $GOT " in *" $o "*) pass "jl $c $o is completed" ;; *) fail "jl $c: $o (from its --help) is not completed" ;; esac
  done
done

log "== -H: hosts of the -F file (with its Include), then of known sessions"
cat >"$WORK/extra.conf" <<CONF
Host gamma
  HostName 127.0.0.1
CONF
cat >"$WORK/ssh_config" <<CONF
Host alpha beta-1 *.wild !neg
  User me
Host q?
Include $WORK/extra.conf
CONF
for mode in bc plain; do
  bash_complete $mode "jl -F $WORK/ssh_config -H "
  expect_eq "$GOT" "alpha beta-1 gamma" "bash($mode): -H lists the -F file's plain Host names"
  expect_eq "$CERR" "" "nothing on stderr"
  bash_complete $mode "jl --ssh-config=$WORK/ssh_config stop --host=a"
  expect_eq "$GOT" "alpha" "bash($mode): --host=PREFIX with --ssh-config=FILE"
done
zsh_complete "jl -F $WORK/ssh_config -H "
expect_eq "$GOT" "alpha beta-1 gamma" "zsh: -H hosts"
fish_complete "jl -F $WORK/ssh_config -H "
expect_eq "$GOT" "alpha beta-1 gamma" "fish: -H hosts"
# jl gpus HOST: the same hosts.
for mode in bc plain; do
  bash_complete $mode "jl -F $WORK/ssh_config gpus "
  expect_eq "$GOT" "alpha beta-1 gamma" "bash($mode): jl gpus HOST lists the hosts"
done
zsh_complete "jl -F $WORK/ssh_config gpus "
expect_eq "$GOT" "alpha beta-1 gamma" "zsh: jl gpus HOST"
fish_complete "jl -F $WORK/ssh_config gpus "
expect_eq "$GOT" "alpha beta-1 gamma" "fish: jl gpus HOST"

log "== -H with no host and no ssh config set: the default host, the local test bed, is offered"
offers_testbed() { # WHAT
  case " $GOT " in
    *" $JL_TESTBED_HOST "*) pass "$1 offers $JL_TESTBED_HOST" ;;
    *) fail "$1 does not offer $JL_TESTBED_HOST: '$GOT'" ;;
  esac
}
for mode in bc plain; do
  bash_complete $mode "jl -H "
  offers_testbed "bash($mode): jl -H <Tab>"
done
zsh_complete "jl -H jl-"
offers_testbed "zsh: jl -H jl-<Tab>"
fish_complete "jl -H jl-"
offers_testbed "fish: jl -H jl-<Tab>"
# and the name offered works as typed: past SSH, a missing container is exit 4
XDG_STATE_HOME=$WORK/reach-state run_jl_raw -H "$JL_TESTBED_HOST" start no-such-container
expect_rc 4 "jl -H $JL_TESTBED_HOST (no -F) reaches the bed"

log "== known sessions: none yet, and completing creates no state"
bash_complete bc "jl stop "
expect_eq "$GOT" "" "no sessions, nothing offered"
if [ -e "$XDG_STATE_HOME" ]; then fail "completion created $XDG_STATE_HOME"; else pass "no state directory was created"; fi

mkdir -p "$XDG_STATE_HOME/jl"
cat >"$(state_file)" <<JSON
{"version": 1, "forwards": [], "sessions": [
  {"host": "$H", "ssh_config": "$CFG", "container": "cont1", "app": "lab", "address": "172.17.0.2", "port": 8888, "token": "t1", "pid": 10},
  {"host": "$H", "ssh_config": "$CFG", "container": "jltb-user", "app": "lab", "address": "172.17.0.3", "port": 8888, "token": "t2", "pid": 11},
  {"host": "otherbox", "container": "elsewhere", "app": "lab", "address": "172.17.0.4", "port": 8888, "token": "t3", "pid": 12}]}
JSON
chmod 600 "$(state_file)"
before=$(ls -A "$XDG_STATE_HOME/jl")
for mode in bc plain; do
  bash_complete $mode "jl stop "
  expect_eq "$GOT" "cont1 elsewhere jltb-user" "bash($mode): stop offers the known sessions"
  bash_complete $mode "jl open c"
  expect_eq "$GOT" "cont1" "bash($mode): open from a prefix"
  bash_complete $mode "jl -H otherbox close "
  expect_eq "$GOT" "elsewhere" "bash($mode): -H narrows the sessions to that host"
  bash_complete $mode "jl logs "
  expect_eq "$GOT" "cont1 elsewhere jltb-user" "bash($mode): logs too"
  bash_complete $mode "jl stop cont1 "
  expect_eq "$GOT" "" "bash($mode): nothing after the container"
done
bash_complete bc "jl -F $WORK/ssh_config -H "
expect_eq "$GOT" "alpha beta-1 gamma jl-testbed otherbox" "-H adds the hosts of known sessions"
expect_eq "$(ls -A "$XDG_STATE_HOME/jl")" "$before" "completion wrote nothing into the state directory"
zsh_complete "jl stop "
expect_eq "$GOT" "cont1 elsewhere jltb-user" "zsh: stop offers the known sessions"
fish_complete "jl open "
expect_eq "$GOT" "cont1 elsewhere jltb-user" "fish: open offers the known sessions"
rm -f "$(state_file)"

log "== running containers of the test-bed host over SSH"
want=$(docker ps --format '{{.Names}}' | sort | tr '\n' ' ')
want=${want% }
log "  docker ps on this machine: $want"
for c in cont1 jltb-root jltb-user jltb-hostnet jltb-bare; do
  expect_contains " $want " " $c " "the bed runs $c"
done
rm -rf "$XDG_CACHE_HOME"
n0=$(connections)
bash_complete bc "jl -F $CFG -H $H start "
cold=$CSECS
expect_eq "$GOT" "$want" "start offers exactly the running containers (docker ps)"
expect_not_contains " $GOT " " jltb-stopped " "not the stopped container"
expect_eq "$CERR" "" "nothing on stderr"
n1=$(connections)
expect_eq "$((n1 - n0))" 1 "one SSH connection for the first completion"
cache=$(ls "$XDG_CACHE_HOME"/jl/containers-* 2>/dev/null | head -n 1)
if [ -n "$cache" ]; then
  expect_eq "$(stat -c %a "$cache")" 600 "the cache file is 0600"
  expect_eq "$(stat -c %a "$XDG_CACHE_HOME/jl")" 700 "the cache directory is 0700"
else
  fail "no cache file in $XDG_CACHE_HOME/jl"
fi
for mode in bc plain; do
  bash_complete $mode "jl -F $CFG -H $H up jltb-ro"
  expect_eq "$GOT" "jltb-rofs jltb-root" "bash($mode): a second completion within a minute (up, prefix)"
  if secs_below "$CSECS" 0.5; then pass "it is fast (${CSECS}s; cold was ${cold}s)"; else fail "cached completion took ${CSECS}s"; fi
done
start=$(date +%s.%N)
"$JL_BIN" -F "$CFG" -H "$H" __complete containers >/dev/null
cached_bin=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
log "  jl __complete containers from the cache: ${cached_bin}s"
expect_eq "$(($(connections) - n1))" 0 "no new SSH connection while the cache is fresh"
bash_complete bc "jl start -F $CFG -H $H "
expect_eq "$GOT" "$want" "-F and -H after the command are honoured"
bash_complete bc "jl start "
expect_eq "$GOT" "$want" "without -H: the default host (the test bed)"
touch -d '2 minutes ago' "$cache"
n2=$(connections)
bash_complete bc "jl -F $CFG -H $H start "
expect_eq "$GOT" "$want" "after a minute the list is fetched again"
expect_eq "$(($(connections) - n2))" 1 "with a new connection"
zsh_complete "jl -F $CFG -H $H start "
expect_eq "$GOT" "$want" "zsh: running containers"
fish_complete "jl -F $CFG -H $H up "
expect_eq "$GOT" "$want" "fish: running containers"

log "== hosts that do not answer: nothing, quickly, silently"
# A port that accepts TCP and then says nothing, and one that sends an SSH banner and then
# stalls: neither may keep completion waiting past jl's 3 s limit.
fake_server() {
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while sys.argv[1] == "banner":
    c, _ = s.accept(); c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"); held.append(c)
time.sleep(120)' "$1" >"$WORK/$1.port" &
  FAKE_PIDS+=($!)
  for _ in $(seq 50); do [ -s "$WORK/$1.port" ] && break; sleep 0.1; done
}
FAKE_PIDS=()
fake_server silent
fake_server banner
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/dead_config" <<CONF
Host silent
  HostName 127.0.0.1
  Port $(cat "$WORK/silent.port")
Host stalls
  HostName 127.0.0.1
  Port $(cat "$WORK/banner.port")
Host refused
  HostName 127.0.0.1
  Port $free_port
Host unknownkey
  HostName 127.0.0.1
  Port $JL_TESTBED_PORT
  User root
  IdentityFile $JL_TESTBED_USERKEY
  UserKnownHostsFile $WORK/empty_known_hosts
Host unresolvable
  HostName no-such-host.invalid
CONF
: >"$WORK/empty_known_hosts"
for h in silent stalls refused unknownkey unresolvable; do
  run_jl_raw -F "$WORK/dead_config" -H "$h" __complete containers
  expect_rc 0 "$h: exit 0"
  expect_eq "$OUT$ERR" "" "$h: no output at all"
  expect_within 5 "$h: done"
  bash_complete bc "jl -F $WORK/dead_config -H $h start "
  expect_eq "$GOT$CERR" "" "$h: bash offers nothing and prints nothing"
  if secs_below "$CSECS" 5; then pass "$h: bash is back within 5 s (${CSECS}s)"; else fail "$h: bash took ${CSECS}s"; fi
done
kill "${FAKE_PIDS[@]}" 2>/dev/null
expect_eq "$(wc -c <"$WORK/empty_known_hosts")" 0 "the unknown host key was not added"
expect_eq "$(ls "$XDG_CACHE_HOME/jl" | grep -c -e silent -e stalls -e refused -e unknownkey)" 0 "failures are not cached"
# On a terminal, an unknown host key must not be asked about either.
timeout 20 script -qec "$(printf '%q ' "$JL_BIN" -F "$WORK/dead_config" -H unknownkey __complete containers)" \
  "$WORK/tty.log" >/dev/null 2>&1 </dev/null
expect_not_contains "$(tr -d '\r' <"$WORK/tty.log")" "fingerprint" "no host-key question on a terminal"

log "== a jl that hangs cannot hang bash"
mkdir -p "$WORK/slowbin"
printf '#!/bin/sh\nsleep 60\n' >"$WORK/slowbin/jl"
chmod +x "$WORK/slowbin/jl"
PATH=$WORK/slowbin:$PATH bash_complete bc "jl start "
expect_eq "$GOT" "" "nothing from a hanging jl"
if secs_below "$CSECS" 8; then pass "bash is back in ${CSECS}s (the guard is 5 s)"; else fail "bash waited ${CSECS}s"; fi

finish
