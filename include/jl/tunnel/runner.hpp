#pragma once

// Running a forwarder as a tunnel: in the foreground until Ctrl-C, or in the background as its
// own process and session (like `ssh -f`: the process that connected forks after the work is
// done, and the child keeps the SSH connection). A tunnel holds an flock on its lock file for
// its whole life; that lock, not a pid, is the truth about whether it runs.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "jl/core/state.hpp"
#include "jl/ssh/session.hpp"
#include "jl/sys/fd.hpp"
#include "jl/tunnel/forwarder.hpp"

namespace jl::tunnel {

struct Paths {
  std::string lock;  // held by the running tunnel; contains its pid
  std::string log;   // the background tunnel's log (mode 0600)
};

// The pid of the tunnel holding `lock`, if one runs.
std::optional<long long> running_pid(const std::string& lock);

// Stop the tunnel holding `lock`, waiting up to `wait` for it to let go: a master serving it
// among others is asked to drop just that one; a tunnel of its own gets SIGTERM. True when no
// tunnel runs any more.
bool terminate(const std::string& lock, std::chrono::milliseconds wait);

// What a tunnel's owner wants to hear about it, and how to check its server.
inline constexpr std::chrono::seconds kCheckPlaceEvery{10};

struct ForwardHooks {
  // Called in the tunnel process when it stops serving the tunnel (to clear the state).
  std::function<void()> on_ended;
  // Is the server behind the tunnel still there? (after a reconnect) Empty: do not check.
  std::function<bool(ssh::Session&, std::string* why)> check_server;
  // Does the place the server runs in still hold it? Asked every kCheckPlaceEvery while the
  // connection lives (a Slurm job ends without the connection noticing); false ends the tunnel
  // with `why`. Empty: never asked.
  std::function<bool(ssh::Session&, std::string* why)> check_place;
  // Reports how the tunnel is doing for `jl status`: the kind of note and its words
  // (tunnel_note_words: "reconnecting", "server gone: ...", "gave up: ...", "" for none).
  std::function<void(TunnelNote note, const std::string& words)> on_note;
};

// Connection sharing: where a host's master listens and the lock that makes a process it.
struct Sharing {
  std::string socket;
  std::string lock;
  bool enabled() const { return !socket.empty(); }
};

struct RunOptions {
  Paths paths;
  Target target;
  bool foreground = false;
  // Called once the listener is serving, with the tunnel's pid: in the foreground process, or
  // (background) in the parent right after the fork, or right after a master took the tunnel.
  // Prints, records state, opens the browser.
  std::function<void(long long pid)> on_started;
  // Descriptors the background child must close (e.g. a session lock the parent holds).
  std::vector<int> close_in_child;
  // Make a new SSH connection after the old one died (never prompting). Throws jl::Error.
  std::function<ssh::Session()> reconnect;
  // This tunnel's hooks.
  ForwardHooks hooks;
  // The tunnel as words, for a master that should serve it (`spec.lock` is paths.lock).
  mux::ForwardSpec spec;
  // A background tunnel becomes its host's master when none runs: it then serves other jl
  // commands' channels and the tunnels they hand over, and lives while it serves any tunnel.
  Sharing sharing;
  // The hooks of a tunnel another jl command handed over.
  std::function<ForwardHooks(const mux::ForwardSpec&)> hooks_for;
};

// How long a tunnel waits for the server to come back after a reconnect before giving up,
// and how long a connection accepted during a reconnect waits before it is closed.
inline constexpr std::chrono::seconds kServerGoneGrace{60};
inline constexpr std::chrono::seconds kWaitingConnectionLimit{10};

// When `session` runs over a master's connection and the tunnel is for the background, hand
// the tunnel to that master (no process of its own, no connection of its own). Otherwise:
// take the lock and serve `listener` over `session`. When the SSH connection dies, reconnect
// with capped, jittered backoff while the listener stays open (connections arriving meanwhile
// wait up to kWaitingConnectionLimit, then are closed). A reconnect that would need a prompt,
// or a changed host key, ends the tunnel. In the foreground it returns when interrupted (the
// exit code to use). In the background the parent does not return: it exits with 0 after
// on_started, leaving the SSH connection to the child.
int run(ssh::Session& session, sys::Fd listener, RunOptions options);

}  // namespace jl::tunnel
