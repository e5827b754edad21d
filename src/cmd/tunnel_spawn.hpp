#pragma once

// What every command that starts a tunnel needs (open and up for a session, forward for any
// port): the local listener, and the new connection a tunnel makes when its own one dies.

#include <functional>
#include <optional>
#include <string>

#include "jl/core/mux.hpp"
#include "jl/ssh/session.hpp"
#include "jl/sys/fd.hpp"
#include "jl/sys/state_store.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

// Bind the tunnel's listener: the port asked for (busy is an error), else the one this session
// had before (so browser tabs stay valid), else the remote port, else the next free one.
sys::Fd bind_local(std::optional<int> requested, int previous, int remote_port);

// A new connection for a tunnel whose connection died: same host and config, and never a
// prompt (nobody is there to answer it).
std::function<ssh::Session()> reconnector(std::string host, std::optional<std::string> config,
                                          std::string ssh_client);

// What a tunnel's process does for its owner, from the tunnel as words (so that a master can
// do the same for a tunnel another jl command handed over): a session's record in the state
// file (tunnel pid, note) and, after a reconnect, whether its server still answers; a
// forward's record.
tunnel::ForwardHooks hooks_for(sys::StateStore& store, const mux::ForwardSpec& spec);

// The same for any tunnel handed over, and the connection that a tunnel process for HOST
// shares with other jl commands.
void share(tunnel::RunOptions& run, sys::StateStore& store, tunnel::Sharing sharing);

}  // namespace jl::cmd
