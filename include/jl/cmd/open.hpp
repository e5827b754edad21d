#pragma once

// jl open: make sure a tunnel runs to a started session, then open the browser. Its options
// and its tunnel are also jl up's.

#include <optional>
#include <string>

#include "jl/cmd/context.hpp"
#include "jl/cmd/dispatch.hpp"
#include "jl/cmd/start.hpp"
#include "jl/sys/fd.hpp"

namespace jl::cmd {

struct OpenOptions {
  std::optional<std::string> container;
  bool no_browser = false;
  std::optional<int> local_port;
  bool foreground = false;
};

// Declare --no-browser, --local-port and --foreground on `sub` (open and up), into `options`.
void add_open_options(CLI::App* sub, OpenOptions& options);

void setup_open(CLI::App& app, Dispatch& dispatch);
// Returns the process exit code; failures throw jl::Error.
int run_open(Context& ctx, const OpenOptions& options);

// For open and up. Tell the user where to go: the URL is the last line on stdout; the browser
// is best effort. `started`: what up started, for --json.
void announce(Context& ctx, const SessionRecord& s, int local_port, bool no_browser, bool reused,
              long long pid, const StartOutcome* started = nullptr);
// A live tunnel answers for the session: check it with one request through it, no SSH.
bool tunnel_answers(const SessionRecord& s);
// Start the tunnel for a session over `session` and hand over to the background process
// (which does not return here) or serve in the foreground. `listener`, when valid, is the
// local listener bound already (up binds a --local-port before it starts anything).
int open_tunnel(Context& ctx, ssh::Session& session, const SessionRecord& s, const OpenOptions& o,
                int session_lock_fd, const StartOutcome* started = nullptr, sys::Fd listener = {});

}  // namespace jl::cmd
