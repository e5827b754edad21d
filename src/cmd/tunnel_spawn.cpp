#include "tunnel_spawn.hpp"

#include <fmt/format.h>

#include "jl/core/error.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/terminal.hpp"

namespace jl::cmd {

// Bind the tunnel's listener: the port asked for (busy is an error), else the one this session
// had before (so browser tabs stay valid), else the remote port, else the next free one.
sys::Fd bind_local(std::optional<int> requested, int previous, int remote_port) {
  std::string error;
  if (requested) {
    sys::Fd fd = sys::listen_loopback(*requested, &error);
    if (!fd.valid()) {
      throw Error(Exit::other, fmt::format("local port {} is not available: {}", *requested, error),
                  "choose another with --local-port, or leave it out and jl picks one");
    }
    return fd;
  }
  if (previous > 0) {
    sys::Fd fd = sys::listen_loopback(previous, &error);
    if (fd.valid()) {
      return fd;
    }
  }
  int start = remote_port > 0 ? remote_port : 8888;
  for (int p = start; p < start + 200 && p <= 65535; ++p) {
    sys::Fd fd = sys::listen_loopback(p, &error);
    if (fd.valid()) {
      return fd;
    }
  }
  sys::Fd fd = sys::listen_loopback(0, &error);
  if (!fd.valid()) {
    throw Error(Exit::other, fmt::format("cannot listen on 127.0.0.1: {}", error));
  }
  return fd;
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
