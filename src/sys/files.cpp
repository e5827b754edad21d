#include "jl/sys/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "os.hpp"

namespace jl::sys {

std::pair<Fd, Fd> make_pipe() {
  int fds[2] = {-1, -1};
#if JL_SYS_LINUX
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return {};
  }
#else
  if (::pipe(fds) != 0) {
    return {};
  }
  ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  return {Fd(fds[0]), Fd(fds[1])};
}

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

std::vector<int> open_descriptors(int first) {
  std::vector<int> open;
  // /dev/fd lists them on Linux (a link to /proc/self/fd) and on macOS; the directory's own
  // descriptor is not one of them.
  if (DIR* dir = ::opendir("/dev/fd")) {
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
      char* end = nullptr;
      const long fd = std::strtol(entry->d_name, &end, 10);
      if (end != entry->d_name && *end == '\0' && fd >= first && fd != own && fd < (1L << 30)) {
        open.push_back(static_cast<int>(fd));
      }
    }
    ::closedir(dir);
    std::sort(open.begin(), open.end());
    return open;
  }
  // Elsewhere: ask each descriptor below the soft limit (at most 65536 of them).
  long limit = ::sysconf(_SC_OPEN_MAX);
  if (limit < 0 || limit > 65536) {
    limit = 65536;
  }
  for (int fd = first; fd < limit; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) {
      open.push_back(fd);
    }
  }
  return open;
}

}  // namespace jl::sys
