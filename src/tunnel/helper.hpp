#pragma once

// The master's helper on the host (core/helper): one session channel, opened when the master
// starts, that runs other jl commands' scripts one at a time in one round trip each. A script
// arrives as a `run` request (core/mux) with the command's control connection, stdout and
// stderr; the helper passes its answer on exactly as an exec channel's would come (the
// bootstrap's marker, stdout, stderr, then the exit status on the control connection). While
// it is busy, starting, or after it failed, take() says no and the master runs the script on a
// channel of its own instead. Driven by the forwarder's loop, on the thread that owns the
// session.

#include <poll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jl/sys/fd.hpp"

struct ssh_session_struct;

namespace jl::tunnel {

class Helper {
 public:
  using Log = std::function<void(std::string_view)>;
  Helper(ssh_session_struct* session, Log log);
  ~Helper();
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;

  // Run `command` (a POSIX sh command line, stdin empty) for a command: true when the helper
  // took it, answered ok on `ctrl` and took the three descriptors; false (and nothing taken)
  // when it cannot now.
  bool take(sys::Fd& ctrl, sys::Fd& io, sys::Fd& err, const std::string& command);
  // Move things on: start (or start again after a failure, at most a few times), send the
  // job, pass its answer on, end it.
  void service(std::chrono::steady_clock::time_point now);
  // Its descriptors for poll() (always kPolls entries), and what poll said of them.
  static constexpr std::size_t kPolls = 3;
  void add_polls(std::vector<pollfd>& fds) const;
  void handle_polls(const pollfd* fds);
  // A command waits for a job's answer (the master lives on for it).
  bool serving() const;
  // Whether it runs and waits for a job.
  bool ready() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m;
};

}  // namespace jl::tunnel
