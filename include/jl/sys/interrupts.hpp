#pragma once

#include <memory>

namespace jl::sys {

// Ctrl-C and SIGTERM as events instead of sudden death: while an Interrupts object lives,
// SIGINT, SIGTERM and SIGHUP are blocked and each one that arrives makes a descriptor readable,
// so that a command in the middle of remote work can stop at a safe point and roll back. No
// signal handler and no global state; the signals stay blocked, so no system call is
// interrupted (EINTR) either:
//   - Linux: a signalfd;
//   - macOS: a kqueue with an EVFILT_SIGNAL filter per signal (it sees blocked signals too);
//   - elsewhere (and the portable build): a pipe fed by a thread that waits for the signals
//     with sigwait.
// Make it on the main thread: threads started later inherit the blocked signals. Two at once
// are not supported (a signal would reach only one of them); pass the one that exists along.
class Interrupts {
 public:
  // `hangup`: SIGHUP counts too (a process that outlives its terminal leaves it out).
  explicit Interrupts(bool hangup = true);
  ~Interrupts();
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  // Readable while a signal is waiting to be taken.
  int fd() const;
  // Consume a pending signal; true if there was one.
  bool take();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace jl::sys
