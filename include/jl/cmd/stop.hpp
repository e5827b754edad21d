#pragma once

// jl stop: shut Jupyter down, verify it is gone, and forget the session.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"
#include "jl/remote/host.hpp"

namespace jl::cmd {

struct StopOptions {
  std::optional<std::string> container;
  bool all = false;
};

// Stop one session over `host`'s connection: close its tunnel, shut Jupyter down and verify it
// is gone, then forget the session. Returns how the server ended, in words.
std::string stop_session(Context& ctx, remote::Host& host, const SessionRecord& s);

void setup_stop(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_stop(Context& ctx, const StopOptions& options);

}  // namespace jl::cmd
