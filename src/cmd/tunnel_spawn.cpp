#include "tunnel_spawn.hpp"

#include <fmt/format.h>

#include "jl/core/error.hpp"
#include "jl/core/plan.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/terminal.hpp"

namespace jl::cmd {

// Bind the tunnel's listener: the port asked for (busy is an error), else the one this session
// had before (so browser tabs stay valid), else the remote port, else the next free one.
sys::Fd bind_local(std::optional<int> requested, int previous, int remote_port) {
  std::string error;
  for (int port : plan::local_port_order(requested, previous, remote_port)) {
    sys::Fd fd = sys::listen_loopback(port, &error);
    if (fd.valid()) {
      return fd;
    }
    if (requested) {
      throw Error(Exit::other, fmt::format("local port {} is not available: {}", port, error),
                  "choose another with --local-port, or leave it out and jl picks one");
    }
  }
  throw Error(Exit::other, fmt::format("cannot listen on 127.0.0.1: {}", error));
}

// A new connection for a tunnel whose connection died: same host and config, and never a
// prompt (nobody is there to answer it).
std::function<ssh::Session()> reconnector(std::string host, std::optional<std::string> config,
                                          std::string ssh_client) {
  return [host = std::move(host), config = std::move(config), ssh_client = std::move(ssh_client)] {
    ssh::ConnectOptions options;
    options.host = host;
    options.config_file = config;
    options.ssh_client = ssh_client;
    options.never_prompt = true;
    sys::Terminal none = sys::Terminal::open(false);
    return ssh::Session::connect(options, none, {});
  };
}

}  // namespace jl::cmd
