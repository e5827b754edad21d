#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jl/cmd/context.hpp"

namespace jl::cmd {

struct StartOptions {
  std::string container;
  std::optional<int> port;         // default: 8888, or the next free one
  std::optional<std::string> dir;  // default: the container's working directory
  std::string app = "auto";        // auto, lab, notebook, server
  int timeout_s = 60;
  std::vector<std::string> extra_args;
};

struct StopOptions {
  std::optional<std::string> container;
  bool all = false;
};

struct StatusOptions {
  std::optional<std::string> container;
};

// Each returns the process exit code; failures throw jl::Error.
int run_start(Context& ctx, const StartOptions& options);
int run_stop(Context& ctx, const StopOptions& options);
int run_status(Context& ctx, const StatusOptions& options);

}  // namespace jl::cmd
