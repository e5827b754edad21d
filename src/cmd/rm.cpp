// jl rm: stop Jupyter (when jl knows a session there) and remove a container jl created. A
// container jl did not create is removed only with --force; volumes and images never are.

#include "jl/cmd/rm.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/cmd/stop.hpp"
#include "jl/core/error.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"

namespace jl::cmd {

using namespace std::chrono_literals;

int run_rm(Context& ctx, const RmOptions& o) {
  if (!jupyter::valid_container_name(o.container)) {
    throw Error(Exit::usage, fmt::format("invalid container name '{}'", o.container));
  }
  const std::string host_name = ctx.require_host();
  const auto ssh_config = ctx.ssh_config();
  auto state = ctx.store().load();
  const SessionRecord* known = state.find(host_name, o.container);
  auto session = ctx.connect(host_name, known != nullptr ? known->ssh_config : ssh_config);
  remote::Host host(session, host_name, ctx.docker_command(host_name, o.container));
  const auto place = remote::placement_for(host, o.container);
  const auto made = place->made_by_jl(ssh::deadline_in(15s));
  if (!made) {
    if (known != nullptr) {
      ctx.store().update([&](State& st) { st.remove(host_name, o.container); });
    }
    throw Error(Exit::remote,
                fmt::format("there is no container '{}' on {}{}", o.container, host_name,
                            known != nullptr ? " (jl forgot its session)" : ""));
  }
  if (!*made && !o.force) {
    throw Error(Exit::remote,
                fmt::format("container '{}' on {} was not created by jl; jl rm removes only the "
                            "containers jl made",
                            o.container, host_name),
                fmt::format("remove it anyway with: jl rm --force {}", o.container));
  }
  std::string how;
  if (known != nullptr) {
    // Shut Jupyter down cleanly first; the removal ends it anyway when that fails.
    try {
      how = stop_session(ctx, host, *known);
    } catch (const Error& e) {
      if (e.code() == Exit::interrupted) {
        throw;
      }
      ctx.ui().warn(fmt::format("could not stop Jupyter in {} first: {}", o.container, e.what()));
      ctx.store().update([&](State& st) { st.remove(host_name, o.container); });
    }
  }
  {
    auto busy = ctx.ui().activity(fmt::format("removing container {}", o.container));
    place->remove(ssh::deadline_in(60s));
  }
  if (ctx.ui().json()) {
    nlohmann::json j = {{"host", host_name},
                        {"container", o.container},
                        {"removed", true},
                        {"created_by_jl", *made}};
    if (!how.empty()) {
      j["jupyter"] = how;
    }
    ctx.ui().out_json(j);
  } else if (!ctx.ui().quiet()) {
    ctx.ui().out(fmt::format("removed container {} on {}{}", o.container, host_name,
                             how.empty() ? "" : fmt::format(" (Jupyter {})", how)));
  }
  return 0;
}

void setup_rm(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<RmOptions>();
  auto* sub = app.add_subcommand("rm",
                                 "Stop Jupyter and remove a container jl created (volumes and "
                                 "the image stay)\n"
                                 "  jl rm proj1\n"
                                 "  jl rm --force cont1    (a container jl did not create)");
  sub->add_option("CONTAINER", options->container, "Container to remove")->required();
  sub->add_flag("--force", options->force, "Remove it even though jl did not create it");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_rm(ctx, *options); };
  });
}

}  // namespace jl::cmd
