// jl forward: another port through the tunnels' engine, from 127.0.0.1 on this machine to a
// container's port (CONTAINER:PORT) or, as ssh -L, to an address as the SSH host sees it.

#include "jl/cmd/forward.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/core/error.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/probe.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/state_store.hpp"
#include "jl/tunnel/runner.hpp"
#include "tunnel_spawn.hpp"

namespace jl::cmd {

using namespace std::chrono_literals;

namespace {

struct ForwardSpec {
  std::optional<int> local_port;
  std::string host;  // container name, or an address as the SSH host sees it
  int port = 0;
};

// CONTAINER:PORT, or with -L [LOCAL_PORT:]ADDR:PORT (ADDR may be [v6]).
ForwardSpec parse_forward(const std::string& spec, bool raw) {
  auto bad = [&] {
    return Error(Exit::usage, fmt::format("invalid forward '{}'", spec),
                 raw ? "use -L [LOCAL_PORT:]ADDR:PORT, e.g. -L 8080:127.0.0.1:80"
                     : "use CONTAINER:PORT, e.g. cont1:6006");
  };
  auto port_of = [&](std::string_view t) {
    auto p = text::parse_int(t, 1, 65535);
    if (!p) {
      throw bad();
    }
    return static_cast<int>(*p);
  };
  ForwardSpec f;
  auto last = spec.rfind(':');
  if (last == std::string::npos || last + 1 >= spec.size()) {
    throw bad();
  }
  f.port = port_of(std::string_view(spec).substr(last + 1));
  std::string head = spec.substr(0, last);
  if (raw) {
    if (!head.empty() && head.back() == ']') {
      auto open = head.rfind('[');
      if (open == std::string::npos) {
        throw bad();
      }
      f.host = head.substr(open + 1, head.size() - open - 2);
      if (open > 0) {
        if (head[open - 1] != ':') {
          throw bad();
        }
        f.local_port = port_of(std::string_view(head).substr(0, open - 1));
      }
    } else if (auto colon = head.find(':'); colon != std::string::npos) {
      f.local_port = port_of(std::string_view(head).substr(0, colon));
      f.host = head.substr(colon + 1);
    } else {
      f.host = head;
    }
    if (f.host.empty() || f.host.find_first_of(" \t'\"$;|&`") != std::string::npos) {
      throw bad();
    }
  } else {
    if (!jupyter::valid_container_name(head)) {
      throw bad();
    }
    f.host = head;
  }
  return f;
}

}  // namespace

int run_forward(Context& ctx, const ForwardOptions& o) {
  ForwardSpec spec = parse_forward(o.spec, o.raw);
  if (o.local_port) {
    spec.local_port = o.local_port;
  }
  const std::string host_name = ctx.require_host();
  const auto ssh_config = ctx.ssh_config();
  const std::string key = "forward:" + o.spec;
  const std::string lock_path = ctx.store().tunnel_lock(host_name, key);
  if (auto pid = tunnel::running_pid(lock_path)) {
    if (!tunnel::terminate(lock_path, 3s)) {
      throw Error(Exit::other, fmt::format("cannot stop the old forward (pid {})", *pid));
    }
  }
  auto session = ctx.connect(host_name, ssh_config);
  tunnel::Target target{spec.host, spec.port};
  if (!o.raw) {
    remote::Host host(session, host_name, ctx.docker_command(host_name, spec.host));
    auto probe = remote::placement_for(host, spec.host)->probe(ssh::deadline_in(15s));
    auto address = probe::server_address(*probe.container);
    if (!address) {
      throw Error(Exit::remote,
                  fmt::format("container '{}' has no IP address the host can reach", spec.host));
    }
    target.host = *address;
  }
  auto state = ctx.store().load();
  int previous = 0;
  if (const auto* f = state.find_forward(host_name, o.spec)) {
    previous = f->local_port;
  }
  sys::Fd listener = bind_local(spec.local_port, previous, spec.port);
  const int local_port = sys::local_port(listener.get());
  tunnel::RunOptions run;
  run.paths = {lock_path, ctx.store().tunnel_log(host_name, key)};
  run.target = target;
  run.foreground = o.foreground;
  run.on_started = [&](long long pid) {
    ForwardRecord rec{host_name, ssh_config, o.spec, target.host, target.port, local_port, pid};
    ctx.store().update([&](State& st) { st.upsert_forward(rec); });
    if (ctx.ui().json()) {
      ctx.ui().out_json(nlohmann::json{{"local_port", local_port},
                                       {"target", fmt::format("{}:{}", target.host, target.port)},
                                       {"host", host_name},
                                       {"pid", pid}});
    } else {
      if (!ctx.ui().quiet()) {
        ctx.ui().out(fmt::format("forwarding 127.0.0.1:{} -> {}:{} on {} (pid {})", local_port,
                                 target.host, target.port, host_name, pid));
      }
      ctx.ui().out(fmt::format("http://127.0.0.1:{}/", local_port));
    }
  };
  run.spec.kind = mux::ForwardSpec::Kind::forward;
  run.spec.host = host_name;
  run.spec.name = o.spec;
  run.spec.lock = lock_path;
  run.spec.log = run.paths.log;
  run.spec.target_host = target.host;
  run.spec.target_port = target.port;
  share(run, ctx.store(), ctx.sharing(host_name, ssh_config));
  run.reconnect = reconnector(host_name, ssh_config, ctx.ssh_client());
  // What jl inherited (a caller's lock, a pipe someone reads to its end) is not the tunnel's.
  run.close_in_child.insert(run.close_in_child.end(), ctx.inherited_fds().begin(),
                            ctx.inherited_fds().end());
  return tunnel::run(session, std::move(listener), std::move(run));
}

namespace {

// What forward's command line holds: -L's value apart, since TARGET and -L exclude each other.
struct ForwardArgs {
  ForwardOptions options;
  std::optional<std::string> raw_spec;  // -L
};

}  // namespace

void setup_forward(CLI::App& app, Dispatch& dispatch) {
  auto args = std::make_shared<ForwardArgs>();
  auto* sub = app.add_subcommand(
      "forward",
      "Forward another port through the same engine\n"
      "  jl forward cont1:6006              TensorBoard in container cont1\n"
      "  jl forward -L 8080:127.0.0.1:80    like ssh -L; the address as the host sees it");
  sub->add_option("TARGET", args->options.spec,
                  "CONTAINER:PORT (or with -L: [LOCAL_PORT:]ADDR:PORT)");
  sub->add_option("-L", args->raw_spec, "[LOCAL_PORT:]ADDR:PORT, as ssh -L")->type_name("SPEC");
  sub->add_option("--local-port", args->options.local_port, "Local port")
      ->check(CLI::Range(1, 65535))
      ->type_name("N");
  sub->add_flag("--foreground", args->options.foreground,
                "Keep the forward in this process until Ctrl-C");
  sub->callback([args, &dispatch] {
    dispatch.run = [args](Context& ctx) {
      ForwardOptions forward = args->options;
      if (args->raw_spec) {
        if (!forward.spec.empty()) {
          throw Error(Exit::usage, "give either -L SPEC or CONTAINER:PORT, not both");
        }
        forward.spec = *args->raw_spec;
        forward.raw = true;
      }
      if (forward.spec.empty()) {
        throw Error(Exit::usage, "nothing to forward",
                    "use CONTAINER:PORT or -L [LOCAL_PORT:]ADDR:PORT");
      }
      return run_forward(ctx, forward);
    };
  });
}

}  // namespace jl::cmd
