#pragma once

// jl doctor: check everything jl needs, one line each, with a fix for what is wrong.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct DoctorOptions {
  std::optional<std::string> container;
  std::optional<int> port;  // the container port to check (default 8888)
};

void setup_doctor(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_doctor(Context& ctx, const DoctorOptions& options);

}  // namespace jl::cmd
