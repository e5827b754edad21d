# shellcheck shell=sh
# Runs inside the container after jupyter_config.sh: the interpreter of the first Jupyter app
# found runs the reader.
py=
for a in jupyter-lab jupyter-notebook jupyter-server jupyter; do
  p=$(command -v "$a" 2>/dev/null) || continue
  first=
  IFS= read -r first <"$p" 2>/dev/null
  case $first in '#!'*python*) py=${first#??}; break;; esac
done
if [ -z "$py" ]; then
  py=$(command -v python3 2>/dev/null) || { echo '{"error": "no Python next to Jupyter"}'; exit 0; }
fi
set -f
# shellcheck disable=SC2086 # the shebang's words, split on purpose; no globbing
jupyter_config $py
