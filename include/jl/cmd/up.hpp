#pragma once

// jl up: start (or reuse) Jupyter, open the tunnel and the browser: start + open in one go.

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"
#include "jl/cmd/open.hpp"
#include "jl/cmd/start.hpp"

namespace jl::cmd {

struct UpOptions {
  StartOptions start;
  OpenOptions open;
};

void setup_up(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_up(Context& ctx, const UpOptions& options);

}  // namespace jl::cmd
