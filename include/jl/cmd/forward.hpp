#pragma once

// jl forward: forward another port through the same engine as the tunnels.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct ForwardOptions {
  std::string spec;  // CONTAINER:PORT, or [LOCAL_PORT:]ADDR:PORT with -L
  bool raw = false;  // -L
  std::optional<int> local_port;
  bool foreground = false;
};

void setup_forward(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_forward(Context& ctx, const ForwardOptions& options);

}  // namespace jl::cmd
