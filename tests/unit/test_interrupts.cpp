#include "jl/sys/interrupts.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "jl/sys/process.hpp"

namespace {

using namespace std::chrono_literals;

bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1 && (p.revents & POLLIN) != 0;
}

bool blocked(int sig) {
  sigset_t now;
  sigemptyset(&now);
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

TEST(Interrupts, ASignalToTheProcessBecomesAReadableDescriptor) {
  jl::sys::Interrupts interrupts;
  ASSERT_GE(interrupts.fd(), 0);
  EXPECT_FALSE(readable(interrupts.fd(), 0));
  EXPECT_FALSE(interrupts.take());
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ASSERT_EQ(::kill(::getpid(), sig), 0);
    EXPECT_TRUE(readable(interrupts.fd(), 5000)) << sig;
    EXPECT_TRUE(interrupts.take()) << sig;
    EXPECT_FALSE(interrupts.take()) << sig;
  }
}

TEST(Interrupts, BlocksTheSignalsWhileItLivesAndRestoresTheMask) {
  ASSERT_FALSE(blocked(SIGINT));
  {
    jl::sys::Interrupts interrupts(false);
    EXPECT_TRUE(blocked(SIGINT));
    EXPECT_TRUE(blocked(SIGTERM));
    EXPECT_FALSE(blocked(SIGHUP));  // left to its default: a tunnel ignores it instead
  }
  EXPECT_FALSE(blocked(SIGINT));
  EXPECT_FALSE(blocked(SIGTERM));
}

TEST(Interrupts, ASignalNeverTakenDoesNotEndTheProcessWhenItGoes) {
  {
    jl::sys::Interrupts interrupts;
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    ASSERT_TRUE(readable(interrupts.fd(), 5000));
  }
  // Still here: the pending SIGTERM was dropped before the mask was restored.
  EXPECT_FALSE(blocked(SIGTERM));
}

TEST(Interrupts, ProgramsJlRunsGetTheSignalsBack) {
  jl::sys::Interrupts interrupts;
  // A shell that interrupts itself dies of it, as it would outside jl.
  auto r = jl::sys::run_process({"/bin/sh", "-c", "kill -INT $$; echo survived"}, 10s);
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(interrupts.take());  // and jl did not get it
}

}  // namespace
