#include "jl/sys/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "jl/core/doctor.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/files.hpp"
#include "os.hpp"

namespace jl::sys {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

std::string fmt_address6(const char* text, int port) {
  return std::string("[") + text + "]:" + std::to_string(port);
}

#if JL_SYS_LINUX
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // prepare_socket keeps SIGPIPE away
#endif

#if JL_SYS_LINUX
std::string read_text(const std::string& path) {
  return read_file(path).value_or("");
}
#endif

}  // namespace

const char* platform() {
#if JL_SYS_LINUX
  return "linux";
#elif JL_SYS_MACOS
  return "macos";
#else
  return "posix";
#endif
}

void prepare_socket(int fd) {
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
#if !JL_SYS_LINUX
#ifdef SO_NOSIGPIPE
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#else
  // No per-socket or per-send way: ignore SIGPIPE for the process (once; a handler someone
  // installed is left alone).
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
#endif
#endif
}

Fd stream_socket(int family) {
#if JL_SYS_LINUX
  return Fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
#else
  Fd fd(::socket(family, SOCK_STREAM, 0));
  if (fd.valid()) {
    prepare_socket(fd.get());
  }
  return fd;
#endif
}

long send_some(int fd, const void* data, std::size_t size, bool dont_wait) {
  ssize_t n = 0;
  do {
    n = ::send(fd, data, size, kSendFlags | (dont_wait ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  return static_cast<long>(n);
}

void detect_dead_peer(int fd, int interval_s, int count) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#if JL_SYS_LINUX
  unsigned int user_timeout = static_cast<unsigned int>(interval_s * count * 1000);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &interval_s, sizeof interval_s);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
#elif JL_SYS_MACOS
  int drop_after = interval_s * count;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPALIVE, &interval_s, sizeof interval_s);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  ::setsockopt(fd, IPPROTO_TCP, TCP_RXT_CONNDROPTIME, &drop_after, sizeof drop_after);
#else
  (void)interval_s;
  (void)count;
#endif
}

std::string port_holder(int port) {
#if JL_SYS_LINUX
  // The listening sockets' inodes, then the process with a descriptor on one of them.
  auto inodes =
      doctor::listening_inodes(read_text("/proc/net/tcp") + read_text("/proc/net/tcp6"), port);
  if (inodes.empty()) {
    return {};
  }
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = proc.path().filename().string();
    if (!text::parse_int(name, 1, 1LL << 40)) {
      continue;
    }
    std::error_code fd_ec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      auto target = std::filesystem::read_symlink(fd.path(), link_ec).string();
      for (auto inode : inodes) {
        if (!link_ec && target == "socket:[" + std::to_string(inode) + "]") {
          auto cmdline = read_text(proc.path().string() + "/cmdline");
          std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
          return "pid " + name + ": " + std::string(text::trim(cmdline));
        }
      }
    }
  }
  return {};
#else
  (void)port;
  return {};
#endif
}

Fd listen_loopback(int port, std::string* error) {
  Fd fd = stream_socket(AF_INET);
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
  prepare_socket(fd);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::optional<TcpStall> tcp_stall(int fd) {
#if JL_SYS_LINUX
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return std::nullopt;
  }
  return TcpStall{info.tcpi_unacked, info.tcpi_backoff};
#else
  (void)fd;
  return std::nullopt;
#endif
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
  Fd fd = stream_socket(AF_INET);
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
    const long n = send_some(fd.get(), request.data(), request.size());
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

namespace {
// getaddrinfo's "the name has no address (of this family)": EAI_NONAME everywhere, and two
// older codes where the C library still has them.
bool no_such_address(int rc) {
#ifdef EAI_ADDRFAMILY
  if (rc == EAI_ADDRFAMILY) {
    return true;
  }
#endif
#ifdef EAI_NODATA
  if (rc == EAI_NODATA) {
    return true;
  }
#endif
  return rc == EAI_NONAME;
}
}  // namespace

TcpConnect connect_tcp(const std::string& host, int port, int family,
                       std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  TcpConnect result;
  const auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  // A name that is an address is taken as one; a bracketed IPv6 address too.
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &found);
  if (no_such_address(rc)) {
    hints.ai_flags = 0;  // AI_ADDRCONFIG hides 127.0.0.1 on a host with no other address
    rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &found);
  }
  if (rc != 0) {
    result.failure = TcpConnect::Failure::resolve;
    result.error = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
    return result;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = "?";
    const void* where =
        ai->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    ::inet_ntop(ai->ai_family, where, text, sizeof text);
    result.address =
        ai->ai_family == AF_INET6 ? fmt_address6(text, port) : std::string(text) + ":" + service;
    Fd fd = stream_socket(ai->ai_family);
    if (!fd.valid()) {
      result.failure = TcpConnect::Failure::other;
      result.error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        while (true) {
          const auto left =
              std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                  .count();
          if (left <= 0) {
            err = ETIMEDOUT;
            break;
          }
          pollfd p{fd.get(), POLLOUT, 0};
          int n = ::poll(&p, 1, static_cast<int>(left));
          if (n < 0 && errno == EINTR) {
            continue;
          }
          if (n <= 0) {
            err = n == 0 ? ETIMEDOUT : errno;
            break;
          }
          socklen_t len = sizeof err;
          ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
          break;
        }
      }
    }
    if (err == 0) {
      int flags = ::fcntl(fd.get(), F_GETFL);
      ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
      result.fd = std::move(fd);
      result.failure = TcpConnect::Failure::none;
      result.error.clear();
      return result;
    }
    result.failure = err == ECONNREFUSED ? TcpConnect::Failure::refused
                     : err == ETIMEDOUT  ? TcpConnect::Failure::timeout
                                         : TcpConnect::Failure::other;
    result.error = std::strerror(err);
    if (err == ETIMEDOUT) {
      break;  // the whole budget is spent
    }
  }
  return result;
}

std::pair<Fd, Fd> socket_pair() {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    return {};
  }
  Fd a(fds[0]);
  Fd b(fds[1]);
  for (int fd : fds) {
    prepare_socket(fd);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  return {std::move(a), std::move(b)};
}

}  // namespace jl::sys
