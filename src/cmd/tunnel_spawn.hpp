#pragma once

// What every command that starts a tunnel needs (open and up for a session, forward for any
// port): the local listener, and the new connection a tunnel makes when its own one dies.

#include <functional>
#include <optional>
#include <string>

#include "jl/ssh/session.hpp"
#include "jl/sys/fd.hpp"

namespace jl::cmd {

// Bind the tunnel's listener: the port asked for (busy is an error), else the one this session
// had before (so browser tabs stay valid), else the remote port, else the next free one.
sys::Fd bind_local(std::optional<int> requested, int previous, int remote_port);

// A new connection for a tunnel whose connection died: same host and config, and never a
// prompt (nobody is there to answer it).
std::function<ssh::Session()> reconnector(std::string host, std::optional<std::string> config,
                                          std::string ssh_client);

}  // namespace jl::cmd
