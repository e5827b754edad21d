#pragma once

// The forwarding engine: one thread, one non-blocking event loop that owns the SSH session,
// a loopback listener, and every forwarded connection. Each accepted connection gets a
// direct-tcpip channel to the target (as the SSH server sees it). Buffers are bounded in both
// directions and back-pressure runs both ways:
//   local -> remote: read a socket only up to the channel's window, and not while the session
//                    still has output queued;
//   remote -> local: take from a channel only what the connection's buffer can hold; the rest
//                    stays in libssh, which then stops growing the channel's window.
// EOF is passed on as a half-close (shutdown(SHUT_WR)), never as close.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/mux.hpp"
#include "jl/ssh/session.hpp"
#include "jl/sys/fd.hpp"
#include "jl/sys/wake.hpp"

namespace jl::tunnel {

struct Target {
  std::string host;  // as the SSH server resolves it (e.g. a container IP)
  int port = 0;
};

// A loopback listener and where its connections go. The forwarder does not own `fd`. What
// happens to its connections goes to `log` when it has one of its own (a tunnel handed to a
// master logs to its own file), else to the forwarder's.
struct Listener {
  int id = 0;
  int fd = -1;
  Target target;
  std::function<void(std::string_view)> log;
  // The target is a Jupyter server: a master keeps a channel to it ready for the next HTTP
  // check of another command (mux's tcp "keep"), which then costs one round trip.
  bool jupyter = false;
};

// A connection accepted while there was no SSH connection, for listener `listener`.
struct Held {
  sys::Fd fd;
  int listener = 0;
};

struct Stats {
  std::uint64_t accepted = 0;
  std::uint64_t open_failures = 0;
  std::uint64_t bytes_in = 0;   // remote -> local
  std::uint64_t bytes_out = 0;  // local -> remote
  std::uint64_t shared = 0;     // channels run for other jl commands (connection sharing)
  std::uint64_t helped = 0;     // of those, scripts run by the shell helper on the host
  std::uint64_t ahead = 0;      // of those, commands on an exec channel opened ahead (warm)
  std::size_t active = 0;
};

enum class End {
  stopped,          // the stop descriptor became readable (a signal, or the owner asked)
  connection_lost,  // the SSH connection ended
};

// The master's side of connection sharing (core/mux): requests that are not channels
// (forward, close) go to the owner, which answers them.
using ControlHandler = std::function<mux::Reply(const mux::Request&, std::vector<sys::Fd>& fds)>;

class Forwarder {
 public:
  using Log = std::function<void(std::string_view)>;

  // Drives `session` for the forwarder's lifetime. Each listener is a listening socket owned
  // by the caller (it outlives reconnects); `waiting` are connections accepted while there was
  // no SSH connection, to be served first. With a `control` socket (a listening Unix socket,
  // owned by the caller), other jl commands of this user run their channels on this session:
  // exec and tcp requests are served here, the rest goes to `handler`.
  Forwarder(ssh::Session& session, std::vector<Listener> listeners, Log log,
            std::vector<Held> waiting = {}, int control = -1, ControlHandler handler = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Serve until `stop_fd` is readable or the SSH connection ends. A connection that stays
  // silent for ServerAliveInterval x ServerAliveCountMax (ssh config; 15 s x 2 by default)
  // counts as ended: every interval without traffic sends a keepalive the server must answer.
  // Sooner when something suggests the connection died under it: a resume from sleep or a
  // network change (from `wake`, see watch()), the process itself not having run for a while
  // (stopped), or a forwarded connection waiting more than 2 s for data while nothing at all
  // comes from the server. Then one keepalive goes out at once with a deadline of a few round
  // trips (KeepaliveTimer::suspect), and no answer by then ends the connection.
  End run(int stop_fd);

  // Take resume and network-change hints from `wake` (owned by the caller).
  void watch(sys::WakeWatcher& wake);

  // Every `period`, between two rounds of the loop, call `tick` on this thread; it may use the
  // session (blocking, within a deadline of its own). run() returns `stopped` once it returns
  // false. A Slurm job's tunnel asks this way whether the job still runs.
  void every(std::chrono::milliseconds period, std::function<bool()> tick);

  // Serve one more listener from now on (from a ControlHandler too).
  void add_listener(Listener listener);
  // Stop serving a listener: its connections are closed.
  void remove_listener(int id);
  // Make run() return `stopped` as soon as no other jl command uses the connection (from a
  // ControlHandler, when the last tunnel closed).
  void stop_when_idle();

  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace jl::tunnel
