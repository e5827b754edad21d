#include "jl/core/wake.hpp"

namespace jl {

std::chrono::nanoseconds slept_between(const SleepClocks& before, const SleepClocks& after) {
  return (after.total - after.awake) - (before.total - before.awake);
}

bool resumed_between(const SleepClocks& before, const SleepClocks& after) {
  return slept_between(before, after) > resume_threshold;
}

}  // namespace jl
