#include "jl/sys/process.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>

#include "jl/sys/files.hpp"
#include "jl/sys/net.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Process, CollectsBothStreamsAndTheExitCode) {
  auto r = jl::sys::run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 5s);
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(Process, KillsTheWholeGroupAtTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  // The grandchild keeps the pipe open: only killing the group ends the wait.
  auto r = jl::sys::run_process({"/bin/sh", "-c", "sleep 30 & sleep 30"}, 300ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Process, AProgramThatCannotRunIsNotStarted) {
  auto r = jl::sys::run_process({"/nonexistent/program"}, 5s);
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.error.empty());
}

TEST(Process, KeepsAtMostTheLimit) {
  auto r = jl::sys::run_process({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, 5s, 1000);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 1000u);
}

TEST(Process, FindsProgramsOnPath) {
  jl::Env env(std::map<std::string, std::string>{{"PATH", "/nonexistent:/bin:/usr/bin"}});
  EXPECT_FALSE(jl::sys::find_program("sh", env).empty());
  EXPECT_TRUE(jl::sys::find_program("no-such-program-jl", env).empty());
  jl::Env none(std::map<std::string, std::string>{{"PATH", "/nonexistent"}});
  EXPECT_TRUE(jl::sys::find_program("sh", none).empty());
}

TEST(OpenDescriptors, ListsWhatIsOpenAndNothingElse) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto open = jl::sys::open_descriptors(3);
  EXPECT_TRUE(std::is_sorted(open.begin(), open.end()));
  EXPECT_NE(std::find(open.begin(), open.end(), p[0]), open.end());
  EXPECT_NE(std::find(open.begin(), open.end(), p[1]), open.end());
  EXPECT_EQ(std::find(open.begin(), open.end(), 2), open.end());  // from `first` on
  ::close(p[0]);
  ::close(p[1]);
  open = jl::sys::open_descriptors(3);
  EXPECT_EQ(std::find(open.begin(), open.end(), p[0]), open.end());
  EXPECT_EQ(std::find(open.begin(), open.end(), p[1]), open.end());
  // The directory it reads is closed again: asking twice finds the same.
  EXPECT_EQ(jl::sys::open_descriptors(3), open);
}

TEST(ConnectTcp, NamesWhyItFailed) {
  auto refused = jl::sys::connect_tcp("127.0.0.1", 1, 0, 2s);
  EXPECT_FALSE(refused.fd.valid());
  EXPECT_EQ(refused.failure, jl::sys::TcpConnect::Failure::refused);
  EXPECT_EQ(refused.address, "127.0.0.1:1");
  auto unknown = jl::sys::connect_tcp("no-such-host.invalid", 22, 0, 2s);
  EXPECT_EQ(unknown.failure, jl::sys::TcpConnect::Failure::resolve);
  EXPECT_FALSE(unknown.error.empty());
}

TEST(ConnectTcp, ConnectsToAListener) {
  std::string error;
  auto listener = jl::sys::listen_loopback(0, &error);
  ASSERT_TRUE(listener.valid()) << error;
  const int port = jl::sys::local_port(listener.get());
  auto c = jl::sys::connect_tcp("127.0.0.1", port, 4, 2s);
  EXPECT_TRUE(c.fd.valid()) << c.error;
  EXPECT_EQ(c.failure, jl::sys::TcpConnect::Failure::none);
  auto v6only = jl::sys::connect_tcp("127.0.0.1", port, 6, 2s);
  EXPECT_FALSE(v6only.fd.valid());  // AddressFamily inet6 never uses an IPv4 address
}

}  // namespace
