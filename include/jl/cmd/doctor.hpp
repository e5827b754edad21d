#pragma once

// jl doctor: check everything jl needs, one line each, with a fix for what is wrong.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct DoctorOptions {
  std::optional<std::string> container;
  std::optional<int> port;  // the container port to check (default 8888)
  // Check the host as a Slurm login node instead of a Docker host (--slurm, or "scheduler":
  // "slurm" in the config file), and this partition (default: the config file's, else Slurm's).
  bool slurm = false;
  std::optional<std::string> partition;
};

void setup_doctor(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_doctor(Context& ctx, const DoctorOptions& options);

}  // namespace jl::cmd
