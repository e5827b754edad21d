#pragma once

// jl gpus [HOST]: the host's GPUs, their memory and utilization, and which containers' (or
// host processes') compute processes use each.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct GpusOptions {
  std::optional<std::string> host;  // default: the configured host, as for every command
};

void setup_gpus(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_gpus(Context& ctx, const GpusOptions& options);

}  // namespace jl::cmd
