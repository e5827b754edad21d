#pragma once

// What every command gets: the global options, the environment, the output channels, the
// config file, the state store, and a way to connect to a host.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/cmd/ui.hpp"
#include "jl/core/config.hpp"
#include "jl/core/state.hpp"
#include "jl/ssh/session.hpp"
#include "jl/sys/interrupts.hpp"
#include "jl/sys/state_store.hpp"
#include "jl/sys/terminal.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

struct GlobalOptions {
  std::optional<std::string> host;
  std::optional<std::string> ssh_config;
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  bool accept_changed_host_key = false;
};

class Context {
 public:
  // Made before jl opens anything of its own: it notes the descriptors jl was started with
  // beyond stdio, which a background tunnel closes.
  Context(GlobalOptions global, Env env);

  const GlobalOptions& global() const { return m_global; }
  const Env& env() const { return m_env; }
  const std::vector<int>& inherited_fds() const { return m_inherited_fds; }
  const Ui& ui() const { return m_ui; }

  // The config file's settings (read once; a broken file is a usage error).
  const FileConfig& file_config();
  // Where the config file is (it may not exist).
  std::string config_path() const;

  // The settings of CONTAINER on HOST: flags, then environment, then config file, then defaults.
  SessionSettings session_settings(const std::optional<std::string>& host,
                                   const std::optional<std::string>& container,
                                   const Profile& flags = {});
  // The docker command for CONTAINER (empty: any) on HOST, as words.
  std::vector<std::string> docker_command(const std::string& host, const std::string& container);

  // The host and where it came from, without failing when there is none.
  std::optional<Setting<std::string>> host_setting();

  // The host from -H, $JL_HOST or the config file, else the local test bed when it is set up;
  // a usage error when there is none.
  std::string require_host();
  // The host only when given explicitly (-H or $JL_HOST): used to narrow down known sessions.
  std::optional<std::string> explicit_host() const;
  // The ssh config file (-F, $JL_SSH_CONFIG, config file), as an absolute path.
  std::optional<std::string> ssh_config();
  // OpenSSH's client on $PATH (it resolves the ssh config and makes jumps); empty if none.
  std::string ssh_client() const;

  sys::StateStore& store() { return m_store; }
  sys::Terminal& terminal() { return m_terminal; }

  // Where a tunnel process for HOST (with this ssh config) shares its connection with other jl
  // commands: the master's socket and lock in jl's runtime directory. Nothing when that
  // directory cannot be made this user's alone.
  tunnel::Sharing sharing(const std::string& host, const std::optional<std::string>& ssh_config);

  // Connect to a host (once per command; the caller keeps the session). While a tunnel to the
  // host runs, the session runs over that tunnel's connection (connection sharing). `adjust`, when
  // given, may change the connect options first (e.g. doctor's read-only known_hosts and stage
  // hooks).
  ssh::Session connect(const std::string& host, const std::optional<std::string>& ssh_config,
                       const std::function<void(ssh::ConnectOptions&)>& adjust = {});

  // The one session a command with an optional CONTAINER argument means. Throws a usage error
  // listing the known sessions when there is none or more than one.
  SessionRecord pick_session(const State& state, const std::optional<std::string>& container);
  // The sessions a command with CONTAINER or --all means: with `all`, every known session (on
  // the explicit host, if any; maybe none); else the one pick_session() finds.
  std::vector<SessionRecord> pick_sessions(const State& state,
                                           const std::optional<std::string>& container, bool all);

 private:
  GlobalOptions m_global;
  Env m_env;
  std::vector<int> m_inherited_fds;
  Ui m_ui;
  std::optional<FileConfig> m_file_config;
  sys::StateStore m_store;
  sys::Terminal m_terminal;
  bool m_using_testbed = false;
  // Created with the first connection: from then on Ctrl-C is an event, not sudden death.
  std::unique_ptr<sys::Interrupts> m_interrupts;
};

// The current time as ISO 8601 UTC, e.g. 2026-11-22T07:30:00Z.
std::string now_iso8601();

}  // namespace jl::cmd
