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
  std::optional<int> idle_timeout;  // seconds without activity before Jupyter shuts itself down
  // Making the container when it is not there (docker run); jl up's --image and its settings.
  // `image` is a container's own: the config file holds it only in a container's section.
  std::optional<std::string> image;
  std::optional<std::string> gpus;                  // all, N, 0,2 or free:N
  std::optional<std::vector<std::string>> volumes;  // HOST:CONTAINER[:ro]
  std::optional<std::string> shm_size;              // 1g
  std::optional<std::string> ipc;                   // host
  std::optional<std::string> user;                  // host or UID:GID
  std::optional<std::string> workdir;
  std::optional<std::vector<std::string>> env;  // K=V
  std::optional<std::string> pull;              // missing, always, never
  std::optional<bool> start_container;          // start it when stopped, even if jl did not make it
  // Where Jupyter runs: "docker" (a container on the host, the default) or "slurm" (a job
  // submitted through the host as a Slurm login node), and the job's options.
  std::optional<std::string> scheduler;
  std::optional<std::string> partition;
  std::optional<std::string> gres;
  std::optional<std::string> time;
  std::optional<int> cpus_per_task;
  std::optional<std::string> mem;
  std::optional<std::string> account;
  std::optional<std::string> qos;
  std::optional<std::vector<std::string>> sbatch_args;
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
//    "docker": "sudo -n docker", "timeout": 60, "idle_timeout": "2h",
//    "hosts": {"gpubox": {"docker": "podman", "containers": {"cont1": {"port": 9999}}}},
//    "containers": {"cont1": {"dir": "/data"},
//                   "proj1": {"image": "nvcr.io/nvidia/pytorch:24.05-py3", "gpus": "0,1",
//                             "volumes": ["/data:/data:ro"], "shm_size": "8g", "user": "host",
//                             "env": {"WANDB_MODE": "offline"}}}}
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
  Setting<std::optional<int>> idle_timeout;  // seconds; none: Jupyter's own (never)
  // Making the container. Settings other than image apply only when an image is in force.
  Setting<std::optional<std::string>> image;
  Setting<std::optional<std::string>> gpus;
  Setting<std::vector<std::string>> volumes;
  Setting<std::optional<std::string>> shm_size;
  Setting<std::optional<std::string>> ipc;
  Setting<std::optional<std::string>> user;
  Setting<std::optional<std::string>> workdir;
  Setting<std::vector<std::string>> env;
  Setting<std::optional<std::string>> pull;
  Setting<bool> start_container;
  // A Slurm job: the scheduler ("docker" or "slurm") and the job's options (gpus above is
  // Slurm's --gpus then).
  Setting<std::string> scheduler;
  Setting<std::optional<std::string>> partition;
  Setting<std::optional<std::string>> gres;
  Setting<std::optional<std::string>> time;
  Setting<std::optional<int>> cpus_per_task;
  Setting<std::optional<std::string>> mem;
  Setting<std::optional<std::string>> account;
  Setting<std::optional<std::string>> qos;
  Setting<std::vector<std::string>> sbatch_args;
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
