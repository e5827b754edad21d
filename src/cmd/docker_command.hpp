#pragma once

// The docker command (as words) that doctor and logs run on a host. One place, so that a
// configured command (sudo -n docker, podman, ...) reaches both.

#include <string>
#include <vector>

#include "jl/cmd/context.hpp"
#include "jl/core/probe.hpp"

namespace jl::cmd {

inline std::vector<std::string> docker_command_for(Context& /*ctx*/, const std::string& /*host*/,
                                                   const std::string& /*container*/) {
  return probe::kDefaultDocker;
}

}  // namespace jl::cmd
