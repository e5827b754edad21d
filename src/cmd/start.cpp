#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "jl/cmd/start.hpp"
#include "jl/core/error.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/jupyter_config.hpp"
#include "jl/core/text.hpp"
#include "jl/core/token.hpp"
#include "jl/remote/host.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

double seconds_since(ssh::Clock::time_point t) {
  return std::chrono::duration<double>(ssh::Clock::now() - t).count();
}

// Where a server found through its runtime file can be reached from the host, if at all.
std::optional<std::string> reachable_address(const jupyter::RuntimeInfo& server,
                                             const probe::ContainerInfo& container,
                                             const std::string& container_address) {
  if (!server.sock.empty() || server.port == 0) {
    return std::nullopt;  // a UNIX socket inside the container
  }
  const auto& ip = server.hostname;
  if (ip.empty() || ip == "0.0.0.0" || ip == "::" || ip == "*" || ip == container_address) {
    return container_address;
  }
  if (ip == "localhost" || ip == "127.0.0.1" || ip == "::1") {
    if (container.network_mode == "host") {
      return std::string("127.0.0.1");
    }
    return std::nullopt;  // only reachable from inside the container
  }
  // A host name (the container id, usually) that resolves inside the container.
  if (ip == container.name || container.id.starts_with(ip)) {
    return container_address;
  }
  return std::nullopt;
}

void report(Context& ctx, const SessionRecord& s, bool reused, double elapsed) {
  if (ctx.ui().json()) {
    ctx.ui().out(start_json(StartOutcome{s, reused, elapsed}).dump());
    return;
  }
  if (ctx.ui().quiet()) {
    return;
  }
  std::string what =
      fmt::format("Jupyter {} ({} {})", s.app, s.legacy ? "notebook" : "jupyter_server",
                  s.server_version.empty() ? "?" : s.server_version);
  if (reused) {
    ctx.ui().out(fmt::format("{} already runs in {} on {} at {}:{} (pid {}); reusing it", what,
                             s.container, s.host, s.address, s.port, s.pid));
  } else {
    ctx.ui().out(fmt::format("started {} in {} on {} at {}:{} (pid {}) in {:.1f} s", what,
                             s.container, s.host, s.address, s.port, s.pid, elapsed));
  }
}

// Undo a start that cannot be completed, so that no server is left running unrecorded.
void roll_back(remote::Host& host, const std::string& container, long long pid,
               const std::string& runtime_file, const Ui& ui) {
  if (pid <= 0) {
    return;
  }
  try {
    auto r = host.wait_gone(container, pid, runtime_file, false, ssh::deadline_in(15s));
    if (!r.gone) {
      ui.warn(
          fmt::format("could not stop the half-started Jupyter (pid {}) in {}", pid, container));
    }
  } catch (const Error& e) {
    ui.warn(fmt::format("could not stop the half-started Jupyter (pid {}) in {}: {}", pid,
                        container, e.what()));
  }
}

}  // namespace

void validate_start(const StartOptions& o) {
  if (!jupyter::valid_container_name(o.container)) {
    throw Error(Exit::usage, fmt::format("invalid container name '{}'", o.container),
                "container names are letters, digits, '_', '.' and '-', starting with a letter "
                "or digit");
  }
  if (o.app != "auto" && !jupyter::app_from_string(o.app)) {
    throw Error(Exit::usage, fmt::format("invalid --app '{}'", o.app),
                "use auto, lab, notebook or server");
  }
  if (o.timeout_s < 1 || o.timeout_s > 3600) {
    throw Error(Exit::usage, "--timeout must be between 1 and 3600 seconds");
  }
}

void resolve_start(Context& ctx, StartOptions& o, const std::string& host) {
  auto s = ctx.session_settings(host, o.container, o.flags);
  o.app = s.app.value;
  o.port = s.port.value;
  o.dir = s.dir.value;
  o.timeout_s = s.timeout.value;
  o.extra_args = s.jupyter_args.value;
  o.docker = s.docker.value;
  ctx.ui().trace(fmt::format("settings: app {}, port {}, dir {}, timeout {} s, docker '{}'", o.app,
                             o.port ? std::to_string(*o.port) : "auto", o.dir.value_or("(default)"),
                             o.timeout_s, text::join(o.docker, " ")));
}

StartOutcome start_on(Context& ctx, ssh::Session& session, const std::string& host_name,
                      const std::optional<std::string>& ssh_config, const StartOptions& o) {
  const auto started = ssh::Clock::now();
  std::optional<jupyter::App> wanted;
  if (o.app != "auto") {
    wanted = jupyter::app_from_string(o.app);
  }
  remote::Host host(session, host_name, o.docker);
  ctx.ui().trace("probing docker, the container and Jupyter");
  auto busy = ctx.ui().activity(fmt::format("looking into {} on {}", o.container, host_name));
  auto pending = host.probe_for_start(o.container, ssh::deadline_in(15s));
  // Until Jupyter is started, leaving this function ends the conversation without a start.
  struct SkipGuard {
    remote::Host& host;
    remote::Host::PendingStart& pending;
    bool armed = true;
    ~SkipGuard() {
      if (armed) {
        try {
          host.skip_start(pending, ssh::deadline_in(5s));
        } catch (const std::exception&) {
          // The connection is going away anyway.
        }
      }
    }
  } skip{host, pending};
  const auto& probe = pending.probe;
  ctx.ui().trace(fmt::format("probe: uid {} ({}), apps {}, {} live server(s), {} busy port(s)",
                             probe.uid, probe.user, probe.apps.size(), probe.servers.size(),
                             probe.busy_ports.size()));
  for (const auto& bad : probe.bad_runtime_files) {
    ctx.ui().warn(fmt::format("ignoring a runtime file in {}: {}", o.container, bad));
  }
  const auto address = probe::server_address(*probe.container);
  if (!address) {
    throw Error(Exit::remote,
                fmt::format("container '{}' has no IP address the host can reach (network mode "
                            "'{}')",
                            o.container, probe.container->network_mode),
                "run the container on a bridge network or with --network host");
  }

  // A session recorded in an earlier container of this name: say so, its server is gone.
  {
    auto known = ctx.store().load();
    if (const auto* before = known.find(host_name, o.container);
        before != nullptr && !before->container_id.empty() &&
        before->container_id != probe.container->id) {
      ctx.ui().warn(probe::identity_words(probe::Identity::recreated, o.container, host_name,
                                          before->container_id, probe.container->id)
                        .message);
    }
  }

  // Reuse a server that already runs and answers, whoever started it.
  for (const auto& server : probe.servers) {
    auto where = reachable_address(server, *probe.container, *address);
    if (!where) {
      ctx.ui().warn(fmt::format(
          "a Jupyter server (pid {}) in {} listens on {}, which the host "
          "cannot reach; not reusing it",
          server.pid, o.container, server.sock.empty() ? server.hostname : server.sock));
      continue;
    }
    if (server.token.empty()) {
      ctx.ui().warn(fmt::format("a Jupyter server (pid {}) in {} has no token{}; not reusing it",
                                server.pid, o.container,
                                server.password ? " (it uses a password)" : ""));
      continue;
    }
    auto health = host.status(*where, server.port, server.base_url, server.token,
                              ssh::deadline_in(10s), o.container);
    ctx.ui().trace(fmt::format("existing server pid {} on {}:{}: {}", server.pid, *where,
                               server.port, health.answers() ? "answers" : health.detail));
    if (!health.answers()) {
      continue;
    }
    SessionRecord record;
    auto state = ctx.store().load();
    if (auto* known = state.find(host_name, o.container);
        known != nullptr && known->pid == server.pid && known->port == server.port &&
        (known->container_id.empty() || known->container_id == probe.container->id)) {
      record = *known;  // keep what we knew (start time, log)
    } else {
      record.started_at = now_iso8601();
      record.started_by_jl = false;
    }
    record.host = host_name;
    record.ssh_config = ssh_config;
    record.container = o.container;
    record.container_id = probe.container->id;
    if (server.legacy) {
      record.app = "notebook";
    } else if (record.app.empty()) {
      // A jupyter_server serves every installed front end; name the best one.
      record.app =
          jupyter::to_string(jupyter::choose_app(probe.apps).value_or(jupyter::App::server));
    }
    record.server_version =
        server.version.empty()
            ? host.version(*where, server.port, server.base_url, ssh::deadline_in(5s))
            : server.version;
    record.legacy = server.legacy;
    record.address = *where;
    record.port = server.port;
    record.base_url = server.base_url;
    record.token = server.token;
    record.pid = server.pid;
    record.runtime_file = server.file;
    ctx.store().update([&](State& s) { s.upsert(record); });
    return StartOutcome{record, true, seconds_since(started)};
  }

  // Choose the app.
  jupyter::App app;
  if (wanted) {
    if (!probe.apps.contains(*wanted)) {
      std::vector<std::string> have;
      for (auto a : probe.apps) {
        have.emplace_back(jupyter::to_string(a));
      }
      if (have.empty()) {
        throw Error(Exit::remote,
                    fmt::format("Jupyter is not installed in container '{}' (no jupyter-lab, "
                                "jupyter-notebook or jupyter-server on its PATH)",
                                o.container),
                    "install JupyterLab in the image (e.g. pip install jupyterlab)");
      }
      throw Error(Exit::remote,
                  fmt::format("{} is not installed in container '{}'; it has: {}",
                              jupyter::executable(*wanted), o.container, text::join(have, ", ")),
                  fmt::format("use --app {} (or --app auto)", have.front()));
    }
    app = *wanted;
  } else {
    auto chosen = jupyter::choose_app(probe.apps);
    if (!chosen) {
      throw Error(Exit::remote,
                  fmt::format("Jupyter is not installed in container '{}' (no jupyter-lab, "
                              "jupyter-notebook or jupyter-server on its PATH)",
                              o.container),
                  "install JupyterLab in the image (e.g. pip install jupyterlab)");
    }
    app = *chosen;
  }

  // Choose the port: never let Jupyter move it behind our back.
  int port = 0;
  if (o.port) {
    if (probe.busy_ports.contains(*o.port)) {
      throw Error(
          Exit::remote,
          fmt::format("port {} is already in use inside container '{}'", *o.port, o.container),
          "choose another with --port, or leave --port out and jl picks a free one");
    }
    port = *o.port;
  } else {
    auto free = jupyter::first_free_port(probe.busy_ports, 8888);
    if (!free) {
      throw Error(Exit::remote, fmt::format("no free port in container '{}'", o.container));
    }
    port = *free;
  }

  probe::StartSpec spec;
  spec.container = o.container;
  spec.app = app;
  spec.ip = *address;
  spec.port = port;
  spec.dir = o.dir.value_or("");
  spec.allow_root = probe.uid == 0;
  spec.timeout_s = o.timeout_s;
  spec.extra_args = o.extra_args;
  const std::string token = generate_token();
  ctx.ui().trace(fmt::format("starting Jupyter {} in {} at {}:{}", jupyter::to_string(app),
                             o.container, *address, port));
  skip.armed = false;
  const std::string starting =
      fmt::format("starting Jupyter {} in {}", jupyter::to_string(app), o.container);
  busy.relabel(starting);
  int traced = 0;
  auto result = host.start(
      pending, spec, token, ssh::deadline_in(std::chrono::seconds(o.timeout_s + 10)),
      [&](const probe::StartProgress& p) {
        // What it waits for, how long so far, and what Jupyter last said (a slow extension
        // names itself there).
        std::string last = p.last_log.size() > 60 ? p.last_log.substr(0, 57) + "..." : p.last_log;
        busy.relabel(fmt::format("{}: waiting for it to listen, {} s of {}{}", starting, p.seconds,
                                 o.timeout_s, last.empty() ? "" : "; log: " + last));
        if (p.seconds % 5 == 0 && p.seconds != traced) {
          traced = p.seconds;
          ctx.ui().trace(fmt::format("still waiting for Jupyter after {} s; its log ends: {}",
                                     p.seconds, p.last_log));
        }
      });
  if (!result.runtime_moved_to.empty()) {
    ctx.ui().info(fmt::format(
        "note: {} cannot be written in container '{}' (HOME not writable?): Jupyter's runtime "
        "files and JupyterLab's workspaces go to {} instead",
        result.runtime_unwritable, o.container,
        result.runtime_moved_to.substr(0, result.runtime_moved_to.rfind('/'))));
  }
  using Outcome = probe::StartResult::Outcome;
  switch (result.outcome) {
    case Outcome::ready:
      break;
    case Outcome::died:
      throw Error(Exit::remote,
                  fmt::format("Jupyter failed to start in container '{}'; the end of its log{}:",
                              o.container, result.log.empty() ? "" : " (" + result.log + ")"),
                  "fix the cause above; extra Jupyter options go after --", result.detail);
    case Outcome::slow:
      roll_back(host, o.container, result.pid, "", ctx.ui());
      throw Error(Exit::timeout,
                  fmt::format("Jupyter did not start within {} s in container '{}' (stopped it); "
                              "the end of its log:",
                              o.timeout_s, o.container),
                  "raise --timeout if the container is just slow", result.detail);
    case Outcome::failed:
      if (result.exec_rc && *result.exec_rc != 0 && result.pid > 0) {
        throw Error(Exit::remote,
                    fmt::format("Jupyter was starting in container '{}' when the command in the "
                                "container ended (docker exec exit {}): the container stopped or "
                                "the process was killed",
                                o.container, *result.exec_rc),
                    fmt::format("check the container (docker ps -a), then try again"));
      }
      if (result.detail.starts_with("dir ")) {
        throw Error(
            Exit::remote,
            fmt::format("directory '{}' does not exist in container '{}'", spec.dir, o.container),
            "pass an existing directory with --dir");
      }
      if (result.detail.starts_with("docker-missing")) {
        throw Error(Exit::remote, fmt::format("docker is not installed on {}", host_name));
      }
      throw Error(
          Exit::remote,
          fmt::format("cannot start Jupyter in container '{}': {}", o.container,
                      result.detail.empty() ? "no report from the container" : result.detail));
  }
  // From here on Jupyter runs: any failure (an interrupt included) must stop it again.
  SessionRecord record;
  try {
    const auto& rt = *result.runtime;
    if (rt.port != port) {
      roll_back(host, o.container, result.pid, rt.file, ctx.ui());
      throw Error(
          Exit::remote,
          fmt::format("Jupyter listens on port {} instead of {}; stopped it", rt.port, port),
          "remove --port/--ServerApp.port from the extra Jupyter options");
    }
    ctx.ui().trace(fmt::format("runtime file {} appeared; checking /api/status", rt.file));

    // The server must answer, with our token, at the address a tunnel will use.
    remote::Health health;
    auto ready_by = ssh::deadline_in(std::chrono::seconds(std::min(o.timeout_s, 30)));
    while (true) {
      health = host.status(*address, port, rt.base_url, token, ready_by, o.container);
      if (health.answers() || health.refuses_token() || ssh::Clock::now() >= ready_by) {
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (health.refuses_token()) {
      // Say which line of the image's config does it, so that the fix is one edit.
      auto config = host.jupyter_config(o.container, ssh::deadline_in(25s));
      roll_back(host, o.container, result.pid, rt.file, ctx.ui());
      if (auto line = jupyter::token_override(config)) {
        throw Error(
            Exit::remote,
            fmt::format("Jupyter started in '{}' but refuses jl's token (HTTP {}): {} sets "
                        "{}, and a token in a config file beats the one jl gives it "
                        "(stopped it)",
                        o.container, health.http_status, line->file, jupyter::describe(*line)),
            fmt::format("remove that line from {} in the image (or mount a config "
                        "without it), then run jl up again",
                        line->file));
      }
      throw Error(Exit::remote,
                  fmt::format("Jupyter started in '{}' but refuses jl's token (HTTP {}) (stopped "
                              "it)",
                              o.container, health.http_status),
                  fmt::format("something in the image's Jupyter config replaces jl's token; "
                              "see: jl doctor {}{}",
                              o.container, config.read ? "" : " (" + config.error + ")"));
    }
    if (!health.answers()) {
      roll_back(host, o.container, result.pid, rt.file, ctx.ui());
      throw Error(
          Exit::remote,
          fmt::format("Jupyter started in '{}' but does not answer at {}:{}: {} (stopped it)",
                      o.container, *address, port, health.detail));
    }

    record.host = host_name;
    record.ssh_config = ssh_config;
    record.container = o.container;
    record.container_id = probe.container->id;
    record.app = std::string(jupyter::to_string(app));
    record.server_version = rt.version.empty()
                                ? host.version(*address, port, rt.base_url, ssh::deadline_in(5s))
                                : rt.version;
    record.legacy = rt.legacy;
    record.address = *address;
    record.port = port;
    record.base_url = rt.base_url;
    record.token = token;
    record.pid = result.pid;
    record.runtime_file = rt.file;
    record.log = result.log;
    record.started_by_jl = true;
    record.started_at = now_iso8601();
    // Keep the session's local port across server restarts, so that browser tabs stay valid.
    auto known = ctx.store().load();
    if (const auto* before = known.find(host_name, o.container)) {
      record.local_port = before->local_port;
    }
    try {
      ctx.store().update([&](State& s) { s.upsert(record); });
    } catch (...) {
      roll_back(host, o.container, result.pid, rt.file, ctx.ui());
      throw;
    }
  } catch (...) {
    roll_back(host, o.container, result.pid, result.runtime ? result.runtime->file : std::string{},
              ctx.ui());
    throw;
  }
  return StartOutcome{record, false, seconds_since(started)};
}

nlohmann::json session_json(const SessionRecord& s, bool show_token) {
  return {
      {"host", s.host},
      {"container", s.container},
      {"container_id", s.container_id},
      {"app", s.app},
      {"server_version", s.server_version},
      {"address", s.address},
      {"port", s.port},
      {"pid", s.pid},
      {"base_url", s.base_url},
      {"token", show_token ? s.token : jupyter::mask_token(s.token)},
      {"started_at", s.started_at},
      {"started_by_jl", s.started_by_jl},
  };
}

nlohmann::json start_json(const StartOutcome& outcome) {
  auto j = session_json(outcome.record, false);
  j["reused"] = outcome.reused;
  return j;
}

void report_start(Context& ctx, const StartOutcome& outcome) {
  report(ctx, outcome.record, outcome.reused, outcome.seconds);
}

int run_start(Context& ctx, const StartOptions& options) {
  StartOptions o = options;
  validate_start(o);
  const std::string host_name = ctx.require_host();
  resolve_start(ctx, o, host_name);
  validate_start(o);
  const auto ssh_config = ctx.ssh_config();
  auto lock =
      ctx.store().lock_session(host_name, o.container, std::chrono::seconds(o.timeout_s + 30));
  auto session = ctx.connect(host_name, ssh_config);
  report_start(ctx, start_on(ctx, session, host_name, ssh_config, o));
  return 0;
}

void add_start_options(CLI::App* sub, StartOptions& options) {
  sub->add_option("CONTAINER", options.container, "Name of a running container")->required();
  sub->add_option("--port", options.flags.port,
                  "Port inside the container (default: 8888, or the next free one)")
      ->check(CLI::Range(1, 65535))
      ->type_name("N");
  sub->add_option("--dir", options.flags.dir,
                  "Directory to serve (default: the container's working directory)")
      ->type_name("PATH");
  sub->add_option("--app", options.flags.app,
                  "auto (lab, else notebook, else server; the default), lab, notebook or server")
      ->check(CLI::IsMember({"auto", "lab", "notebook", "server"}))
      ->type_name("APP");
  sub->add_option("--timeout", options.flags.timeout,
                  "Seconds to wait for Jupyter to start (default: 60)")
      ->check(CLI::Range(1, 3600))
      ->type_name("SECONDS");
  sub->footer(
      "Arguments after -- are passed to Jupyter. Defaults for every option can be set in the "
      "config file, per host and per container: see `jl config show`.");
}

void take_passthrough(Dispatch& dispatch, StartOptions& options) {
  dispatch.takes_passthrough = true;
  if (dispatch.passthrough) {
    options.flags.jupyter_args = *dispatch.passthrough;
  }
}

void setup_start(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<StartOptions>();
  auto* sub = app.add_subcommand(
      "start",
      "Start JupyterLab detached in a running container (or reuse the one that runs)\n"
      "  jl start cont1\n"
      "  jl start cont1 --port 8890 --dir /workspace -- --ServerApp.terminals_enabled=False");
  add_start_options(sub, *options);
  sub->callback([options, &dispatch] {
    take_passthrough(dispatch, *options);
    dispatch.run = [options](Context& ctx) { return run_start(ctx, *options); };
  });
}

}  // namespace jl::cmd
