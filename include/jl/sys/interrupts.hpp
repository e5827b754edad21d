#pragma once

#include <signal.h>

#include "jl/sys/fd.hpp"

namespace jl::sys {

// Ctrl-C and SIGTERM as events instead of sudden death: while an Interrupts object lives,
// SIGINT, SIGTERM and SIGHUP are blocked and delivered through a descriptor, so that a command
// in the middle of remote work can stop at a safe point and roll back. No global state: the
// kernel queues the signal on the descriptor.
class Interrupts {
 public:
  // `hangup`: SIGHUP counts too (a process that outlives its terminal leaves it out).
  explicit Interrupts(bool hangup = true);
  ~Interrupts();
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  int fd() const { return m_fd.get(); }
  // Consume a pending signal; true if there was one.
  bool take();

 private:
  Fd m_fd;
  sigset_t m_old{};
};

}  // namespace jl::sys
