#include "jl/sys/interrupts.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

namespace jl::sys {

namespace {
sigset_t stop_set(bool hangup) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (hangup) {
    sigaddset(&set, SIGHUP);
  }
  return set;
}
}  // namespace

Interrupts::Interrupts(bool hangup) {
  sigset_t set = stop_set(hangup);
  ::sigprocmask(SIG_BLOCK, &set, &m_old);
  m_fd = Fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

Interrupts::~Interrupts() {
  // Drop what arrived (it was handled as an event), then restore the mask.
  while (take()) {
  }
  ::sigprocmask(SIG_SETMASK, &m_old, nullptr);
}

bool Interrupts::take() {
  signalfd_siginfo info{};
  return m_fd.valid() && ::read(m_fd.get(), &info, sizeof info) == sizeof info;
}

}  // namespace jl::sys
