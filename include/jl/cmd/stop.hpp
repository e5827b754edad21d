#pragma once

// jl stop: shut Jupyter down, verify it is gone, and forget the session.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct StopOptions {
  std::optional<std::string> container;
  bool all = false;
};

void setup_stop(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_stop(Context& ctx, const StopOptions& options);

}  // namespace jl::cmd
