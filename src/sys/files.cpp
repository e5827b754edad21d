#include "jl/sys/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace jl::sys {

bool read_all(int fd, std::string& text) {
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;  // a regular file does not block; be safe anyway
    }
    if (n < 0) {
      return false;
    }
    if (n == 0 || text.size() > 16 * 1024 * 1024) {
      return true;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  if (!fd.valid() || !read_all(fd.get(), text)) {
    return std::nullopt;
  }
  return text;
}

LockTry try_flock(int fd, bool exclusive) {
  while (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    return errno == EWOULDBLOCK ? LockTry::busy : LockTry::failed;
  }
  return LockTry::locked;
}

}  // namespace jl::sys
