#pragma once

// What a channel has produced so far, for a command's channel on jl's own SSH connection and
// for one on a master's shared connection alike (session.cpp, mux_client.cpp).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "jl/core/shell.hpp"

namespace jl::ssh {

struct ChannelState {
  std::string out;
  std::string err;
  bool eof = false;
  bool closed = false;
  std::optional<int> exit_status;
  std::size_t limit = 64 * 1024 * 1024;  // never hold more than this from one channel
  bool overflow = false;
  // For commands started through shell::boot_line(): splits the login's noise from the
  // command's output.
  std::optional<shell::BootFilter> boot;
  std::string boot_err;  // stderr before the command started (login noise), bounded

  bool ended() const { return closed || (eof && exit_status); }
  // Ended without the bootstrap's /bin/sh ever running: the login shell refused.
  bool refused() const { return boot && !boot->started() && ended(); }

  // Take a chunk of the command's stdout (or stderr).
  void take(std::string_view chunk, bool is_stderr) {
    if (boot && !boot->started()) {
      if (is_stderr) {
        if (boot_err.size() < shell::BootFilter::kNoiseLimit) {
          boot_err.append(chunk.substr(0, shell::BootFilter::kNoiseLimit - boot_err.size()));
        }
        return;
      }
      chunk = boot->feed(chunk);
    }
    auto& buf = is_stderr ? err : out;
    if (buf.size() + chunk.size() > limit) {
      overflow = true;
    } else {
      buf.append(chunk);
    }
  }
};

}  // namespace jl::ssh
