#include "jl/sys/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace jl::sys {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

Fd listen_loopback(int port, std::string* error) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = std::strerror(errno);
    return Fd{};
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto addr = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 1024) != 0) {
    *error = std::strerror(errno);
    return Fd{};
  }
  return fd;
}

int local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  return ntohs(addr.sin_port);
}

bool port_in_use(int port) {
  std::string error;
  Fd probe = listen_loopback(port, &error);
  return !probe.valid();
}

void tune_socket(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::optional<std::string> exchange_loopback(int port, std::string_view request,
                                             std::chrono::milliseconds timeout,
                                             bool (*complete)(std::string_view)) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  auto left_ms = [&] {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(ms < 0 ? 0 : ms);
  };
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return std::nullopt;
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto addr = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      return std::nullopt;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, left_ms()) != 1) {
      return std::nullopt;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return std::nullopt;
    }
  }
  while (!request.empty()) {
    ssize_t n = ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
    if (n > 0) {
      request.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, left_ms()) != 1) {
        return std::nullopt;
      }
      continue;
    }
    return std::nullopt;
  }
  std::string reply;
  char buf[16384];
  while (!(complete != nullptr && complete(reply))) {
    pollfd p{fd.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, left_ms());
    if (rc != 1) {
      return std::nullopt;  // timed out
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      return std::nullopt;
    }
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.size() > (1U << 20)) {
      break;
    }
  }
  return reply;
}

}  // namespace jl::sys
