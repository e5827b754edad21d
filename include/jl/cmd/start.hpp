#pragma once

// jl start: start (or reuse) Jupyter in a container. Also what jl up starts with, and the
// session as JSON that status prints.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"
#include "jl/core/slurm.hpp"
#include "jl/remote/placement.hpp"

namespace jl::cmd {

struct StartOptions {
  std::string container;
  // --app, --port, --dir, --timeout, --image and its settings, and the arguments after --, as
  // given.
  Profile flags;
  std::optional<std::string> idle_timeout_flag;  // --idle-timeout, as given
  bool start_container_flag = false;             // --start-container
  std::vector<std::string> volume_flags;         // -v, as given
  std::vector<std::string> env_flags;            // -e, as given
  bool slurm_flag = false;                       // --slurm
  bool no_wait = false;                          // --no-wait: submit the job and return
  // A Slurm job instead of a container (--slurm, or "scheduler": "slurm"), and its options in
  // force (resolve_start).
  bool slurm = false;
  slurm::JobOptions job;
  // A Slurm session is recorded under this name, and neither --slurm nor the config file asks
  // for a job: jl up attaches to its live job, and never submits one.
  bool attach_only = false;
  // The settings in force, from flags, environment, config file and defaults (resolve_start).
  std::optional<int> port;         // default: 8888, or the next free one
  std::optional<std::string> dir;  // default: the container's working directory
  std::string app = "auto";        // auto, lab, notebook, server
  int timeout_s = 60;
  std::vector<std::string> extra_args;
  std::vector<std::string> docker = {"docker"};
  std::optional<int> idle_timeout_s;  // Jupyter shuts itself down after this long idle
  bool resolved = false;              // resolve_start has filled in the settings above
  // Making the container when it is not there or not running: --image and its settings, from
  // the flags and, when an image is in force, the config file.
  struct Create {
    std::optional<std::string> image;
    std::optional<std::string> gpus;
    std::vector<std::string> volumes;
    std::optional<std::string> shm_size;
    std::optional<std::string> ipc;
    std::optional<std::string> user;
    std::optional<std::string> workdir;
    std::vector<std::string> env;
    std::optional<std::string> pull;
    bool start_container = false;
    std::string image_origin;  // "--image" or the config key that names the image
  } create;
};

// What start did, for start and up.
struct StartOutcome {
  SessionRecord record;
  bool reused = false;
  double seconds = 0;
  bool container_created = false;   // jl created the container first (--image)
  bool container_started = false;   // jl started the stopped container first
  std::vector<int> container_gpus;  // the GPUs --gpus free:N chose for the container it created
  std::optional<remote::Placement::Pulled> pulled;  // jl pulled the image first
  std::string place_note;  // what making the place ready did (a Slurm job that runs), if anything
};

// "pulled IMAGE on HOST in 3.2 s (6 layers, 65.0 MB): sha256:...", for a pull that ran.
std::string pulled_line(const remote::Placement::Pulled& pulled, const std::string& host);

// Check start's options without touching the network.
void validate_start(const StartOptions& options);

// How to make the container when it is not there, from the image and its settings in
// `options.create` (usage errors for a bad value, or a setting given without an image).
remote::Recipe recipe_of(const StartOptions& options);

// Fill in the settings in force for the container on `host` from the flags, the environment and
// the config file.
void resolve_start(Context& ctx, StartOptions& options, const std::string& host);

// Start (or reuse) Jupyter over an existing connection. The caller holds the session lock.
StartOutcome start_on(Context& ctx, ssh::Session& session, const std::string& host,
                      const std::optional<std::string>& ssh_config, const StartOptions& options);
void report_start(Context& ctx, const StartOutcome& outcome);

// jl up/start --no-wait: submit the Slurm job (or find the live one of this name), say its id
// and state, and return.
int submit_only(Context& ctx, ssh::Session& session, const std::string& host,
                const StartOptions& options);
// A session as JSON (docs/json.md), its token masked unless `show_token`.
nlohmann::json session_json(const SessionRecord& session, bool show_token);
// What start --json prints (also the "server" of up --json).
nlohmann::json start_json(const StartOutcome& outcome);

// Declare CONTAINER, --port, --dir, --app and --timeout on `sub` (start and up), into `options`.
void add_start_options(CLI::App* sub, StartOptions& options);
// The arguments after "--", when there were any, go to Jupyter.
void take_passthrough(Dispatch& dispatch, StartOptions& options);

void setup_start(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_start(Context& ctx, const StartOptions& options);

}  // namespace jl::cmd
