#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/cmd/stop.hpp"
#include "jl/core/error.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/remote/slurm_job.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

// Stop one server and verify that it is gone. Returns how it ended.
std::string stop_one(Context& ctx, remote::Host& host, const SessionRecord& s) {
  const auto place = remote::placement_of(host, s);
  // A container re-created under the same name is not where this server ran: asking it to shut down
  // or signalling the recorded pid there could hit another process.
  if (!s.container_id.empty()) {
    const auto identity = place->identify(s.container_id, ssh::deadline_in(10s));
    if (identity == probe::Identity::recreated) {
      return "the container was re-created since; the server went with the old one";
    }
    if (identity == probe::Identity::removed) {
      return "the container no longer exists";
    }
  }
  if (!s.job_id.empty()) {
    // A Slurm job that ended took its server with it.
    if (place->identify(s.job_id, ssh::deadline_in(20s)) == probe::Identity::removed) {
      const auto* job = dynamic_cast<const remote::SlurmJob*>(place.get());
      return job != nullptr ? slurm::ended_words(job->last()) : "its Slurm job had ended";
    }
  }
  bool shutdown_sent = false;
  if (!s.address.empty() && s.port > 0 && !s.token.empty()) {
    shutdown_sent =
        host.request_shutdown(s.address, s.port, s.base_url, s.token, ssh::deadline_in(10s));
    ctx.ui().trace(
        fmt::format("POST /api/shutdown: {}", shutdown_sent ? "accepted" : "not accepted"));
  }
  probe::StopResult result;
  if (s.pid > 0) {
    result = place->wait_gone(s.pid, s.runtime_file, shutdown_sent, ssh::deadline_in(20s));
    if (!result.gone) {
      if (!s.job_id.empty()) {
        throw Error(Exit::remote,
                    fmt::format("job {} of {} on {} does not end{}", s.job_id, s.container, s.host,
                                result.detail.empty() ? "" : ": " + result.detail),
                    fmt::format("look at it on the login node: squeue -j {}", s.job_id));
      }
      throw Error(Exit::remote,
                  fmt::format("Jupyter (pid {}) in container '{}' on {} is still running after "
                              "SIGKILL{}",
                              s.pid, s.container, s.host,
                              result.detail.empty() ? "" : ": " + result.detail),
                  "look at the container on the host (docker top CONTAINER)");
    }
  }
  // Verify from the outside: nothing may answer at the server's address any more.
  const bool place_gone = result.how == probe::StopHow::container_gone ||
                          result.how == probe::StopHow::job_ended ||
                          result.how == probe::StopHow::job_cancelled;
  if (!place_gone && !s.address.empty() && s.port > 0) {
    auto health =
        host.status(s.address, s.port, s.base_url, s.token, ssh::deadline_in(10s), s.container);
    if (health.answers()) {
      throw Error(Exit::remote,
                  fmt::format("Jupyter in container '{}' on {} still answers at {}:{}", s.container,
                              s.host, s.address, s.port),
                  "it may have been restarted by something else; check `docker top` on the host");
    }
  }
  return std::string(probe::describe(result.how, shutdown_sent));
}

}  // namespace

std::string stop_session(Context& ctx, remote::Host& host, const SessionRecord& s) {
  auto lock = ctx.store().lock_session(s.host, s.container, 90s);
  // The tunnel goes first: it would only forward to a server that is going away.
  const auto tunnel_lock = ctx.store().tunnel_lock(s.host, s.container);
  if (!tunnel::terminate(tunnel_lock, 5s)) {
    ctx.ui().warn(fmt::format("the tunnel of {} does not stop", session_label(s)));
  }
  auto busy = ctx.ui().activity(fmt::format("stopping Jupyter in {}", s.container));
  auto how = stop_one(ctx, host, s);
  ctx.store().update([&](State& st) { st.remove(s.host, s.container); });
  ctx.store().forget_open_page(s.host, s.container);
  return how;
}

int run_stop(Context& ctx, const StopOptions& o) {
  auto state = ctx.store().load();
  const auto targets = ctx.pick_sessions(state, o.container, o.all);
  if (targets.empty()) {
    ctx.ui().info("no known sessions; nothing to stop");
    if (ctx.ui().json()) {
      ctx.ui().out("[]");
    }
    return 0;
  }

  // One SSH connection per host.
  std::map<std::pair<std::string, std::optional<std::string>>, std::vector<SessionRecord>> by_host;
  for (auto& s : targets) {
    by_host[{s.host, s.ssh_config}].push_back(s);
  }
  nlohmann::json results = nlohmann::json::array();
  int failures = 0;
  std::optional<Error> first_error;
  for (const auto& [key, sessions] : by_host) {
    const auto& [host_name, ssh_config] = key;
    std::optional<ssh::Session> session;
    try {
      session.emplace(ctx.connect(host_name, ssh_config));
    } catch (const Error& e) {
      if (!o.all) {
        throw;
      }
      ++failures;
      ctx.ui().warn(fmt::format("cannot stop the sessions on {}: {}", host_name, e.what()));
      if (!first_error) {
        first_error = e;
      }
      continue;
    }
    for (const auto& s : sessions) {
      remote::Host host(*session, host_name, ctx.docker_command(s.host, s.container));
      try {
        auto how = stop_session(ctx, host, s);
        if (ctx.ui().json()) {
          results.push_back(
              {{"host", s.host}, {"container", s.container}, {"stopped", true}, {"how", how}});
        } else if (!ctx.ui().quiet()) {
          ctx.ui().out(fmt::format("stopped Jupyter in {} on {} ({})", s.container, s.host, how));
        }
      } catch (const Error& e) {
        if (!o.all) {
          throw;
        }
        ++failures;
        ctx.ui().warn(fmt::format("cannot stop {}: {}", session_label(s), e.what()));
        if (!first_error) {
          first_error = e;
        }
        results.push_back({{"host", s.host},
                           {"container", s.container},
                           {"stopped", false},
                           {"error", e.what()}});
      }
    }
  }
  if (ctx.ui().json()) {
    ctx.ui().out_json(results);
  }
  if (failures > 0 && first_error) {
    throw Error(first_error->code(), fmt::format("{} session(s) could not be stopped", failures),
                first_error->hint());
  }
  return 0;
}

void setup_stop(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<StopOptions>();
  auto* sub = app.add_subcommand("stop",
                                 "Shut Jupyter down, verify it is gone, and forget the session\n"
                                 "  jl stop            (the only known session)\n"
                                 "  jl stop cont1\n"
                                 "  jl stop --all");
  sub->add_option("CONTAINER", options->container, "Container of a known session");
  sub->add_flag("--all", options->all, "Stop every known session");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_stop(ctx, *options); };
  });
}

}  // namespace jl::cmd
