#pragma once

// The Jupyter config files an image ships (/etc/jupyter, /usr/local/etc/jupyter, ~/.jupyter,
// the prefix's etc/jupyter), read inside the container by the app's own Python, and what in
// them fights a launcher: a public ip, a fixed port, a base_url, a password, a token of their
// own. Secrets never leave the container: for passwords and tokens only "set" or "empty" does.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl::jupyter {

// One setting that matters to jl, as a config file sets it.
struct ConfigSetting {
  std::string file;     // where, inside the container
  std::string section;  // ServerApp, NotebookApp, IdentityProvider, PasswordIdentityProvider
  std::string key;      // ip, port, base_url, password, hashed_password, token
  std::string value;    // as Python prints it; empty for secrets
  bool secret = false;  // a password or token: `value` is withheld
  bool empty = false;   // the value is an empty string
};

struct ConfigReport {
  bool read = false;                    // the reader ran and answered
  std::string error;                    // why it could not read (no Python, no jupyter_core, ...)
  std::vector<ConfigSetting> settings;  // in load order: a later one overrides an earlier one
  std::vector<std::string> bad_files;   // "path: why" for files that failed to load
};

// A shell function `jupyter_config PYTHON...` that prints the report as one line of JSON. It
// needs only the prelude's nothing: it is self-contained.
std::string_view config_reader_function();

// The command that runs the reader in `container` with the first Jupyter app's interpreter
// (docker is the docker command as words, not empty: std::invalid_argument).
std::string config_command(std::string_view container, const std::vector<std::string>& docker);

// Parse the reader's line. A report with read=false and an error when it is not one.
ConfigReport parse_config_report(std::string_view output);

// The setting in force for section.key (the last one loaded), if any.
std::optional<ConfigSetting> setting(const ConfigReport& report, std::string_view section,
                                     std::string_view key);

// What a report means for jl, one finding per setting that matters.
struct ConfigFinding {
  enum class Level { note, warn, fail } level = Level::note;
  std::string message;
  std::string fix;
};
std::vector<ConfigFinding> config_findings(const ConfigReport& report);

// The setting that makes the server refuse jl's token (a token of the config's own, or tokens
// switched off), if one does: a token in a config file beats JUPYTER_TOKEN.
std::optional<ConfigSetting> token_override(const ConfigReport& report);

// "c.ServerApp.ip = '0.0.0.0'" (secrets as "c.ServerApp.token = <set>" or "= ''").
std::string describe(const ConfigSetting& s);

}  // namespace jl::jupyter
