#pragma once

// jl logs: the log of a Jupyter jl started, the last lines or followed until Ctrl-C.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct LogsOptions {
  std::optional<std::string> container;
  bool follow = false;
  int lines = 50;
};

void setup_logs(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_logs(Context& ctx, const LogsOptions& options);

}  // namespace jl::cmd
