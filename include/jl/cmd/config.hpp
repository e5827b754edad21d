#pragma once

// jl config show (the settings in force and where each comes from) and jl config path.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"

namespace jl::cmd {

struct ConfigShowOptions {
  std::optional<std::string> container;  // show the settings this container would get
};

// `config` with its two subcommands, `show` and `path`.
void setup_config(CLI::App& app, Dispatch& dispatch);
// Each returns the process exit code; failures throw jl::Error.
int run_config_show(Context& ctx, const ConfigShowOptions& options);
int run_config_path(Context& ctx);

}  // namespace jl::cmd
