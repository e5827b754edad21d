# Usage: zsh -f drive.zsh FPATH_DIR OUT LINE
# Runs an interactive zsh on a pseudo-terminal (zpty), loads the completion system with the
# _jl in FPATH_DIR, types LINE and Tab, and writes every candidate zsh offered to OUT.
zmodload zsh/zpty || exit 3
dir=$1 out=$2 line=$3
: >$out
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -d ${(q)out}.zcompdump"
zpty -w z "compadd() { local -a _m; builtin compadd -O _m \"\$@\"; print -rl -- \$_m >>${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "_drive() { _main_complete; print -r -- @@done >>${(q)out}; }; zle -C drive complete-word _drive; bindkey '^I' drive"
zpty -w -n z "$line"$'\t'
for i in {1..100}; do
  grep -q '^@@done$' $out 2>/dev/null && break
  sleep 0.1
done
zpty -d z
grep -q '^@@done$' $out || exit 4
