#include "tunnel_spawn.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include "jl/core/error.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/slurm.hpp"
#include "jl/remote/host.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/random.hpp"
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
    options.fresh_syns = true;
    sys::Terminal none = sys::Terminal::open(false);
    return ssh::Session::connect(options, none, {});
  };
}

tunnel::ForwardHooks hooks_for(sys::StateStore& store, const mux::ForwardSpec& spec) {
  using namespace std::chrono_literals;
  tunnel::ForwardHooks hooks;
  const std::string host = spec.host;
  const std::string name = spec.name;
  if (spec.kind == mux::ForwardSpec::Kind::forward) {
    hooks.on_ended = [&store, host, name] {
      const long long me = ::getpid();
      store.update([&](State& st) {
        if (auto* f = st.find_forward(host, name); f != nullptr && f->pid == me) {
          f->pid = 0;
        }
      });
    };
    return hooks;
  }
  // Update the session's record, if this process is still its tunnel (a newer one may have
  // taken over).
  auto if_mine = [&store, host, name](auto change) {
    const long long me = ::getpid();
    store.update([&](State& st) {
      if (auto* rec = st.find(host, name); rec != nullptr && rec->tunnel_pid == me) {
        change(*rec);
      }
    });
  };
  hooks.on_ended = [if_mine] {
    if_mine([](SessionRecord& rec) {
      rec.tunnel_pid = 0;  // keep local_port: the next open reuses it
      // A tunnel that gave up (a login that needs a person) says why until the next open.
      if (rec.tunnel_state != TunnelNote::gave_up) {
        rec.tunnel_state = TunnelNote::none;
        rec.tunnel_note.clear();
      }
    });
  };
  hooks.on_note = [if_mine](TunnelNote note, const std::string& words) {
    if_mine([&](SessionRecord& rec) {
      rec.tunnel_state = note;
      rec.tunnel_note = words;
    });
  };
  if (!spec.job_id.empty()) {
    // A Slurm job ends (its time limit, scancel, a node that fails) while the connection to
    // the login node lives on: ask Slurm every so often.
    hooks.check_place = [job = spec.job_id](ssh::Session& live, std::string* why) {
      const std::string nonce = sys::generate_nonce();
      auto exec = live.exec(slurm::job_state_command(nonce, job), {}, ssh::deadline_in(20s));
      const auto state = slurm::parse_job_state(exec.out + exec.err, nonce, job);
      if (!state.known && !state.query_error.empty()) {
        throw Error(Exit::remote, state.query_error);  // asked again later
      }
      if (state.known && !state.ended()) {
        return true;
      }
      *why = slurm::ended_words(state);
      return false;
    };
  }
  hooks.check_server = [spec](ssh::Session& fresh, std::string* why) {
    remote::Host h(fresh, spec.host);  // HTTP only: no docker involved
    auto health = h.status(spec.target_host, spec.target_port, spec.base_url, spec.token,
                           ssh::deadline_in(10s), spec.name);
    if (!health.answers()) {
      *why = health.detail;
    }
    return health.answers();
  };
  return hooks;
}

void share(tunnel::RunOptions& run, sys::StateStore& store, tunnel::Sharing sharing) {
  run.sharing = std::move(sharing);
  run.hooks_for = [&store](const mux::ForwardSpec& spec) { return hooks_for(store, spec); };
  run.hooks = hooks_for(store, run.spec);
}

}  // namespace jl::cmd
