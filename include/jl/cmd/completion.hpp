#pragma once

// jl completion SHELL: print the completion script for bash, zsh or fish.

#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct CompletionOptions {
  std::string shell;
};

void setup_completion(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_completion(Context& ctx, const CompletionOptions& options);

}  // namespace jl::cmd
