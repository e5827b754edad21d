#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jl/cmd/context.hpp"

namespace jl::cmd {

struct StartOptions {
  std::string container;
  Profile flags;  // --app, --port, --dir, --timeout and the arguments after --, as given
  // The settings in force, from flags, environment, config file and defaults (resolve_start).
  std::optional<int> port;         // default: 8888, or the next free one
  std::optional<std::string> dir;  // default: the container's working directory
  std::string app = "auto";        // auto, lab, notebook, server
  int timeout_s = 60;
  std::vector<std::string> extra_args;
  std::vector<std::string> docker = {"docker"};
};

struct StopOptions {
  std::optional<std::string> container;
  bool all = false;
};

struct StatusOptions {
  std::optional<std::string> container;
  bool show_token = false;  // print the full token instead of its first characters
};

struct OpenOptions {
  std::optional<std::string> container;
  bool no_browser = false;
  std::optional<int> local_port;
  bool foreground = false;
};

struct UpOptions {
  StartOptions start;
  OpenOptions open;
};

struct ForwardOptions {
  std::string spec;  // CONTAINER:PORT, or [LOCAL_PORT:]ADDR:PORT with -L
  bool raw = false;  // -L
  std::optional<int> local_port;
  bool foreground = false;
};

struct CloseOptions {
  std::optional<std::string> container;
  bool all = false;
};

struct ConfigShowOptions {
  std::optional<std::string> container;  // show the settings this container would get
};

// `jl __complete KIND`: what the shell completion scripts offer, one per line.
struct CompleteOptions {
  std::string kind;  // hosts, sessions or containers (with the host's configured docker command)
};

// `jl completion SHELL`: print the completion script for bash, zsh or fish.
struct CompletionOptions {
  std::string shell;
};

struct DoctorOptions {
  std::optional<std::string> container;
  std::optional<int> port;  // the container port to check (default 8888)
};

struct LogsOptions {
  std::optional<std::string> container;
  bool follow = false;
  int lines = 50;
};

// What start did, for start and up.
struct StartOutcome {
  SessionRecord record;
  bool reused = false;
  double seconds = 0;
};

// Check start's options without touching the network.
void validate_start(const StartOptions& options);

// Fill in the settings in force for the container on `host` from the flags, the environment and
// the config file.
void resolve_start(Context& ctx, StartOptions& options, const std::string& host);

// Start (or reuse) Jupyter over an existing connection. The caller holds the session lock.
StartOutcome start_on(Context& ctx, ssh::Session& session, const std::string& host,
                      const std::optional<std::string>& ssh_config, const StartOptions& options);
void report_start(Context& ctx, const StartOutcome& outcome);
// A session as JSON (docs/json.md), its token masked unless `show_token`.
nlohmann::json session_json(const SessionRecord& session, bool show_token);
// What start --json prints (also the "server" of up --json).
nlohmann::json start_json(const StartOutcome& outcome);

// Each returns the process exit code; failures throw jl::Error.
int run_start(Context& ctx, const StartOptions& options);
int run_stop(Context& ctx, const StopOptions& options);
int run_status(Context& ctx, const StatusOptions& options);
int run_open(Context& ctx, const OpenOptions& options);
int run_up(Context& ctx, const UpOptions& options);
int run_forward(Context& ctx, const ForwardOptions& options);
int run_close(Context& ctx, const CloseOptions& options);
int run_config_show(Context& ctx, const ConfigShowOptions& options);
int run_config_path(Context& ctx);

// Never fails: on any problem it prints nothing and returns 0 (a completion must not print errors
// into the user's prompt), within a few seconds even for a host that does not answer.
int run_complete(Context& ctx, const CompleteOptions& options);
int run_completion(Context& ctx, const CompletionOptions& options);
int run_doctor(Context& ctx, const DoctorOptions& options);
int run_logs(Context& ctx, const LogsOptions& options);

}  // namespace jl::cmd
