#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jl/cmd/context.hpp"

namespace jl::cmd {

struct StartOptions {
  std::string container;
  std::optional<int> port;         // default: 8888, or the next free one
  std::optional<std::string> dir;  // default: the container's working directory
  std::string app = "auto";        // auto, lab, notebook, server
  int timeout_s = 60;
  std::vector<std::string> extra_args;
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

// Start (or reuse) Jupyter over an existing connection. The caller holds the session lock.
StartOutcome start_on(Context& ctx, ssh::Session& session, const std::string& host,
                      const std::optional<std::string>& ssh_config, const StartOptions& options);
void report_start(Context& ctx, const StartOutcome& outcome);

// Each returns the process exit code; failures throw jl::Error.
int run_start(Context& ctx, const StartOptions& options);
int run_stop(Context& ctx, const StopOptions& options);
int run_status(Context& ctx, const StatusOptions& options);
int run_open(Context& ctx, const OpenOptions& options);
int run_up(Context& ctx, const UpOptions& options);
int run_forward(Context& ctx, const ForwardOptions& options);
int run_close(Context& ctx, const CloseOptions& options);
int run_doctor(Context& ctx, const DoctorOptions& options);
int run_logs(Context& ctx, const LogsOptions& options);

}  // namespace jl::cmd
