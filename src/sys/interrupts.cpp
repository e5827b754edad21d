#include "jl/sys/interrupts.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "jl/sys/fd.hpp"
#include "jl/sys/files.hpp"
#include "os.hpp"

#if JL_SYS_LINUX
#include <sys/signalfd.h>
#elif JL_SYS_MACOS
#include <sys/event.h>
#include <sys/time.h>
#endif

namespace jl::sys {

namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

sigset_t stop_set(bool hangup) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kSignals) {
    if (sig != SIGHUP || hangup) {
      sigaddset(&set, sig);
    }
  }
  return set;
}

// Take back the signals of `set` that are still pending (blocked, so never delivered), one at
// a time: sigwait returns at once for a pending signal. Without this, restoring the mask would
// deliver them, and their default action ends the process.
void drop_pending(const sigset_t& set) {
  sigset_t pending;
  sigemptyset(&pending);
  if (::sigpending(&pending) != 0) {
    return;
  }
  for (int sig : kSignals) {
    if (sigismember(&set, sig) == 1 && sigismember(&pending, sig) == 1) {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      int got = 0;
      ::sigwait(&one, &got);
    }
  }
}

}  // namespace

#if JL_SYS_LINUX

struct Interrupts::Impl {
  sigset_t set{};
  sigset_t old{};
  Fd fd;
};

Interrupts::Interrupts(bool hangup) : m_impl(std::make_unique<Impl>()) {
  m_impl->set = stop_set(hangup);
  ::pthread_sigmask(SIG_BLOCK, &m_impl->set, &m_impl->old);
  m_impl->fd = Fd(::signalfd(-1, &m_impl->set, SFD_CLOEXEC | SFD_NONBLOCK));
}

bool Interrupts::take() {
  signalfd_siginfo info{};
  return m_impl->fd.valid() && ::read(m_impl->fd.get(), &info, sizeof info) == sizeof info;
}

Interrupts::~Interrupts() {
  while (take()) {
  }
  drop_pending(m_impl->set);
  ::pthread_sigmask(SIG_SETMASK, &m_impl->old, nullptr);
}

#elif JL_SYS_MACOS

struct Interrupts::Impl {
  sigset_t set{};
  sigset_t old{};
  Fd fd;  // the kqueue
};

Interrupts::Interrupts(bool hangup) : m_impl(std::make_unique<Impl>()) {
  m_impl->set = stop_set(hangup);
  ::pthread_sigmask(SIG_BLOCK, &m_impl->set, &m_impl->old);
  Fd kq(::kqueue());
  if (!kq.valid() || ::fcntl(kq.get(), F_SETFD, FD_CLOEXEC) != 0) {
    return;
  }
  for (int sig : kSignals) {
    if (sigismember(&m_impl->set, sig) != 1) {
      continue;
    }
    struct kevent change {};
    EV_SET(&change, sig, EVFILT_SIGNAL, EV_ADD | EV_ENABLE, 0, 0, nullptr);
    if (::kevent(kq.get(), &change, 1, nullptr, 0, nullptr) != 0) {
      return;
    }
  }
  m_impl->fd = std::move(kq);
}

bool Interrupts::take() {
  if (!m_impl->fd.valid()) {
    return false;
  }
  // The kqueue counts deliveries; the signal itself stays pending (it is blocked) until
  // taken here too.
  struct kevent got {};
  const timespec now{0, 0};
  if (::kevent(m_impl->fd.get(), nullptr, 0, &got, 1, &now) != 1) {
    return false;
  }
  drop_pending(m_impl->set);
  return true;
}

Interrupts::~Interrupts() {
  while (take()) {
  }
  drop_pending(m_impl->set);
  ::pthread_sigmask(SIG_SETMASK, &m_impl->old, nullptr);
}

#else

// A pipe that a thread of our own writes a byte to for each signal it takes with sigwait.
struct Interrupts::Impl {
  sigset_t set{};
  sigset_t old{};
  Fd read_end;
  Fd write_end;
  std::atomic<bool> stopping{false};
  std::thread waiter;

  void wait_loop() {
    while (true) {
      int sig = 0;
      if (::sigwait(&set, &sig) != 0 || stopping.load()) {
        return;
      }
      const char byte = static_cast<char>(sig);
      while (::write(write_end.get(), &byte, 1) < 0 && errno == EINTR) {
      }
    }
  }
};

Interrupts::Interrupts(bool hangup) : m_impl(std::make_unique<Impl>()) {
  m_impl->set = stop_set(hangup);
  ::pthread_sigmask(SIG_BLOCK, &m_impl->set, &m_impl->old);
  auto [read_end, write_end] = make_pipe();
  if (!read_end.valid()) {
    return;
  }
  for (int fd : {read_end.get(), write_end.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  m_impl->read_end = std::move(read_end);
  m_impl->write_end = std::move(write_end);
  // Started after the mask is set, so it inherits the blocked signals, as sigwait needs.
  m_impl->waiter = std::thread([impl = m_impl.get()] { impl->wait_loop(); });
}

bool Interrupts::take() {
  char byte = 0;
  return m_impl->read_end.valid() && ::read(m_impl->read_end.get(), &byte, 1) == 1;
}

Interrupts::~Interrupts() {
  if (m_impl->waiter.joinable()) {
    // Wake the waiter with a signal of its set aimed at it alone; it sees `stopping` and ends.
    m_impl->stopping.store(true);
    ::pthread_kill(m_impl->waiter.native_handle(), SIGTERM);
    m_impl->waiter.join();
  }
  while (take()) {
  }
  drop_pending(m_impl->set);
  ::pthread_sigmask(SIG_SETMASK, &m_impl->old, nullptr);
}

#endif

int Interrupts::fd() const {
#if JL_SYS_LINUX || JL_SYS_MACOS
  return m_impl->fd.get();
#else
  return m_impl->read_end.get();
#endif
}

}  // namespace jl::sys
