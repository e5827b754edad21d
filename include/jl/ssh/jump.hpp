#pragma once

// One hop of a ProxyJump chain, in process: an authenticated session to the jump host, a
// direct-tcpip channel from it to the next host, and a thread that pumps that channel to one
// end of a socket pair. The other end is the next session's transport (SSH_OPTIONS_FD), so the
// next hop, or the target, is a plain libssh session over it. libssh 0.10 connects and
// authenticates only in blocking calls, which is why the pump needs a thread of its own: the
// thread owns the hop's session and channel from the start of the pump to its end, and nothing
// else touches them meanwhile.

#include <memory>
#include <string>

#include "jl/ssh/session.hpp"
#include "jl/sys/fd.hpp"

namespace jl::ssh {

class JumpRelay {
 public:
  // Open a channel from `hop` to host:port (as the hop resolves it) and start the pump. Throws
  // jl::Error (Exit::ssh) when the hop cannot reach it, naming `hop_name`.
  static std::unique_ptr<JumpRelay> start(Session hop, const std::string& hop_name,
                                          const std::string& host, int port, Deadline deadline,
                                          Trace trace);
  // Stops the pump and closes the hop (the next session sees its transport end).
  ~JumpRelay();
  JumpRelay(const JumpRelay&) = delete;
  JumpRelay& operator=(const JumpRelay&) = delete;

  // Stop the pump without closing anything, and start it again: around a fork(), which
  // copies no thread (the tunnel process takes the session over from the command).
  void pause();
  void resume();

  // The next session's end of the pair (once).
  sys::Fd take_transport();

 private:
  struct Impl;
  explicit JumpRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace jl::ssh
