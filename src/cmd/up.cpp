// jl up: start (or reuse) Jupyter, then open its tunnel and the browser, over one connection.

#include "jl/cmd/up.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "jl/core/error.hpp"
#include "jl/sys/fd.hpp"
#include "jl/tunnel/runner.hpp"
#include "tunnel_spawn.hpp"

namespace jl::cmd {

using namespace std::chrono_literals;

int run_up(Context& ctx, const UpOptions& options) {
  UpOptions o = options;
  validate_start(o.start);
  const std::string host_name = ctx.require_host();
  resolve_start(ctx, o.start, host_name);
  validate_start(o.start);
  const auto ssh_config = ctx.ssh_config();
  if (o.start.slurm && o.start.no_wait) {
    auto session = ctx.connect(host_name, ssh_config);
    return submit_only(ctx, session, host_name, o.start);
  }
  auto lock = ctx.store().lock_session(host_name, o.start.container,
                                       std::chrono::seconds(o.start.timeout_s + 30));
  const std::string lock_path = ctx.store().tunnel_lock(host_name, o.start.container);
  // What can fail here is checked before anything starts remotely: a --local-port that is
  // taken (by anything but this session's own tunnel) ends jl up before Jupyter starts.
  sys::Fd listener;
  if (o.open.local_port) {
    auto state = ctx.store().load();
    const auto* known = state.find(host_name, o.start.container);
    const bool own_tunnel = known != nullptr && known->local_port == *o.open.local_port &&
                            tunnel::running_pid(lock_path).has_value();
    if (!own_tunnel) {
      listener = bind_local(o.open.local_port, 0, 0);
    }
  }
  auto session = ctx.connect(host_name, ssh_config);
  auto outcome = start_on(ctx, session, host_name, ssh_config, o.start);
  if (!ctx.ui().json()) {
    report_start(ctx, outcome);
  }
  SessionRecord s = outcome.record;
  // A tunnel from an earlier open may still serve this very server; one that serves an older
  // server (or another port) gives way.
  if (auto pid = tunnel::running_pid(lock_path)) {
    if (s.local_port > 0 && (!o.open.local_port || *o.open.local_port == s.local_port) &&
        tunnel_answers(s)) {
      announce(ctx, s, s.local_port, o.open.no_browser, true, *pid, &outcome);
      return 0;
    }
    if (!tunnel::terminate(lock_path, 5s)) {
      throw Error(Exit::other, fmt::format("cannot stop the old tunnel (pid {})", *pid));
    }
  }
  return open_tunnel(ctx, session, s, o.open, lock.get(), &outcome, std::move(listener));
}

void setup_up(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<UpOptions>();
  auto* sub = app.add_subcommand(
      "up",
      "Start (or reuse) Jupyter, open the tunnel and the browser: start + open in one go\n"
      "  jl up cont1\n"
      "  jl up cont1 --no-browser --local-port 9999\n"
      "  jl up lab --slurm --partition gpu --gres gpu:1 --time 2:00:00");
  add_start_options(sub, options->start);
  add_open_options(sub, options->open);
  sub->callback([options, &dispatch] {
    take_passthrough(dispatch, options->start);
    dispatch.run = [options](Context& ctx) { return run_up(ctx, *options); };
  });
}

}  // namespace jl::cmd
