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

// The settings that $XDG_CONFIG_HOME/jl/config.json may hold.
struct FileConfig {
  std::optional<std::string> host;
  std::optional<std::string> ssh_config;  // like -F
  std::vector<std::string> unknown_keys;  // reported as warnings
};

// Parse config.json text. Throws jl::Error (usage) for invalid JSON or wrongly typed values.
FileConfig parse_config(std::string_view text, std::string_view origin);

enum class Source { flag, env, config, testbed, none };
std::string_view to_string(Source s);

template <typename T>
struct Setting {
  T value{};
  Source source = Source::none;
};

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
