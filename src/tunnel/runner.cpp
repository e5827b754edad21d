#include "jl/tunnel/runner.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "jl/core/error.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/net.hpp"

namespace jl::tunnel {

namespace {

std::string now_text() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Open (creating) and try to lock; the Fd is invalid when another process holds the lock.
sys::Fd try_lock(const std::string& path, bool* busy) {
  sys::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  *busy = false;
  if (!fd.valid()) {
    throw Error(Exit::other, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    *busy = errno == EWOULDBLOCK;
    return sys::Fd{};
  }
  return fd;
}

void write_pid(int fd, long long pid) {
  std::string text = fmt::format("{}\n", pid);
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, text.data(), text.size(), 0);
  }
}

// A descriptor that becomes readable when one of the stop signals arrives.
sys::Fd stop_signals(bool include_hup) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (include_hup) {
    sigaddset(&set, SIGHUP);
  }
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  return sys::Fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

}  // namespace

std::optional<long long> running_pid(const std::string& lock) {
  sys::Fd fd(::open(lock.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return std::nullopt;
  }
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) {
    return std::nullopt;  // nobody holds it
  }
  char buf[32] = {};
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) {
    return 0;  // held, but the pid is not written yet
  }
  return text::parse_int(text::trim(std::string_view(buf, static_cast<std::size_t>(n))), 1,
                         1LL << 40)
      .value_or(0);
}

bool terminate(const std::string& lock, std::chrono::milliseconds wait) {
  auto pid = running_pid(lock);
  if (!pid) {
    return true;
  }
  if (*pid > 0) {
    ::kill(static_cast<pid_t>(*pid), SIGTERM);
  }
  auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (!running_pid(lock)) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !running_pid(lock);
}

int run(ssh::Session& session, sys::Fd listener, RunOptions options) {
  bool busy = false;
  sys::Fd lock = try_lock(options.paths.lock, &busy);
  if (!lock.valid()) {
    throw Error(Exit::other, "a tunnel for this session is already running",
                "close it with `jl close`, then open it again");
  }
  auto log = [](std::string_view line) { fmt::print(stderr, "{} {}\n", now_text(), line); };
  Forwarder forwarder(session, std::move(listener), options.target,
                      options.foreground ? Forwarder::Log{} : Forwarder::Log(log));
  const int port = forwarder.listen_port();

  if (options.foreground) {
    write_pid(lock.get(), ::getpid());
    sys::Fd stop = stop_signals(true);
    if (options.on_started) {
      options.on_started(::getpid());
    }
    End end = forwarder.run(stop.get());
    if (options.on_ended) {
      options.on_ended();
    }
    if (end == End::connection_lost) {
      throw Error(Exit::ssh, fmt::format("the SSH connection to {} was lost; tunnel closed",
                                         session.endpoint()));
    }
    return 0;
  }

  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) {
    throw Error(Exit::other,
                fmt::format("cannot start the tunnel process: {}", std::strerror(errno)));
  }
  if (pid > 0) {
    // The child shares the lock (same open file description) and keeps it after we exit.
    if (options.on_started) {
      options.on_started(pid);
    }
    std::fflush(stdout);
    std::fflush(stderr);
    // Leave the SSH connection to the child: no destructors, no SSH disconnect from here.
    ::_exit(0);
  }

  // The tunnel process: its own session, no terminal, logging to a file.
  ::setsid();
  for (int fd : options.close_in_child) {
    ::close(fd);
  }
  write_pid(lock.get(), ::getpid());
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int logfd = ::open(options.paths.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::close(devnull);
  }
  if (logfd >= 0) {
    ::fchmod(logfd, 0600);
    ::dup2(logfd, STDOUT_FILENO);
    ::dup2(logfd, STDERR_FILENO);
    ::close(logfd);
  }
  ::signal(SIGHUP, SIG_IGN);
  sys::Fd stop = stop_signals(false);
  log(fmt::format("tunnel {} started: 127.0.0.1:{} -> {}:{} via {}", ::getpid(), port,
                  options.target.host, options.target.port, session.endpoint()));
  End end = forwarder.run(stop.get());
  const auto& st = forwarder.stats();
  log(fmt::format("tunnel {} ended ({}); {} connections, {} failed to open, {} bytes in, {} out",
                  ::getpid(), end == End::stopped ? "stopped" : "SSH connection lost", st.accepted,
                  st.open_failures, st.bytes_in, st.bytes_out));
  if (options.on_ended) {
    try {
      options.on_ended();
    } catch (const std::exception& e) {
      log(fmt::format("could not update the state: {}", e.what()));
    }
  }
  session.disconnect();
  std::fflush(stderr);
  ::_exit(0);
}

}  // namespace jl::tunnel
