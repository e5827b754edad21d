#pragma once

// jl rm: stop Jupyter and remove a container jl created (its volumes and image stay).

#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct RmOptions {
  std::string container;
  bool force = false;  // remove it even when jl did not create it
};

void setup_rm(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_rm(Context& ctx, const RmOptions& options);

}  // namespace jl::cmd
