#!/usr/bin/env bash
# OpenSSH is the oracle: for each ssh config in a table, `ssh -F CFG -o BatchMode=yes HOST true`
# decides, and jl must connect exactly where ssh does (start and stop Jupyter in a container)
# and fail (at SSH, exit 3) where ssh fails. Then the same table without an ssh binary on PATH
# (jl's own reader) for the cases that need no OpenSSH feature, and -v naming a setting jl does
# not honour.
. "$(dirname "$0")/lib.sh"

CONTAINER=jltb-root
cfg=$WORK/ssh_config
key_line=$(cut -d' ' -f1,2 "$JL_TESTBED_HOSTKEY_PUB")
ssh-keygen -q -t ed25519 -N '' -f "$WORK/otherkey" -C other
other_line=$(cut -d' ' -f1,2 "$WORK/otherkey.pub")
: >"$WORK/kh_empty"
printf 'bed-alias %s\n' "$key_line" >"$WORK/kh_alias"
printf '[127.0.0.1]:%s %s\n[localhost]:%s %s\n' "$JL_TESTBED_PORT" "$key_line" "$JL_TESTBED_PORT" \
  "$key_line" >"$WORK/kh_real"
printf '[127.0.0.1]:%s %s\n' "$JL_TESTBED_PORT" "$other_line" >"$WORK/kh_changed"
printf 'Host inc-host\n  HostName 127.0.0.1\n' >"$WORK/included.conf"

common() { # the login everyone shares
  printf '  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n' "$JL_TESTBED_USERKEY"
}
{
  # HostKeyAlias: the key is known only under the alias (no port, as ssh writes it).
  printf 'Host alias-kh\n  HostName 127.0.0.1\n  Port %s\n  HostKeyAlias bed-alias\n' "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' "$WORK/kh_alias"
  common
  # Several UserKnownHostsFile: the key is in the second.
  printf 'Host second-kh\n  HostName 127.0.0.1\n  Port %s\n' "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s %s\n  StrictHostKeyChecking yes\n' "$WORK/kh_empty" "$WORK/kh_real"
  common
  # The key only in a GlobalKnownHostsFile.
  printf 'Host global-kh\n  HostName 127.0.0.1\n  Port %s\n' "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s\n  GlobalKnownHostsFile %s\n  StrictHostKeyChecking yes\n' \
    "$WORK/kh_empty" "$WORK/kh_real"
  common
  # A changed key: both refuse.
  printf 'Host changed-kh\n  HostName 127.0.0.1\n  Port %s\n' "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' "$WORK/kh_changed"
  common
  # The alias names a key that is not there: both refuse.
  printf 'Host wrong-alias\n  HostName 127.0.0.1\n  Port %s\n  HostKeyAlias nobody-knows-me\n' "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' "$WORK/kh_alias"
  common
  # Match exec and a %-token in HostName: only ssh -G evaluates them.
  printf 'Match host matched exec "test -r %s"\n  HostName 127.0.0.1\n  Port %s\n' "$cfg" "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s\n' "$WORK/kh_real"
  common
  # Include of a file that holds the HostName.
  printf 'Host inc-host\n  Include %s\n  Port %s\n  UserKnownHostsFile %s\n' "$WORK/included.conf" \
    "$JL_TESTBED_PORT" "$WORK/kh_real"
  common
  # ProxyJump to a host defined only in this -F file: the jump must read it too.
  printf 'Host jump-box\n  HostName 127.0.0.1\n  Port %s\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_PORT" "$WORK/kh_real"
  common
  printf 'Host jumped\n  HostName 127.0.0.1\n  Port %s\n  ProxyJump jump-box\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_PORT" "$WORK/kh_real"
  common
  # Two jumps, the second hop given as user@host:port (a host of its own block; ssh refuses a
  # hop spelled as the target itself).
  printf 'Host jump-box-b\n  HostName localhost\n  UserKnownHostsFile %s\n' "$WORK/kh_real"
  common
  printf 'Host jumped2\n  HostName 127.0.0.1\n  Port %s\n  ProxyJump jump-box,root@jump-box-b:%s\n' \
    "$JL_TESTBED_PORT" "$JL_TESTBED_PORT"
  printf '  UserKnownHostsFile %s\n' "$WORK/kh_real"
  common
  # ProxyJump none wins over a later pattern's jump (first value wins).
  printf 'Host nojump-target\n  HostName 127.0.0.1\n  Port %s\n  ProxyJump none\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_PORT" "$WORK/kh_real"
  common
  printf 'Host nojump-*\n  ProxyJump no-such-bastion.invalid\n'
  # The jump host cannot reach the target's port: both fail.
  printf 'Host jump-bad\n  HostName 127.0.0.1\n  Port 1\n  ProxyJump jump-box\n  UserKnownHostsFile %s\n' \
    "$WORK/kh_real"
  common
  # A port nothing listens on: both fail.
  printf 'Host closed-port\n  HostName 127.0.0.1\n  Port 1\n  UserKnownHostsFile %s\n' "$WORK/kh_real"
  common
  # A setting jl does not honour (named under -v), on an otherwise working entry.
  printf 'Host forwards\n  HostName 127.0.0.1\n  Port %s\n  ForwardAgent yes\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_PORT" "$WORK/kh_real"
  common
  # --- keys from an agent that also holds unrelated keys, against a server that allows two
  # tries (MaxAuthTries 2). The identity file is a passphrase-protected copy of the bed's key;
  # only the agent can use it without a prompt.
  # IdentitiesOnly: ssh offers only the agent's copy of the named key: logs in.
  printf 'Host tries-only\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT_MAXTRIES"
  printf '  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$WORK/locked" "$WORK/kh_maxtries"
  # Without it, ssh still offers the agent's copy of the named key first: logs in.
  printf 'Host tries-all\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT_MAXTRIES"
  printf '  IdentityFile %s\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$WORK/locked" "$WORK/kh_maxtries"
  # No IdentityFile names it: the agent's keys in its order, cut off after two.
  printf 'Host tries-unnamed\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT_MAXTRIES"
  printf '  IdentityFile %s\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$WORK/no-such-key" "$WORK/kh_maxtries"
  # IdentityAgent none: the locked file alone cannot log in without a terminal.
  printf 'Host agent-none\n  HostName 127.0.0.1\n  Port %s\n  User root\n  IdentityAgent none\n' "$JL_TESTBED_PORT"
  printf '  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$WORK/locked" "$WORK/kh_real"
  # --- user certificates, against a server that trusts only the bed's user CA.
  # KEY-cert.pub next to KEY.
  printf 'Host cert-auto\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT_CERT"
  printf '  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$WORK/certkey" "$WORK/kh_cert"
  # CertificateFile elsewhere.
  printf 'Host cert-file\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT_CERT"
  printf '  IdentityFile %s\n  CertificateFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n' \
    "$WORK/certkey2" "$WORK/certs/for-certkey2.pub"
  printf '  UserKnownHostsFile %s\n' "$WORK/kh_cert"
  # A plain key the server does not list: refused.
  printf 'Host cert-none\n  HostName 127.0.0.1\n  Port %s\n  User root\n' "$JL_TESTBED_PORT_CERT"
  printf '  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n  UserKnownHostsFile %s\n' \
    "$JL_TESTBED_USERKEY" "$WORK/kh_cert"
} >"$cfg"
printf '[127.0.0.1]:%s %s\n' "$JL_TESTBED_PORT_MAXTRIES" "$key_line" >"$WORK/kh_maxtries"
printf '[127.0.0.1]:%s %s\n' "$JL_TESTBED_PORT_CERT" "$key_line" >"$WORK/kh_cert"

# The locked copy of the bed's key, and an agent holding three unrelated keys, then the bed's.
cp "$JL_TESTBED_USERKEY" "$WORK/locked"
cp "$JL_TESTBED_USERKEY.pub" "$WORK/locked.pub"
chmod 600 "$WORK/locked"
ssh-keygen -q -p -P '' -N 'a passphrase nobody types' -f "$WORK/locked" >/dev/null
eval "$(ssh-agent -s)" >/dev/null
AGENT_SOCK=$SSH_AUTH_SOCK
unset SSH_AUTH_SOCK
on_exit "kill $SSH_AGENT_PID"
for k in u1 u2 u3; do
  ssh-keygen -q -t ed25519 -N '' -C "unrelated $k" -f "$WORK/$k"
  SSH_AUTH_SOCK=$AGENT_SOCK ssh-add -q "$WORK/$k" 2>/dev/null
done
SSH_AUTH_SOCK=$AGENT_SOCK ssh-add -q "$JL_TESTBED_USERKEY" 2>/dev/null
expect_eq "$(SSH_AUTH_SOCK=$AGENT_SOCK ssh-add -l | wc -l)" 4 "the agent holds four keys"

# Keys signed by the bed's user CA, for the principal root.
mkdir -p "$WORK/certs"
for k in certkey certkey2; do
  ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$WORK/$k"
  ssh-keygen -q -s "$JL_TESTBED_USER_CA" -I "jl-e2e-$k" -n root -V -5m:+1h "$WORK/$k.pub"
done
mv "$WORK/certkey2-cert.pub" "$WORK/certs/for-certkey2.pub"

# jl where ssh works: start, then stop, in the container; where ssh fails, jl fails at SSH.
ORACLE_RC=
oracle() { # HOST [PATH for jl]; sets ORACLE_RC to ssh's exit code
  local host=$1 path=${2:-$PATH} ssh_rc
  timeout 30 ssh -F "$cfg" -o BatchMode=yes "$host" true </dev/null >/dev/null 2>"$WORK/ssh.err"
  ssh_rc=$?
  if [ "$ssh_rc" -eq 0 ]; then
    PATH=$path run_jl_raw -F "$cfg" -H "$host" start "$CONTAINER" --app server
    expect_rc 0 "$host: ssh logs in, and jl start works too"
    PATH=$path run_jl_raw -F "$cfg" -H "$host" stop "$CONTAINER"
    expect_rc 0 "$host: jl stop works"
  else
    PATH=$path run_jl_raw -F "$cfg" -H "$host" start "$CONTAINER" --app server
    expect_rc 3 "$host: ssh fails ($(grep -v "^@" "$WORK/ssh.err" | head -n1)), and jl fails at SSH too"
    expect_error_shape "$host"
  fi
  ORACLE_RC=$ssh_rc
}

log "== the table, with OpenSSH's ssh -G resolving"
works=0 fails=0
for host in alias-kh second-kh global-kh changed-kh wrong-alias matched inc-host jumped \
  jumped2 nojump-target jump-bad closed-port forwards tries-only tries-all tries-unnamed agent-none cert-auto cert-file \
  cert-none; do
  case $host in
    tries-* | agent-none) export SSH_AUTH_SOCK=$AGENT_SOCK ;;
    *) unset SSH_AUTH_SOCK ;;
  esac
  oracle "$host"
  if [ "$ORACLE_RC" -eq 0 ]; then works=$((works + 1)); else fails=$((fails + 1)); fi
done
unset SSH_AUTH_SOCK
log "  table: $((works + fails)) cases, $works where ssh logs in, $fails where it does not"
expect_eq "$works/$fails" "13/7" "the table has the cases it was written for (13 logins, 7 refusals)"

log "== -v: the agent's keys as offered"
SSH_AUTH_SOCK=$AGENT_SOCK run_jl_raw -v -F "$cfg" -H tries-only start "$CONTAINER" --app server
expect_rc 0 "started"
expect_contains "$ERR" "offered 1 key(s), hid 3 that no IdentityFile names (IdentitiesOnly)" \
  "IdentitiesOnly hides the three unrelated keys"
SSH_AUTH_SOCK=$AGENT_SOCK run_jl_raw -F "$cfg" -H tries-only stop "$CONTAINER"
expect_rc 0 "stopped"
SSH_AUTH_SOCK=$AGENT_SOCK run_jl_raw -F "$cfg" -H tries-unnamed start "$CONTAINER" --app server
expect_contains "$ERR" "the server closed the connection after too many failed tries" \
  "a server that hangs up after MaxAuthTries is named as such"
expect_contains "$ERR" "IdentitiesOnly yes" "and the hint names the fix"

log "== without an ssh binary: jl reads the config itself"
nossh=$WORK/nossh
mkdir -p "$nossh"
for tool in docker python3 sh bash cat timeout; do
  p=$(command -v "$tool") && ln -sf "$p" "$nossh/$tool"
done
# (ProxyJump too: jl makes the jumps itself)
for host in alias-kh second-kh global-kh inc-host changed-kh jumped jumped2 jump-bad; do
  oracle "$host" "$nossh"
done
PATH=$nossh run_jl_raw -F "$cfg" -H matched start "$CONTAINER" --app server
expect_rc 3 "Match exec is not evaluated by jl's reader: no such host"
PATH=$nossh run_jl_raw -v -F "$cfg" -H matched start "$CONTAINER" --app server
expect_contains "$ERR" "is not evaluated by jl" "-v says the Match block was skipped"

log "== -v names what jl does not honour"
run_jl_raw -v -F "$cfg" -H forwards start "$CONTAINER" --app server
expect_rc 0 "the entry works"
expect_contains "$ERR" "jl does not use this setting of the ssh config: forwardagent yes" \
  "ForwardAgent is named"
expect_not_contains "$ERR" "does not use this setting of the ssh config: user" "honoured settings are not"
run_jl_raw -F "$cfg" -H forwards stop "$CONTAINER"
expect_rc 0 "stopped"
run_jl_raw -F "$cfg" -H forwards doctor "$CONTAINER"
expect_contains "$OUT" "root@127.0.0.1:$JL_TESTBED_PORT; resolved by ssh -G" "doctor shows user@host:port and who resolved it"
expect_contains "$OUT" "jl does not use this setting" "doctor names the setting too"
run_jl_raw -F "$cfg" -H alias-kh doctor "$CONTAINER"
expect_contains "$OUT" "host key alias bed-alias" "doctor shows the alias in use"
expect_contains "$OUT" "known_hosts $WORK/kh_alias" "and the known_hosts file"
run_jl_raw -F "$cfg" -H jumped doctor "$CONTAINER"
expect_contains "$OUT" "through jump-box" "and the jump chain"

finish
