# shellcheck shell=sh
# `jupyter_config PYTHON...` runs the reader below with the given interpreter; the reader loads
# each config file as Jupyter does (traitlets' own loaders, in Jupyter's order: lowest priority
# first) and prints the settings that matter to jl as one line of JSON.
jupyter_config() {
  if command -v timeout >/dev/null 2>&1; then set -- timeout 20 "$@"; fi
  "$@" - 2>&1 <<'JLPY'
import glob, json, os, sys
out = {"settings": [], "bad": []}
try:
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader
except Exception as e:
    print(json.dumps({"error": "cannot import jupyter_core and traitlets: %s" % e}))
    sys.exit(0)
KEYS = {
    "ServerApp": ("ip", "port", "base_url", "password", "token"),
    "NotebookApp": ("ip", "port", "base_url", "password", "token"),
    "IdentityProvider": ("token",),
    "PasswordIdentityProvider": ("hashed_password",),
}
SECRETS = ("password", "hashed_password", "token")
NAMES = ("jupyter_config", "jupyter_server_config", "jupyter_notebook_config", "jupyter_lab_config")
for d in reversed(jupyter_config_path()):
    for name in NAMES:
        files = [os.path.join(d, name + ".py"), os.path.join(d, name + ".json")]
        files += sorted(glob.glob(os.path.join(d, name + ".d", "*.json")))
        for f in files:
            if not os.path.isfile(f):
                continue
            loader = PyFileConfigLoader if f.endswith(".py") else JSONFileConfigLoader
            try:
                cfg = loader(os.path.basename(f), os.path.dirname(f)).load_config()
            except BaseException as e:
                out["bad"].append("%s: %s" % (f, (str(e).strip().splitlines() or [type(e).__name__])[-1]))
                continue
            for section, keys in KEYS.items():
                if section not in cfg:
                    continue
                for key in keys:
                    if key not in cfg[section]:
                        continue
                    v = cfg[section][key]
                    secret = key in SECRETS
                    out["settings"].append({
                        "file": f, "section": section, "key": key, "secret": secret,
                        "empty": v == "" or v is None,
                        "value": "" if secret else repr(v)})
print(json.dumps(out))
JLPY
}
