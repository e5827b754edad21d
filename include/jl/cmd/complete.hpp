#pragma once

// jl __complete KIND (hidden): what the shell completion scripts offer, one per line.

#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct CompleteOptions {
  std::string kind;  // hosts, sessions or containers (with the host's configured docker command)
};

void setup_complete(CLI::App& app, Dispatch& dispatch);
// Never fails: on any problem it prints nothing and returns 0 (a completion must not print errors
// into the user's prompt), within a few seconds even for a host that does not answer.
int run_complete(Context& ctx, const CompleteOptions& options);

}  // namespace jl::cmd
