#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl {

// The process environment as a value, so that code reading it can be tested.
class Env {
 public:
  Env() = default;
  explicit Env(const std::map<std::string, std::string>& vars) : m_vars(vars.begin(), vars.end()) {}
  // Capture the environment of this process.
  static Env from_process(char** envp);

  // A variable's value; unset and empty are both "no value".
  std::optional<std::string> get(std::string_view name) const;
  void set(std::string name, std::string value) { m_vars[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string, std::less<>> m_vars;
};

// Directories jl uses, following the XDG base directory rules.
std::string config_dir(const Env& env);  // $XDG_CONFIG_HOME/jl or ~/.config/jl
std::string state_dir(const Env& env);   // $XDG_STATE_HOME/jl or ~/.local/state/jl

// What a session's settings may be: given by flags, the environment, or the config file (at the
// top level, for a host, or for a container). Unset members fall through to the next level.
struct Profile {
  std::optional<std::string> app;                        // auto, lab, notebook, server
  std::optional<int> port;                               // in the container
  std::optional<std::string> dir;                        // served directory in the container
  std::optional<std::vector<std::string>> jupyter_args;  // extra arguments for Jupyter
  std::optional<std::vector<std::string>> docker;        // e.g. {"sudo", "-n", "docker"}
  std::optional<int> timeout;                            // seconds to wait for Jupyter to start
};

// The overrides for one host: its own settings, and per-container settings on that host.
struct HostSection {
  Profile profile;
  std::map<std::string, Profile, std::less<>> containers;
};

// The settings that $XDG_CONFIG_HOME/jl/config.json may hold.
//
//   {"host": "gpubox", "ssh_config": "~/.ssh/config", "app": "lab", "port": 8888,
//    "dir": "/workspace", "jupyter_args": ["--ServerApp.terminals_enabled=False"],
//    "docker": "sudo -n docker", "timeout": 60,
//    "hosts": {"gpubox": {"docker": "podman", "containers": {"cont1": {"port": 9999}}}},
//    "containers": {"cont1": {"dir": "/data"}}}
struct FileConfig {
  std::optional<std::string> host;
  std::optional<std::string> ssh_config;  // like -F
  Profile defaults;
  std::map<std::string, HostSection, std::less<>> hosts;
  std::map<std::string, Profile, std::less<>> containers;
  std::vector<std::string> unknown_keys;  // as dotted paths ("hosts.gpubox.colour"), warned about
};

// Parse config.json text. Throws jl::Error (usage) for invalid JSON or wrongly typed values.
FileConfig parse_config(std::string_view text, std::string_view origin);

// Split a docker command given as one string ("sudo -n docker") into words. Throws jl::Error
// (usage) when it is empty or contains quotes or shell syntax jl would have to interpret.
std::vector<std::string> split_docker_command(std::string_view text, std::string_view origin);

enum class Source { flag, env, config, testbed, none };
std::string_view to_string(Source s);

template <typename T>
struct Setting {
  T value{};
  Source source = Source::none;
  std::string origin;  // which flag, variable or config key; empty for defaults
};

// Flags that bear on a session's settings, as given on the command line.
struct SessionFlags {
  Profile profile;  // --app, --port, --dir, -- ARGS, --timeout (docker has no flag)
};

// A session's settings with where each came from. Optional values stay empty when nothing
// sets them (port: jl picks 8888 or the next free one; dir: the container's working directory).
struct SessionSettings {
  Setting<std::string> app;
  Setting<std::optional<int>> port;
  Setting<std::optional<std::string>> dir;
  Setting<std::vector<std::string>> jupyter_args;
  Setting<std::vector<std::string>> docker;
  Setting<int> timeout;
};

// Resolve the settings of CONTAINER on HOST (either may be unknown): flags, then the environment
// (JL_APP, JL_PORT, JL_DIR, JL_DOCKER, JL_TIMEOUT), then the config file (hosts.H.containers.C,
// containers.C, hosts.H, top level), then the defaults. Throws jl::Error (usage) for a bad value
// in the environment.
SessionSettings resolve_session(const SessionFlags& flags, const Env& env, const FileConfig& file,
                                const std::optional<std::string>& host,
                                const std::optional<std::string>& container);

// Resolve the host: the -H flag, then $JL_HOST, then "host" in the config file.
std::optional<Setting<std::string>> resolve_host(const std::optional<std::string>& flag,
                                                 const Env& env, const FileConfig& file);

// The local test bed (tests/testbed/testbed.sh) is the built-in default for people without a
// GPU host: when no host is configured anywhere and the bed's ssh config exists, jl uses it.
inline constexpr std::string_view kTestbedHost = "jl-testbed";
inline constexpr std::string_view kTestbedSshConfig = "/var/tmp/jl-testbed/ssh_config";

// Resolve the ssh config file: -F, then $JL_SSH_CONFIG, then "ssh_config" in the config file.
std::optional<Setting<std::string>> resolve_ssh_config(const std::optional<std::string>& flag,
                                                       const Env& env, const FileConfig& file);

// A host as written on the command line: an ssh config alias, user@host, host:port,
// user@host:port or [v6addr]:port.
struct HostSpec {
  std::string host;
  std::optional<std::string> user;
  std::optional<int> port;
};

// Parse a host argument. Throws jl::Error (usage) when it cannot be a host.
HostSpec parse_host_spec(std::string_view text);

}  // namespace jl
