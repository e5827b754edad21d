#pragma once

// jl status (alias ls): the known sessions, where they run and whether they answer.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct StatusOptions {
  std::optional<std::string> container;
  bool show_token = false;  // print the full token instead of its first characters
};

void setup_status(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_status(Context& ctx, const StatusOptions& options);

}  // namespace jl::cmd
