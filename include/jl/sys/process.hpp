#pragma once

// Running a short-lived local program and collecting what it prints, with a deadline.

#include <chrono>
#include <string>
#include <vector>

#include "jl/core/config.hpp"

namespace jl::sys {

// The full path of an executable found on $PATH (or `name` itself if it has a '/'); empty when
// there is none.
std::string find_program(const std::string& name, const Env& env);

struct ProcessResult {
  bool started = false;    // false: fork or exec failed (error says why)
  bool timed_out = false;  // killed (SIGKILL) at the deadline
  int exit_code = -1;      // -1 when it did not exit normally
  std::string out;
  std::string err;
  std::string error;
};

// Run `argv` (argv[0] a path) with stdin on /dev/null and wait at most `timeout`; each stream
// keeps at most `limit` bytes. The child gets its own process group, so a timeout kills
// whatever it started too.
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          std::size_t limit = 1 << 20);

}  // namespace jl::sys
