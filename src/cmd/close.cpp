// jl close: end the tunnel of a session (or, with --all, every tunnel and forward); Jupyter
// keeps running.

#include "jl/cmd/close.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/core/error.hpp"
#include "jl/sys/state_store.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

using namespace std::chrono_literals;

int run_close(Context& ctx, const CloseOptions& o) {
  auto state = ctx.store().load();
  const auto targets = ctx.pick_sessions(state, o.container, o.all);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : targets) {
    const std::string lock_path = ctx.store().tunnel_lock(s.host, s.container);
    auto pid = tunnel::running_pid(lock_path);
    if (pid && !tunnel::terminate(lock_path, 5s)) {
      throw Error(Exit::other,
                  fmt::format("the tunnel of {} (pid {}) does not stop", session_label(s), *pid));
    }
    ctx.store().update([&](State& st) {
      if (auto* rec = st.find(s.host, s.container)) {
        rec->tunnel_pid = 0;
      }
    });
    if (ctx.ui().json()) {
      out.push_back({{"host", s.host}, {"container", s.container}, {"closed", pid.has_value()}});
    } else if (!ctx.ui().quiet()) {
      ctx.ui().out(pid ? fmt::format("closed the tunnel of {} (127.0.0.1:{}); Jupyter keeps "
                                     "running",
                                     session_label(s), s.local_port)
                       : fmt::format("no tunnel runs for {}", session_label(s)));
    }
  }
  if (o.all) {
    for (const auto& f : state.forwards) {
      const std::string lock_path = ctx.store().tunnel_lock(f.host, "forward:" + f.label);
      bool was = tunnel::running_pid(lock_path).has_value();
      tunnel::terminate(lock_path, 5s);
      ctx.store().update([&](State& st) { st.remove_forward(f.host, f.label); });
      if (ctx.ui().json()) {
        out.push_back({{"host", f.host}, {"forward", f.label}, {"closed", was}});
      } else if (!ctx.ui().quiet() && was) {
        ctx.ui().out(fmt::format("closed the forward {} on {} (127.0.0.1:{})", f.label, f.host,
                                 f.local_port));
      }
    }
  }
  if (ctx.ui().json()) {
    ctx.ui().out_json(out);
  }
  return 0;
}

void setup_close(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<CloseOptions>();
  auto* sub = app.add_subcommand("close",
                                 "Close the tunnel of a session; Jupyter keeps running\n"
                                 "  jl close cont1\n"
                                 "  jl close --all                     every tunnel and forward");
  sub->add_option("CONTAINER", options->container, "Container of a known session");
  sub->add_flag("--all", options->all, "Close every tunnel and forward");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_close(ctx, *options); };
  });
}

}  // namespace jl::cmd
