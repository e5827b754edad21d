#include "jl/sys/unix_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "jl/sys/net.hpp"
#include "os.hpp"

namespace jl::sys {

namespace {

bool fill_address(const std::string& path, sockaddr_un* addr, std::string* error) {
  *addr = {};
  if (path.empty() || path.size() >= sizeof addr->sun_path) {
    if (error != nullptr) {
      *error = path.empty() ? "no socket path" : "the socket path is too long";
    }
    return false;
  }
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// A non-blocking Unix stream socket and the address of `path`.
Fd unix_socket(const std::string& path, sockaddr_un* addr, std::string* error) {
  if (!fill_address(path, addr, error)) {
    return Fd();
  }
  Fd fd = stream_socket(AF_UNIX);
  if (!fd.valid()) {
    if (error != nullptr) {
      *error = std::strerror(errno);
    }
    return Fd();
  }
  return fd;
}

#if JL_SYS_LINUX
constexpr int kNoSignal = MSG_NOSIGNAL;
#else
constexpr int kNoSignal = 0;  // prepare_socket keeps SIGPIPE away
#endif

}  // namespace

long long own_uid() {
  return static_cast<long long>(::geteuid());
}

bool private_dir(const std::string& dir, std::string* error) {
  auto say = [&](std::string why) {
    if (error != nullptr) {
      *error = dir + ": " + why;
    }
    return false;
  };
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    // The parent may be missing (a fresh $XDG_RUNTIME_DIR is made by the login, not by jl).
    return say(std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return say(std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return say("not a directory");
  }
  if (static_cast<long long>(st.st_uid) != own_uid()) {
    return say("owned by another user");
  }
  if ((st.st_mode & 0077) != 0) {
    return say("others may enter it (its mode should be 0700)");
  }
  return true;
}

Fd listen_unix(const std::string& path, std::string* error) {
  sockaddr_un addr{};
  Fd fd = unix_socket(path, &addr, error);
  if (!fd.valid()) {
    return Fd();
  }
  ::unlink(path.c_str());
  // Bound under a umask that leaves the owner alone: no moment when others may connect.
  const mode_t old = ::umask(0077);
  const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 64) != 0) {
    if (error != nullptr) {
      *error = std::strerror(errno);
    }
    return Fd();
  }
  return fd;
}

bool own_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
         static_cast<long long>(st.st_uid) == own_uid();
}

Fd connect_unix_now(const std::string& path, std::string* error) {
  sockaddr_un addr{};
  Fd fd = unix_socket(path, &addr, error);
  if (!fd.valid()) {
    return Fd();
  }
  int rc = 0;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (error != nullptr) {
      *error = errno == EAGAIN ? "nothing accepts connections there now (busy or stopped)"
                               : std::strerror(errno);
    }
    return Fd();
  }
  return fd;
}

Fd connect_unix(const std::string& path, std::string* error) {
  Fd fd = connect_unix_now(path, error);
  if (fd.valid()) {
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  }
  return fd;
}

Fd accept_now(int listener) {
  int fd = -1;
  do {
#if JL_SYS_LINUX
    fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    fd = ::accept(listener, nullptr, nullptr);
#endif
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return Fd();
  }
#if !JL_SYS_LINUX
  prepare_socket(fd);
#endif
  return Fd(fd);
}

// POSIX has no way to ask: Linux (the portable build too) has SO_PEERCRED, macOS and the BSDs
// getpeereid.
std::optional<long long> peer_uid(int sock) {
#if defined(SO_PEERCRED)
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    return static_cast<long long>(cred.uid);
  }
  return std::nullopt;
#else
  uid_t uid = 0;
  gid_t gid = 0;
  if (::getpeereid(sock, &uid, &gid) == 0) {
    return static_cast<long long>(uid);
  }
  return std::nullopt;
#endif
}

bool send_all(int sock, std::string_view bytes, const std::vector<int>& fds,
              std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  bool fds_sent = fds.empty();
  while (!bytes.empty()) {
    msghdr msg{};
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control;
    if (!fds_sent) {
      control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
      msg.msg_control = control.data();
      msg.msg_controllen = static_cast<decltype(msg.msg_controllen)>(control.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t n = ::sendmsg(sock, &msg, kNoSignal);
    if (n > 0) {
      fds_sent = true;
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{sock, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return true;
}

long recv_with_fds(int sock, char* buf, std::size_t max, std::vector<Fd>* fds) {
  msghdr msg{};
  iovec iov{buf, max};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = 0;
  do {
#ifdef MSG_CMSG_CLOEXEC
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
#else
    n = ::recvmsg(sock, &msg, 0);
#endif
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return -1;
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
      continue;
    }
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      if (fds != nullptr) {
        fds->emplace_back(fd);
      } else {
        ::close(fd);
      }
    }
  }
  return static_cast<long>(n);
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(std::max<long long>(0, timeout.count()))) > 0;
}

}  // namespace jl::sys
