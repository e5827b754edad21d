#pragma once

// Telling a resume from sleep from two readings of two clocks: one that stops while the
// computer sleeps and one that does not (sys/wake reads them: on Linux CLOCK_MONOTONIC and
// CLOCK_BOOTTIME, on macOS CLOCK_UPTIME_RAW and CLOCK_MONOTONIC_RAW). The gap between them grows
// by the time spent asleep and by nothing else, however long the owner took between readings.

#include <chrono>

namespace jl {

struct SleepClocks {
  std::chrono::nanoseconds awake{};  // stops during sleep
  std::chrono::nanoseconds total{};  // counts sleep too
};

// More growth than this between two readings is a resume: far above the jitter of reading two
// clocks one after the other, far below any sleep worth a check of the connection.
inline constexpr std::chrono::seconds resume_threshold{1};

// How long the computer slept between `before` and `after` (zero or less: it did not).
std::chrono::nanoseconds slept_between(const SleepClocks& before, const SleepClocks& after);

// Whether it slept more than resume_threshold between the two readings.
bool resumed_between(const SleepClocks& before, const SleepClocks& after);

}  // namespace jl
