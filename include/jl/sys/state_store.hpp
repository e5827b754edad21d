#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "jl/core/state.hpp"
#include "jl/sys/fd.hpp"

namespace jl::sys {

// The state directory: state.json (0600, replaced atomically) guarded by an flock on
// state.lock, plus one lock file per session that is held while a command works on it.
// Replace `path` atomically with `text`, readable by its owner only (0600).
void write_private_file(const std::string& path, std::string_view text);

class StateStore {
 public:
  using Warn = std::function<void(std::string_view)>;

  StateStore(std::string dir, Warn warn);

  const std::string& dir() const { return m_dir; }
  std::string state_file() const { return m_dir + "/state.json"; }

  // Read the state under a shared lock. A corrupt file is reported, set aside and read as empty.
  State load();

  // Read the state without locking, creating or setting aside anything (for completion): empty
  // when there is no state file or it cannot be read.
  State peek() const;

  // Read, change and write back the state under the exclusive lock.
  State update(const std::function<void(State&)>& change);

  // Hold a per-session lock until the returned Fd is closed. Waits up to `wait`; throws
  // jl::Error when another jl still holds it then.
  Fd lock_session(std::string_view host, std::string_view container,
                  std::chrono::milliseconds wait);

  // The lock and log files of the tunnel for (host, key); creates the directory.
  std::string tunnel_lock(std::string_view host, std::string_view key);
  std::string tunnel_log(std::string_view host, std::string_view key);
  // The page that sends the browser on to a session's URL (see jupyter::open_page); creates
  // the directory.
  std::string open_page(std::string_view host, std::string_view key);
  // Remove that page (the session is over: its token is void).
  void forget_open_page(std::string_view host, std::string_view key);

 private:
  void ensure_dir();
  std::string open_page_path(std::string_view host, std::string_view key) const;
  Fd lock_file(const std::string& path, bool exclusive, std::chrono::milliseconds wait,
               std::string_view what);
  State read_locked();
  // Move an unreadable state file out of the way (keeping every earlier copy) and warn.
  std::string set_aside(const std::string& why);
  void write_locked(const State& state);

  std::string m_dir;
  Warn m_warn;
};

}  // namespace jl::sys
