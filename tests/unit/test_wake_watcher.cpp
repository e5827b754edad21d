#include "jl/sys/wake.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "jl/core/config.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/process.hpp"

namespace {

using jl::sys::WakeWatcher;
using Event = WakeWatcher::Event;
using namespace std::chrono_literals;

std::string name_of(Event e) {
  switch (e) {
    case Event::none:
      return "none";
    case Event::resumed:
      return "resumed";
    case Event::network_changed:
      return "network_changed";
  }
  return "?";
}

static_assert(!std::is_copy_constructible_v<WakeWatcher>);
static_assert(!std::is_copy_assignable_v<WakeWatcher>);
static_assert(std::is_nothrow_move_constructible_v<WakeWatcher>);
static_assert(std::is_nothrow_move_assignable_v<WakeWatcher>);

// Linux and macOS watch the network; the plain-POSIX flavour (the portable build) has no way to.
bool watches_network() {
  return std::string(jl::sys::platform()) != "posix";
}

TEST(WakeWatcher, GivesANonBlockingDescriptorAndMovesIt) {
  WakeWatcher watcher;
  EXPECT_EQ(watcher.check_interval(), 1000ms);
  if (watches_network()) {
    ASSERT_GE(watcher.fd(), 0);
    EXPECT_NE(::fcntl(watcher.fd(), F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(watcher.fd(), F_GETFD) & FD_CLOEXEC, 0);
  } else {
    EXPECT_EQ(watcher.fd(), -1);
  }
  const int fd = watcher.fd();
  WakeWatcher moved(std::move(watcher));
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(watcher.fd(), -1);  // moved from on purpose
  EXPECT_EQ(watcher.check(), Event::none);
  WakeWatcher assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.fd(), fd);
  // No sleep between the two checks: whatever the network did, no resume.
  EXPECT_NE(name_of(assigned.check()), "resumed");
  EXPECT_NE(name_of(assigned.check()), "resumed");
}

#ifdef __linux__

// Runs `ip ARGS...`.
jl::sys::ProcessResult ip(const std::string& program, std::vector<std::string> args) {
  args.insert(args.begin(), program);
  return jl::sys::run_process(args, 10s);
}

bool not_permitted(const jl::sys::ProcessResult& r) {
  return r.err.find("Operation not permitted") != std::string::npos ||
         r.err.find("Permission denied") != std::string::npos;
}

// What check() says once the descriptor is readable (the kernel queues the messages before the
// ip command that caused them exits, so the wait is only a safeguard). Without a descriptor,
// what it says at once.
Event next_event(WakeWatcher& watcher) {
  if (watcher.fd() >= 0) {
    pollfd p{watcher.fd(), POLLIN, 0};
    ::poll(&p, 1, 2000);
  }
  return watcher.check();
}

// A real change: an interface of our own is made, given a TEST-NET address (RFC 5737, never
// routed; no traffic is sent) and removed. The tests run as root; without the ip command or
// the right to change the network, the test is skipped. The plain-POSIX flavour must see
// nothing (the keepalive timer is its only watch), and say so without failing.
TEST(WakeWatcher, SeesARealNetworkChange) {
  const char* path = std::getenv("PATH");
  const jl::Env env(std::map<std::string, std::string>{
      {"PATH", std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin"}});
  const std::string program = jl::sys::find_program("ip", env);
  if (program.empty()) {
    GTEST_SKIP() << "no ip command";
  }
  const std::string link = "jlwake" + std::to_string(::getpid() % 1000000);
  const std::string peer = "jlwakp" + std::to_string(::getpid() % 1000000);
  struct Cleanup {
    std::string program;
    std::string link;
    ~Cleanup() { ip(program, {"link", "del", link}); }
  } cleanup{program, link};

  WakeWatcher watcher;
  const std::string changed = watches_network() ? "network_changed" : "none";
  ASSERT_EQ(watcher.fd() >= 0, watches_network());
  watcher.check();  // whatever happened before
  EXPECT_EQ(name_of(watcher.check()), "none");

  // A dummy interface; a veth pair where the kernel has no dummy driver (deleting one end
  // deletes both).
  auto r = ip(program, {"link", "add", link, "type", "dummy"});
  if (r.exit_code != 0 && !not_permitted(r)) {
    r = ip(program, {"link", "add", link, "type", "veth", "peer", "name", peer});
  }
  if (not_permitted(r)) {
    GTEST_SKIP() << "not permitted to change the network: " << r.err;
  }
  ASSERT_TRUE(r.started) << r.error;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(name_of(next_event(watcher)), changed) << "after ip link add";
  EXPECT_EQ(name_of(watcher.check()), "none") << "after the link's messages were read";

  r = ip(program, {"addr", "add", "192.0.2.1/32", "dev", link});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(name_of(next_event(watcher)), changed) << "after ip addr add";

  r = ip(program, {"link", "del", link});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(name_of(next_event(watcher)), changed) << "after ip link del";
  EXPECT_EQ(name_of(watcher.check()), "none") << "after everything was read";
}

#endif

}  // namespace
