#include "jl/sys/state_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <thread>

#include "jl/core/error.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/files.hpp"

namespace jl::sys {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

void mkdir_p(const std::string& path) {
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) {
      continue;
    }
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      throw Error(Exit::other, fmt::format("cannot create directory {}: {}", partial, errno_text()),
                  "check the permissions of the state directory (XDG_STATE_HOME)");
    }
  }
}

// A file name for a session lock: the key with anything unusual replaced.
std::string lock_name(std::string_view host, std::string_view container) {
  std::string out;
  for (char c : fmt::format("{}__{}", host, container)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  // Keep distinct keys distinct even when sanitising made them equal.
  std::size_t h = std::hash<std::string>{}(fmt::format("{}\n{}", host, container));
  return fmt::format("{}-{:08x}.lock", out.substr(0, 120), h & 0xffffffffU);
}

std::string timestamp() {
  return text::utc_now("%Y%m%dT%H%M%SZ");
}

}  // namespace

StateStore::StateStore(std::string dir, Warn warn)
    : m_dir(std::move(dir)), m_warn(std::move(warn)) {}

void StateStore::ensure_dir() {
  mkdir_p(m_dir);
}

Fd StateStore::lock_file(const std::string& path, bool exclusive, std::chrono::milliseconds wait,
                         std::string_view what) {
  ensure_dir();
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    throw Error(Exit::other, fmt::format("cannot open {}: {}", path, errno_text()),
                "check the permissions of the state directory (XDG_STATE_HOME)");
  }
  auto until = std::chrono::steady_clock::now() + wait;
  for (LockTry got; (got = try_flock(fd.get(), exclusive)) != LockTry::locked;) {
    if (got == LockTry::failed) {
      throw Error(Exit::other, fmt::format("cannot lock {}: {}", path, errno_text()));
    }
    if (std::chrono::steady_clock::now() >= until) {
      throw Error(Exit::timeout, fmt::format("another jl is still working on {}", what),
                  "wait for it to finish, then try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fd;
}

std::string StateStore::set_aside(const std::string& why) {
  const std::string path = state_file();
  // A name no earlier copy has: several corrupt files within a second must all be kept.
  for (int n = 0; n < 1000; ++n) {
    std::string aside = n == 0 ? fmt::format("{}.corrupt-{}", path, timestamp())
                               : fmt::format("{}.corrupt-{}-{}", path, timestamp(), n);
    struct stat st {};
    if (::lstat(aside.c_str(), &st) == 0) {
      continue;
    }
    if (::rename(path.c_str(), aside.c_str()) == 0) {
      m_warn(fmt::format("state file {} is unreadable ({}); moved it to {} and started afresh",
                         path, why, aside));
      return aside;
    }
    break;
  }
  m_warn(fmt::format("state file {} is unreadable ({}); ignoring it", path, why));
  return {};
}

State StateStore::read_locked() {
  const std::string path = state_file();
  // Non-blocking, so that a FIFO in its place cannot hang jl; only a regular file is read.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) {
      return State{};
    }
    if (errno == ELOOP) {
      set_aside("it is a symbolic link");
      return State{};
    }
    throw Error(Exit::other, fmt::format("cannot read {}: {}", path, errno_text()));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    fd.reset();
    set_aside("it is not a regular file");
    return State{};
  }
  std::string text;
  if (!read_all(fd.get(), text)) {
    throw Error(Exit::other, fmt::format("cannot read {}: {}", path, errno_text()));
  }
  try {
    return parse_state(text);
  } catch (const std::exception& e) {
    set_aside(e.what());
    return State{};
  }
}

void write_private_file(const std::string& path, std::string_view text) {
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) {
      throw Error(Exit::other, fmt::format("cannot write {}: {}", tmp, errno_text()),
                  "check the permissions of the state directory (XDG_STATE_HOME)");
    }
    ::fchmod(fd.get(), 0600);
    std::string_view rest = text;
    while (!rest.empty()) {
      ssize_t n = ::write(fd.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        throw Error(Exit::other, fmt::format("cannot write {}: {}", tmp, std::strerror(saved)));
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd.get()) != 0) {
      int saved = errno;
      ::unlink(tmp.c_str());
      throw Error(Exit::other, fmt::format("cannot write {}: {}", tmp, std::strerror(saved)));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    throw Error(Exit::other, fmt::format("cannot replace {}: {}", path, std::strerror(saved)));
  }
  auto slash = path.rfind('/');
  Fd dir(::open(slash == std::string::npos ? "." : path.substr(0, slash).c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) {
    ::fsync(dir.get());
  }
}

void StateStore::write_locked(const State& state) {
  write_private_file(state_file(), serialize_state(state));
}

State StateStore::load() {
  if (::access(state_file().c_str(), F_OK) != 0) {
    return State{};
  }
  // Setting a corrupt file aside needs the exclusive lock.
  auto lock = lock_file(m_dir + "/state.lock", true, std::chrono::seconds(10), "the state file");
  return read_locked();
}

State StateStore::peek() const {
  // Writers replace the file by rename, so even without the lock this reads one whole version.
  Fd fd(::open(state_file().c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  struct stat st {};
  std::string text;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      !read_all(fd.get(), text)) {
    return State{};
  }
  try {
    return parse_state(text);
  } catch (const std::exception&) {
    return State{};
  }
}

State StateStore::update(const std::function<void(State&)>& change) {
  auto lock = lock_file(m_dir + "/state.lock", true, std::chrono::seconds(10), "the state file");
  State state = read_locked();
  change(state);
  write_locked(state);
  return state;
}

std::string StateStore::tunnel_lock(std::string_view host, std::string_view key) {
  mkdir_p(m_dir + "/tunnels");
  return m_dir + "/tunnels/" + lock_name(host, key);
}

std::string StateStore::tunnel_log(std::string_view host, std::string_view key) {
  std::string lock = tunnel_lock(host, key);
  return lock.substr(0, lock.size() - 5) + ".log";
}

std::string StateStore::open_page_path(std::string_view host, std::string_view key) const {
  std::string lock = lock_name(host, key);
  return m_dir + "/open/" + lock.substr(0, lock.size() - 5) + ".html";
}

void StateStore::forget_open_page(std::string_view host, std::string_view key) {
  ::unlink(open_page_path(host, key).c_str());
}

std::string StateStore::open_page(std::string_view host, std::string_view key) {
  mkdir_p(m_dir + "/open");
  return open_page_path(host, key);
}

Fd StateStore::lock_session(std::string_view host, std::string_view container,
                            std::chrono::milliseconds wait) {
  mkdir_p(m_dir + "/locks");
  return lock_file(m_dir + "/locks/" + lock_name(host, container), true, wait,
                   fmt::format("{}/{}", host, container));
}

}  // namespace jl::sys
