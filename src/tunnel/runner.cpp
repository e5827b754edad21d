#include "jl/tunnel/runner.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <poll.h>
#include <sys/socket.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <algorithm>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "jl/core/error.hpp"
#include "jl/core/state.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/files.hpp"
#include "jl/sys/interrupts.hpp"
#include "jl/sys/net.hpp"

namespace jl::tunnel {

namespace {

std::string now_text() {
  return text::utc_now("%Y-%m-%dT%H:%M:%SZ");
}

// Open (creating) and try to lock; the Fd is invalid when another process holds the lock.
sys::Fd try_lock(const std::string& path, bool* busy) {
  sys::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  *busy = false;
  if (!fd.valid()) {
    throw Error(Exit::other, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (auto got = sys::try_flock(fd.get(), true); got != sys::LockTry::locked) {
    *busy = got == sys::LockTry::busy;
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

}  // namespace

std::optional<long long> running_pid(const std::string& lock) {
  sys::Fd fd(::open(lock.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return std::nullopt;
  }
  if (sys::try_flock(fd.get(), false) == sys::LockTry::locked) {
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

namespace {

using Clock = std::chrono::steady_clock;

struct Waiting {
  sys::Fd fd;
  Clock::time_point since;
};

// Sleep up to `delay`, watching the stop signal and the listener: connections that arrive are
// accepted and kept for the next connection; those waiting too long are closed. Returns false
// when asked to stop.
bool wait_and_hold(int stop_fd, int listener, std::chrono::milliseconds delay,
                   std::vector<Waiting>& waiting) {
  const auto started = Clock::now();
  const auto until = started + delay;
  while (true) {
    auto now = Clock::now();
    std::erase_if(waiting,
                  [&](const Waiting& w) { return now - w.since > kWaitingConnectionLimit; });
    if (now >= until) {
      return true;
    }
    auto next = until;
    for (const auto& w : waiting) {
      next = std::min(next, w.since + kWaitingConnectionLimit);
    }
    int ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1);
    pollfd fds[2] = {{stop_fd, POLLIN, 0}, {listener, POLLIN, 0}};
    int rc = ::poll(fds, 2, ms);
    if (rc < 0 && errno != EINTR) {
      return true;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      return false;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      bool got = false;
      while (waiting.size() < 256) {
        int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          break;
        }
        waiting.push_back({sys::Fd(fd), Clock::now()});
        got = true;
      }
      // Someone wants the tunnel now: try to reconnect at once rather than after the backoff.
      if (got && Clock::now() - started >= std::chrono::seconds(1)) {
        return true;
      }
    }
  }
}

// Errors that another attempt cannot fix: a host key problem or a prompt that is needed.
bool hopeless(const Error& e) {
  return e.cause() == Cause::host_key || e.cause() == Cause::authentication;
}

// Why a tunnel ended, and the words for its log.
struct TunnelEnd {
  enum class Why { stopped, lost, hopeless, server_gone, failed } why = Why::stopped;
  std::string detail;

  std::string describe() const {
    switch (why) {
      case Why::stopped:
        return "stopped";
      case Why::lost:
        return "the SSH connection was lost";
      case Why::hopeless:
        return fmt::format("cannot reconnect without help: {}", detail);
      case Why::server_gone:
        return fmt::format("the server is gone ({})", detail);
      case Why::failed:
        return fmt::format("failed: {}", detail);
    }
    return detail;
  }
};

// Tell the owner how the tunnel is doing (for `jl status`).
void note(const RunOptions& o, TunnelNote kind, std::string_view why = {}) {
  if (o.on_note) {
    o.on_note(kind, tunnel_note_words(kind, why));
  }
}

// Serve until stopped; reconnect when the connection dies. Returns why it ended.
TunnelEnd serve(ssh::Session& first, int listener, int stop_fd, const RunOptions& o,
                const Forwarder::Log& sink) {
  auto log = [&sink](std::string_view line) {
    if (sink) {
      sink(line);
    }
  };
  ssh::Session* current = &first;
  std::optional<ssh::Session> owned;
  std::vector<Waiting> waiting;
  std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                   static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  while (true) {
    std::vector<sys::Fd> held;
    for (auto& w : waiting) {
      held.push_back(std::move(w.fd));
    }
    waiting.clear();
    End end;
    {
      Forwarder forwarder(*current, listener, o.target, sink, std::move(held));
      end = forwarder.run(stop_fd);
      const auto& st = forwarder.stats();
      log(fmt::format("served {} connections ({} failed to open; {} bytes in, {} out)", st.accepted,
                      st.open_failures, st.bytes_in, st.bytes_out));
    }
    if (end == End::stopped) {
      return {};
    }
    current->disconnect();
    if (!o.reconnect) {
      return {TunnelEnd::Why::lost, {}};
    }
    log("the SSH connection was lost; reconnecting (the local port stays open)");
    note(o, TunnelNote::reconnecting);
    auto delay = std::chrono::milliseconds(500);
    std::optional<Clock::time_point> gone_since;
    while (true) {
      std::uniform_int_distribution<int> jitter(0, static_cast<int>(delay.count() / 4));
      if (!wait_and_hold(stop_fd, listener, delay + std::chrono::milliseconds(jitter(rng)),
                         waiting)) {
        return {};
      }
      delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::seconds(10));
      try {
        owned.reset();
        owned.emplace(o.reconnect());
      } catch (const Error& e) {
        log(fmt::format("reconnect failed: {}", e.what()));
        if (hopeless(e)) {
          note(o, TunnelNote::gave_up, e.what());
          return {TunnelEnd::Why::hopeless, e.what()};
        }
        continue;
      }
      std::string why;
      if (o.check_server && !o.check_server(*owned, &why)) {
        auto now = Clock::now();
        if (!gone_since) {
          gone_since = now;
          log(fmt::format("reconnected, but the server does not answer: {}", why));
          note(o, TunnelNote::server_gone, why);
        }
        if (now - *gone_since > kServerGoneGrace) {
          return {TunnelEnd::Why::server_gone, why};
        }
        owned->disconnect();
        delay = std::chrono::seconds(5);
        continue;
      }
      current = &*owned;
      log(fmt::format("reconnected to {}", current->endpoint()));
      note(o, TunnelNote::none);
      break;
    }
  }
}

}  // namespace

int run(ssh::Session& session, sys::Fd listener, RunOptions options) {
  bool busy = false;
  sys::Fd lock = try_lock(options.paths.lock, &busy);
  if (!lock.valid()) {
    throw Error(Exit::other, "a tunnel for this session is already running",
                "close it with `jl close`, then open it again");
  }
  auto log = [](std::string_view line) { fmt::print(stderr, "{} {}\n", now_text(), line); };
  const int port = sys::local_port(listener.get());
  // The tunnel watches its own stop signals; the command's interrupt handling must not take them.
  session.unwatch_interrupts();

  if (options.foreground) {
    write_pid(lock.get(), ::getpid());
    sys::Interrupts stop(true);
    if (options.on_started) {
      options.on_started(::getpid());
    }
    TunnelEnd end = serve(session, listener.get(), stop.fd(), options, Forwarder::Log{});
    if (options.on_ended) {
      options.on_ended();
    }
    if (end.why != TunnelEnd::Why::stopped) {
      throw Error(Exit::ssh, fmt::format("tunnel closed: {}", end.describe()));
    }
    return 0;
  }

  std::fflush(stdout);
  std::fflush(stderr);
  session.pause_jumps();
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
  session.resume_jumps();
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
  sys::Interrupts stop(false);  // SIGHUP is ignored: the tunnel outlives the terminal
  log(fmt::format("tunnel {} started: 127.0.0.1:{} -> {}:{} via {}", ::getpid(), port,
                  options.target.host, options.target.port, session.endpoint()));
  TunnelEnd end;
  try {
    end = serve(session, listener.get(), stop.fd(), options, log);
  } catch (const std::exception& e) {
    end = {TunnelEnd::Why::failed, e.what()};
  }
  log(fmt::format("tunnel {} ended: {}", ::getpid(), end.describe()));
  if (options.on_ended) {
    try {
      options.on_ended();
    } catch (const std::exception& e) {
      log(fmt::format("could not update the state: {}", e.what()));
    }
  }
  std::fflush(stderr);
  ::_exit(0);
}

}  // namespace jl::tunnel
