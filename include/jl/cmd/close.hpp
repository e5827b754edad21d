#pragma once

// jl close: close the tunnel of a session (or every tunnel and forward); Jupyter keeps running.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct CloseOptions {
  std::optional<std::string> container;
  bool all = false;
};

void setup_close(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_close(Context& ctx, const CloseOptions& options);

}  // namespace jl::cmd
