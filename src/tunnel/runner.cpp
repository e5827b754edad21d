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
#include <memory>
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
#include "jl/sys/unix_socket.hpp"
#include "jl/sys/wake.hpp"

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

// The lock file says who holds it: the pid, and the control socket of a master, which is
// asked (not signalled) to close one of its tunnels.
void write_pid(int fd, long long pid, const std::string& socket = {}) {
  std::string text = fmt::format("{}\n{}", pid, socket.empty() ? "" : socket + "\n");
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, text.data(), text.size(), 0);
  }
}

}  // namespace

namespace {

struct Holder {
  long long pid = 0;   // 0: held, but not written yet
  std::string socket;  // a master's control socket
};

std::optional<Holder> holder(const std::string& lock) {
  sys::Fd fd(::open(lock.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return std::nullopt;
  }
  if (sys::try_flock(fd.get(), false) == sys::LockTry::locked) {
    return std::nullopt;  // nobody holds it
  }
  char buf[1024] = {};
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  Holder h;
  if (n <= 0) {
    return h;
  }
  const auto lines = text::lines(std::string_view(buf, static_cast<std::size_t>(n)));
  if (!lines.empty()) {
    h.pid = text::parse_int(text::trim(lines[0]), 1, 1LL << 40).value_or(0);
  }
  if (lines.size() > 1) {
    h.socket = std::string(text::trim(lines[1]));
  }
  return h;
}

// Ask the master at `socket` to stop serving the tunnel of `lock`.
bool ask_to_close(const std::string& socket, const std::string& lock) {
  if (!sys::own_socket(socket)) {
    return false;
  }
  sys::Fd fd = sys::connect_unix_now(socket, nullptr);
  if (!fd.valid() || sys::peer_uid(fd.get()) != sys::own_uid()) {
    return false;
  }
  mux::Request r;
  r.op = mux::Request::Op::close;
  r.lock = lock;
  if (!sys::send_all(fd.get(), mux::encode(r), {}, std::chrono::seconds(1))) {
    return false;
  }
  mux::LineReader lines;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  char buf[512];
  while (std::chrono::steady_clock::now() < until) {
    if (auto line = lines.next()) {
      auto reply = mux::decode_reply(*line, nullptr);
      return reply && reply->ok;
    }
    if (!sys::wait_readable(fd.get(), std::chrono::milliseconds(100))) {
      continue;
    }
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      return false;
    }
    lines.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  return false;
}

}  // namespace

std::optional<long long> running_pid(const std::string& lock) {
  if (auto h = holder(lock)) {
    return h->pid;
  }
  return std::nullopt;
}

bool terminate(const std::string& lock, std::chrono::milliseconds wait) {
  auto h = holder(lock);
  if (!h) {
    return true;
  }
  // A master serves other tunnels too: it lets go of this one alone. One that does not
  // answer (stopped, or gone with the lock inherited) gets the signal.
  if (h->socket.empty() || !ask_to_close(h->socket, lock)) {
    if (h->pid > 0) {
      ::kill(static_cast<pid_t>(h->pid), SIGTERM);
    }
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
  int listener = 0;
  Clock::time_point since;
};

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

// One tunnel the process serves: its listener, its lock, what to tell its owner.
struct Forward {
  int id = 0;
  std::string name;
  sys::Fd listener;
  Target target;
  std::string lock_path;
  sys::Fd lock;
  ForwardHooks hooks;
  bool jupyter = false;  // a session's tunnel: its target is a Jupyter server
  std::optional<Clock::time_point> gone_since;
  // A tunnel handed over logs to its own file; the process's own tunnel to the process's log.
  std::shared_ptr<sys::Fd> log_fd;

  // A writer of lines to this tunnel's log, or nothing when it is the process's log.
  std::function<void(std::string_view)> logger() const {
    if (!log_fd) {
      return {};
    }
    return [fd = log_fd](std::string_view line) {
      const std::string text = fmt::format("{} {}\n", now_text(), line);
      [[maybe_unused]] auto n = ::write(fd->get(), text.data(), text.size());
    };
  }

  void note(TunnelNote kind, std::string_view why = {}) const {
    if (hooks.on_note) {
      hooks.on_note(kind, tunnel_note_words(kind, why));
    }
  }
};

// A tunnel process: the SSH connection, the tunnels it serves and, as its host's master, the
// control socket through which other jl commands share the connection.
class Tunnels {
 public:
  Tunnels(const RunOptions& o, Forwarder::Log log, int stop_fd)
      : m_o(o), m_log(std::move(log)), m_stop(stop_fd) {}

  void add(Forward f) {
    f.id = m_next_id++;
    m_forwards.push_back(std::move(f));
  }

  // Become the host's master if none is: hold the lock, listen on the control socket.
  void try_to_lead() {
    if (m_control.valid() || !m_o.sharing.enabled()) {
      return;
    }
    bool busy = false;
    sys::Fd lock;
    try {
      lock = try_lock(m_o.sharing.lock, &busy);
    } catch (const Error& e) {
      say(e.what());
      return;
    }
    if (!lock.valid()) {
      return;  // another tunnel process is the master
    }
    std::string error;
    sys::Fd control = sys::listen_unix(m_o.sharing.socket, &error);
    if (!control.valid()) {
      say(fmt::format("cannot share the connection: {}: {}", m_o.sharing.socket, error));
      return;
    }
    m_master_lock = std::move(lock);
    m_control = std::move(control);
    for (auto& f : m_forwards) {
      write_pid(f.lock.get(), ::getpid(), m_o.sharing.socket);
    }
    say(fmt::format("sharing the connection with other jl commands at {}", m_o.sharing.socket));
  }

  ~Tunnels() {
    if (m_control.valid()) {
      ::unlink(m_o.sharing.socket.c_str());  // ours: we hold the master's lock
    }
  }

  TunnelEnd serve(ssh::Session& first);
  // Stop serving whatever is left.
  void finish(std::string_view why) { end_all(why); }

 private:
  void say(std::string_view line) const {
    if (m_log) {
      m_log(line);
    }
  }
  std::vector<Listener> listeners() const {
    std::vector<Listener> out;
    for (const auto& f : m_forwards) {
      out.push_back({f.id, f.listener.get(), f.target, f.logger(), f.jupyter});
    }
    return out;
  }
  // Stop serving one tunnel: its owner hears of it, its lock is let go.
  void end(std::size_t index, std::string_view why) {
    auto& f = m_forwards[index];
    say(fmt::format("tunnel for {} ended: {}", f.name, why));
    if (auto own = f.logger()) {
      own(fmt::format("tunnel for {} ended: {}", f.name, why));
    }
    if (f.hooks.on_ended) {
      try {
        f.hooks.on_ended();
      } catch (const std::exception& e) {
        say(fmt::format("could not update the state: {}", e.what()));
      }
    }
    m_forwards.erase(m_forwards.begin() + static_cast<std::ptrdiff_t>(index));
  }
  void end_all(std::string_view why) {
    while (!m_forwards.empty()) {
      end(m_forwards.size() - 1, why);
    }
  }
  mux::Reply take(const mux::Request& r, std::vector<sys::Fd>& fds, Forwarder* live);
  // Ask each tunnel's place whether it still holds the server (ForwardHooks::check_place): a
  // tunnel whose place is gone ends, noting why; false when none is left to serve.
  bool check_places(ssh::Session& session, Forwarder& live) {
    for (std::size_t i = m_forwards.size(); i-- > 0;) {
      auto& f = m_forwards[i];
      if (!f.hooks.check_place) {
        continue;
      }
      std::string why;
      bool holds = true;
      try {
        holds = f.hooks.check_place(session, &why);
      } catch (const std::exception& e) {
        say(fmt::format("could not check the place of {}: {}", f.name, e.what()));
        continue;  // asked again next time; a dead connection is the keepalive's to find
      }
      if (holds) {
        continue;
      }
      // It will not come back: the note stays until the next open, and the tunnel ends.
      f.note(TunnelNote::gave_up, why);
      if (m_forwards.size() == 1) {
        m_place_gone = why;
        return false;
      }
      live.remove_listener(f.id);
      end(i, fmt::format("the server is gone ({})", why));
    }
    return true;
  }
  bool wait_and_hold(std::chrono::milliseconds delay, std::vector<Waiting>& waiting);
  TunnelEnd reconnect(std::optional<ssh::Session>& owned, std::vector<Waiting>& waiting);

  const RunOptions& m_o;
  Forwarder::Log m_log;
  int m_stop;
  int m_next_id = 1;
  std::vector<Forward> m_forwards;
  sys::Fd m_master_lock;
  sys::Fd m_control;
  bool m_stop_asked = false;
  std::string m_place_gone;  // why the last tunnel's place no longer holds its server
  // Resumes and network changes: a reason to check the connection, or to try again at once.
  sys::WakeWatcher m_wake;
};

// A request on the control socket that is not a channel: a tunnel handed over, or one to
// close. `live` is the forwarder serving now (none while reconnecting).
mux::Reply Tunnels::take(const mux::Request& r, std::vector<sys::Fd>& fds, Forwarder* live) {
  mux::Reply reply;
  if (r.op == mux::Request::Op::close) {
    reply.ok = true;
    for (std::size_t i = 0; i < m_forwards.size(); ++i) {
      if (m_forwards[i].lock_path == r.lock) {
        if (live != nullptr) {
          live->remove_listener(m_forwards[i].id);
        }
        end(i, "closed");
        reply.closed = true;
        break;
      }
    }
    if (m_forwards.empty()) {
      m_stop_asked = true;  // nothing left to serve
    }
    return reply;
  }
  if (live == nullptr || !m_o.hooks_for) {
    reply.busy = live == nullptr;
    reply.error = "the tunnel process cannot take tunnels now";
    return reply;
  }
  const auto& spec = r.forward;
  bool busy = false;
  sys::Fd lock;
  try {
    lock = try_lock(spec.lock, &busy);
  } catch (const Error& e) {
    reply.error = e.what();
    return reply;
  }
  if (!lock.valid()) {
    reply.error = "a tunnel for this session is already running";
    return reply;
  }
  write_pid(lock.get(), ::getpid(), m_o.sharing.socket);
  Forward f;
  f.name = spec.name;
  f.listener = std::move(fds[0]);
  f.target = {spec.target_host, spec.target_port};
  f.lock_path = spec.lock;
  f.lock = std::move(lock);
  f.hooks = m_o.hooks_for(spec);
  f.jupyter = spec.kind == mux::ForwardSpec::Kind::session;
  if (!spec.log.empty()) {
    sys::Fd fd(::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (fd.valid()) {
      ::fchmod(fd.get(), 0600);
      f.log_fd = std::make_shared<sys::Fd>(std::move(fd));
    }
  }
  add(std::move(f));
  const auto& added = m_forwards.back();
  live->add_listener({added.id, added.listener.get(), added.target, added.logger(), added.jupyter});
  const std::string started = fmt::format(
      "tunnel for {} started: 127.0.0.1:{} -> {}:{} (served by the tunnel process {})", added.name,
      sys::local_port(added.listener.get()), added.target.host, added.target.port, ::getpid());
  say(started);
  if (auto own = added.logger()) {
    own(started);
  }
  reply.ok = true;
  reply.pid = ::getpid();
  return reply;
}

// Sleep up to `delay`, watching the stop signal, the listeners and the control socket:
// connections that arrive are accepted and kept for the next connection; those waiting too
// long are closed; control requests are answered (the master is busy: commands connect
// themselves). Returns false when asked to stop.
bool Tunnels::wait_and_hold(std::chrono::milliseconds delay, std::vector<Waiting>& waiting) {
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
    ms = std::min<int>(ms, static_cast<int>(m_wake.check_interval().count()));
    std::vector<pollfd> fds{{m_stop, POLLIN, 0},
                            {m_control.valid() ? m_control.get() : -1, POLLIN, 0},
                            {m_wake.fd(), POLLIN, 0}};
    for (const auto& f : m_forwards) {
      fds.push_back({f.listener.get(), POLLIN, 0});
    }
    int rc = ::poll(fds.data(), fds.size(), ms);
    if (rc < 0 && errno != EINTR) {
      return true;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      return false;
    }
    // The network came back (or changed), or the computer woke: try now, not after the backoff.
    if (const auto ev = m_wake.check(); ev != sys::WakeWatcher::Event::none) {
      say(ev == sys::WakeWatcher::Event::resumed ? "the computer woke from sleep: reconnecting now"
                                                 : "the network changed: reconnecting now");
      return true;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      // One request each, answered at once: busy, except closing a tunnel.
      sys::Fd c = sys::accept_now(m_control.get());
      if (c.valid() && sys::peer_uid(c.get()) == sys::own_uid() &&
          sys::wait_readable(c.get(), std::chrono::milliseconds(200))) {
        char buf[4096];
        std::vector<sys::Fd> passed;
        const long n = sys::recv_with_fds(c.get(), buf, sizeof buf, &passed);
        mux::LineReader lines;
        if (n > 0 && lines.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
          if (auto line = lines.next()) {
            auto r = mux::decode_request(*line, nullptr);
            mux::Reply answer;
            answer.busy = true;
            answer.error = "reconnecting";
            if (r && r->op == mux::Request::Op::close) {
              answer = take(*r, passed, nullptr);
            }
            sys::send_all(c.get(), mux::encode(answer), {}, std::chrono::milliseconds(200));
          }
        }
      }
      if (m_stop_asked || m_forwards.empty()) {
        return false;
      }
      continue;  // the listeners' poll results may be stale now
    }
    bool got = false;
    for (std::size_t i = 3; i < fds.size() && i - 3 < m_forwards.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) {
        continue;
      }
      const auto& f = m_forwards[i - 3];
      while (waiting.size() < 256) {
        sys::Fd fd = sys::accept_now(f.listener.get());
        if (!fd.valid()) {
          break;
        }
        waiting.push_back({std::move(fd), f.id, Clock::now()});
        got = true;
      }
    }
    // Someone wants the tunnel now: try to reconnect at once rather than after the backoff.
    if (got && Clock::now() - started >= std::chrono::seconds(1)) {
      return true;
    }
  }
}

// The connection died: connect again with capped, jittered backoff, and check each tunnel's
// server. Returns with `owned` connected (why: stopped), or why the tunnels end.
TunnelEnd Tunnels::reconnect(std::optional<ssh::Session>& owned, std::vector<Waiting>& waiting) {
  std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                   static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  say("the SSH connection was lost; reconnecting (the local port stays open)");
  for (const auto& f : m_forwards) {
    f.note(TunnelNote::reconnecting);
  }
  auto delay = std::chrono::milliseconds(500);
  std::chrono::milliseconds last_attempt{0};
  while (true) {
    std::uniform_int_distribution<int> jitter(0, static_cast<int>(delay.count() / 4));
    // An attempt that waited (a connect that timed out) has waited its turn already.
    const auto pause = std::max(std::chrono::milliseconds(100),
                                delay + std::chrono::milliseconds(jitter(rng)) - last_attempt);
    if (!wait_and_hold(pause, waiting)) {
      m_stop_asked = true;
      return {};
    }
    delay = std::min<std::chrono::milliseconds>(delay * 2, std::chrono::seconds(10));
    const auto attempt = Clock::now();
    try {
      owned.reset();
      owned.emplace(m_o.reconnect());
    } catch (const Error& e) {
      last_attempt = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - attempt);
      say(fmt::format("reconnect failed: {}", e.what()));
      if (hopeless(e)) {
        for (const auto& f : m_forwards) {
          f.note(TunnelNote::gave_up, e.what());
        }
        return {TunnelEnd::Why::hopeless, e.what()};
      }
      continue;
    }
    // Each tunnel's server: one that is gone for longer than the grace ends its tunnel.
    bool any = false;
    const auto now = Clock::now();
    for (std::size_t i = m_forwards.size(); i-- > 0;) {
      auto& f = m_forwards[i];
      std::string why;
      if (!f.hooks.check_server || f.hooks.check_server(*owned, &why)) {
        f.gone_since.reset();
        any = true;
        continue;
      }
      if (!f.gone_since) {
        f.gone_since = now;
        say(fmt::format("reconnected, but the server of {} does not answer: {}", f.name, why));
        f.note(TunnelNote::server_gone, why);
      }
      if (now - *f.gone_since > kServerGoneGrace) {
        if (m_forwards.size() == 1) {
          return {TunnelEnd::Why::server_gone, why};
        }
        end(i, fmt::format("the server is gone ({})", why));
      }
    }
    if (!any) {
      owned->disconnect();
      delay = std::chrono::seconds(5);
      continue;
    }
    say(fmt::format("reconnected to {}", owned->endpoint()));
    for (const auto& f : m_forwards) {
      if (!f.gone_since) {
        f.note(TunnelNote::none);
      }
    }
    return {};
  }
}

// Serve until stopped; reconnect when the connection dies. Returns why it ended.
TunnelEnd Tunnels::serve(ssh::Session& first) {
  ssh::Session* current = &first;
  std::optional<ssh::Session> owned;
  std::vector<Waiting> waiting;
  while (true) {
    std::vector<Held> held;
    for (auto& w : waiting) {
      held.push_back({std::move(w.fd), w.listener});
    }
    waiting.clear();
    End end;
    {
      Forwarder* self = nullptr;
      Forwarder forwarder(*current, listeners(), m_log, std::move(held),
                          m_control.valid() ? m_control.get() : -1,
                          [this, &self](const mux::Request& r, std::vector<sys::Fd>& fds) {
                            auto reply = take(r, fds, self);
                            if (m_stop_asked) {
                              self->stop_when_idle();
                            }
                            return reply;
                          });
      self = &forwarder;
      forwarder.watch(m_wake);
      forwarder.every(kCheckPlaceEvery,
                      [this, &self, current] { return check_places(*current, *self); });
      end = forwarder.run(m_stop);
      const auto& st = forwarder.stats();
      say(fmt::format(
          "served {} connections ({} failed to open; {} bytes in, {} out; {} shared channels, "
          "{} of them scripts on the shell helper, {} commands on a channel opened ahead)",
          st.accepted, st.open_failures, st.bytes_in, st.bytes_out, st.shared, st.helped,
          st.ahead));
    }
    if (end == End::stopped) {
      if (!m_place_gone.empty()) {
        return {TunnelEnd::Why::server_gone, m_place_gone};
      }
      return {};
    }
    current->disconnect();
    if (!m_o.reconnect) {
      return {TunnelEnd::Why::lost, {}};
    }
    auto why = reconnect(owned, waiting);
    if (why.why != TunnelEnd::Why::stopped || m_stop_asked) {
      return why;
    }
    current = &*owned;
    try_to_lead();
  }
}

}  // namespace

int run(ssh::Session& session, sys::Fd listener, RunOptions options) {
  // A command that runs over a master's connection hands its tunnel to that master.
  if (!options.foreground && session.master_pid() != 0) {
    std::string why;
    if (auto pid = session.hand_over(options.spec, listener.get(), &why)) {
      if (options.on_started) {
        options.on_started(*pid);
      }
      return 0;
    }
  }
  // From here on the tunnel serves from a connection of its own.
  session.own_connection();
  bool busy = false;
  sys::Fd lock = try_lock(options.paths.lock, &busy);
  if (!lock.valid()) {
    throw Error(Exit::other, "a tunnel for this session is already running",
                "close it with `jl close`, then open it again");
  }
  auto log = [](std::string_view line) { fmt::print(stderr, "{} {}\n", now_text(), line); };
  const int port = sys::local_port(listener.get());
  // The tunnel watches its own stop signals; the command's interrupt handling must not take them.
  sys::Interrupts* const watched = session.watched_interrupts();
  session.unwatch_interrupts();
  Forward first;
  first.name = options.spec.name.empty() ? "this session" : options.spec.name;
  first.listener = std::move(listener);
  first.target = options.target;
  first.lock_path = options.paths.lock;
  first.lock = std::move(lock);
  first.hooks = options.hooks;
  first.jupyter = options.spec.kind == mux::ForwardSpec::Kind::session;

  if (options.foreground) {
    write_pid(first.lock.get(), ::getpid());
    // The command's own interrupts when it has them: a second set would split the signals.
    std::optional<sys::Interrupts> own;
    if (watched == nullptr) {
      own.emplace(true);
    }
    sys::Interrupts& stop = watched != nullptr ? *watched : *own;
    if (options.on_started) {
      options.on_started(::getpid());
    }
    TunnelEnd end;
    {
      Tunnels tunnels(options, Forwarder::Log{}, stop.fd());
      tunnels.add(std::move(first));
      end = tunnels.serve(session);
      tunnels.finish(end.describe());
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
  write_pid(first.lock.get(), ::getpid());
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
  {
    Tunnels tunnels(options, log, stop.fd());
    tunnels.add(std::move(first));
    tunnels.try_to_lead();
    try {
      end = tunnels.serve(session);
    } catch (const std::exception& e) {
      end = {TunnelEnd::Why::failed, e.what()};
    }
    log(fmt::format("tunnel {} ended: {}", ::getpid(), end.describe()));
    tunnels.finish(end.describe());
  }
  std::fflush(stderr);
  ::_exit(0);
}

}  // namespace jl::tunnel
