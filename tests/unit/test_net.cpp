#include "jl/sys/net.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "jl/sys/files.hpp"
#include "jl/sys/unix_socket.hpp"

namespace {

bool nonblocking(int fd) {
  return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}
bool cloexec(int fd) {
  return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

TEST(Net, ThePlatformIsTheOneThisBuildAskedFor) {
  EXPECT_EQ(std::string(jl::sys::platform()), JL_EXPECT_PLATFORM);
}

TEST(Net, StreamSocketsAreNonBlockingAndCloseOnExec) {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    auto fd = jl::sys::stream_socket(family);
    ASSERT_TRUE(fd.valid()) << family;
    EXPECT_TRUE(nonblocking(fd.get())) << family;
    EXPECT_TRUE(cloexec(fd.get())) << family;
  }
}

TEST(Net, AcceptedConnectionsAreNonBlockingAndCloseOnExec) {
  std::string error;
  auto listener = jl::sys::listen_loopback(0, &error);
  ASSERT_TRUE(listener.valid()) << error;
  const int port = jl::sys::local_port(listener.get());
  auto conn = jl::sys::connect_tcp("127.0.0.1", port, 4, std::chrono::seconds(5));
  ASSERT_TRUE(conn.fd.valid()) << conn.error;
  EXPECT_FALSE(nonblocking(conn.fd.get()));  // connect_tcp leaves it blocking
  EXPECT_TRUE(cloexec(conn.fd.get()));
  ASSERT_TRUE(jl::sys::wait_readable(listener.get(), std::chrono::seconds(5)));
  auto accepted = jl::sys::accept_now(listener.get());
  ASSERT_TRUE(accepted.valid());
  EXPECT_TRUE(nonblocking(accepted.get()));
  EXPECT_TRUE(cloexec(accepted.get()));
  EXPECT_FALSE(jl::sys::accept_now(listener.get()).valid());  // none waiting: no block
}

TEST(Net, WritingToAClosedPeerFailsWithEpipeInsteadOfASignal) {
  auto [a, b] = jl::sys::socket_pair();
  ASSERT_TRUE(a.valid() && b.valid());
  EXPECT_TRUE(cloexec(a.get()));
  EXPECT_FALSE(nonblocking(a.get()));
  b.reset();
  const char byte = 'x';
  errno = 0;
  EXPECT_EQ(jl::sys::send_some(a.get(), &byte, 1), -1);  // SIGPIPE would end the test here
  EXPECT_EQ(errno, EPIPE);
  EXPECT_EQ(jl::sys::send_some(a.get(), &byte, 1, true), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(Net, DontWaitDoesNotBlockOnAFullBlockingSocket) {
  auto [a, b] = jl::sys::socket_pair();
  ASSERT_TRUE(a.valid() && b.valid());
  std::string chunk(65536, 'x');
  long sent = 0;
  for (int i = 0; i < 1000; ++i) {
    sent = jl::sys::send_some(a.get(), chunk.data(), chunk.size(), true);
    if (sent < 0) {
      break;
    }
  }
  EXPECT_EQ(sent, -1);
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
}

TEST(Net, DeadPeerDetectionTurnsKeepaliveOnWithTheSchedule) {
  auto fd = jl::sys::stream_socket(AF_INET);
  ASSERT_TRUE(fd.valid());
  jl::sys::detect_dead_peer(fd.get(), 7, 3);
  int on = 0;
  socklen_t len = sizeof on;
  ASSERT_EQ(::getsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
  EXPECT_NE(on, 0);
#ifdef __linux__
  if (std::string(jl::sys::platform()) == "linux") {
    int idle = 0;
    unsigned timeout = 0;
    len = sizeof idle;
    ASSERT_EQ(::getsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len), 0);
    EXPECT_EQ(idle, 7);
    len = sizeof timeout;
    ASSERT_EQ(::getsockopt(fd.get(), IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, &len), 0);
    EXPECT_EQ(timeout, 21000U);
  }
#endif
}

TEST(Net, APortInUseIsSeenByBindingIt) {
  std::string error;
  auto listener = jl::sys::listen_loopback(0, &error);
  ASSERT_TRUE(listener.valid()) << error;
  const int port = jl::sys::local_port(listener.get());
  EXPECT_TRUE(jl::sys::port_in_use(port));
  const auto holder = jl::sys::port_holder(port);
  if (std::string(jl::sys::platform()) == "linux") {
    EXPECT_EQ(holder.rfind("pid " + std::to_string(::getpid()) + ": ", 0), 0U) << holder;
  } else {
    EXPECT_EQ(holder, "");
  }
  listener.reset();
  EXPECT_FALSE(jl::sys::port_in_use(port));
}

TEST(Net, PipesAreCloseOnExecAtBothEnds) {
  auto [r, w] = jl::sys::make_pipe();
  ASSERT_TRUE(r.valid() && w.valid());
  EXPECT_TRUE(cloexec(r.get()));
  EXPECT_TRUE(cloexec(w.get()));
  ASSERT_EQ(::write(w.get(), "z", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'z');
}

}  // namespace
