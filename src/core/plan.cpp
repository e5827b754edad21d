#include "jl/core/plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "jl/core/text.hpp"

namespace jl::plan {

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
  if (ip == container.name || (!ip.empty() && container.id.starts_with(ip))) {
    return container_address;
  }
  return std::nullopt;
}

std::optional<Problem> probe_problem(const probe::Facts& r, Subject& s, const std::string& err) {
  switch (r.docker) {
    case probe::Docker::ok:
      break;
    case probe::Docker::missing:
      return Problem::docker_missing;
    case probe::Docker::permission_denied:
      s.detail = r.docker_message;
      return Problem::docker_permission_denied;
    case probe::Docker::daemon_down:
      s.detail = r.docker_message;
      return Problem::docker_daemon_down;
    case probe::Docker::error:
      s.detail = r.docker_message;
      return Problem::docker_failed;
  }
  if (r.no_such_container) {
    s.names = r.running_containers;
    return Problem::no_such_container;
  }
  if (!r.container) {
    s.detail = err;
    return Problem::container_uninspectable;
  }
  if (!r.container->running) {
    s.detail = r.container->status.empty() ? "unknown" : r.container->status;
    return Problem::container_not_running;
  }
  if (!r.exec_ok) {
    s.detail = r.exec_error;
    if (r.exec_error.find("is not running") != std::string::npos) {
      return Problem::container_stopped_midway;
    }
    return r.exec_error.find("executable file not found") != std::string::npos
               ? Problem::no_shell
               : Problem::exec_failed;
  }
  return std::nullopt;
}

std::vector<std::string> idle_arguments(jupyter::App app, int seconds) {
  const int interval = std::clamp(seconds / 4, 10, 300);
  std::vector<std::string> args = {
      fmt::format("--MappingKernelManager.cull_idle_timeout={}", seconds),
      fmt::format("--MappingKernelManager.cull_interval={}", interval),
      "--MappingKernelManager.cull_connected=True",
      fmt::format("--ServerApp.shutdown_no_activity_timeout={}", seconds),
  };
  if (app == jupyter::App::notebook) {
    args.push_back(fmt::format("--NotebookApp.shutdown_no_activity_timeout={}", seconds));
  }
  return args;
}

StartPlan plan_start(const probe::Facts& facts, const Settings& settings, const Subject& where,
                     const SessionRecord* known) {
  StartPlan plan;
  auto refuse = [&](Problem p, Subject s) {
    plan.otherwise = Refusal{p, std::move(s)};
    return plan;
  };
  for (const auto& bad : facts.bad_runtime_files) {
    plan.warnings.push_back(fmt::format("ignoring a runtime file in {}: {}", where.container, bad));
  }
  if (!facts.container) {
    Subject s = where;
    return refuse(Problem::container_uninspectable, s);
  }
  const auto& container = *facts.container;
  const auto address = probe::server_address(container);
  if (!address) {
    Subject s = where;
    s.detail = container.network_mode;
    return refuse(Problem::no_address, s);
  }

  // A session recorded in an earlier container of this name: say so, its server is gone.
  if (known != nullptr && !known->container_id.empty() && known->container_id != container.id) {
    plan.warnings.push_back(probe::identity_words(probe::Identity::recreated, where.container,
                                                  where.host, known->container_id, container.id)
                                .message);
  }

  // Reuse a server that already runs and answers, whoever started it.
  for (const auto& server : facts.servers) {
    auto reach = reachable_address(server, container, *address);
    if (!reach) {
      plan.warnings.push_back(fmt::format(
          "a Jupyter server (pid {}) in {} listens on {}, which the host cannot reach; not "
          "reusing it",
          server.pid, where.container, server.sock.empty() ? server.hostname : server.sock));
      continue;
    }
    if (server.token.empty()) {
      plan.warnings.push_back(
          fmt::format("a Jupyter server (pid {}) in {} has no token{}; not reusing it", server.pid,
                      where.container, server.password ? " (it uses a password)" : ""));
      continue;
    }
    Candidate candidate{server, *reach, {}};
    const bool known_server = known != nullptr && known->pid == server.pid &&
                              known->port == server.port && known->started_by_jl;
    const std::optional<int> has = known_server && known->idle_timeout_s > 0
                                       ? std::optional<int>(known->idle_timeout_s)
                                       : std::nullopt;
    if (settings.idle_timeout_s && settings.idle_timeout_s != has) {
      candidate.idle_differs = fmt::format(
          "the Jupyter server that runs in {} (pid {}) was started {}; it keeps that: run jl "
          "stop {} first to start one with --idle-timeout {}",
          where.container, server.pid,
          has            ? fmt::format("with --idle-timeout {}", text::format_duration(*has))
          : known_server ? std::string("without an idle timeout")
                         : std::string("by someone else, with its own idle settings"),
          where.container, text::format_duration(*settings.idle_timeout_s));
    }
    plan.reuse.push_back(std::move(candidate));
  }

  // The app.
  std::optional<jupyter::App> app;
  if (settings.app) {
    if (facts.apps.contains(*settings.app)) {
      app = settings.app;
    } else if (facts.apps.empty()) {
      return refuse(Problem::jupyter_missing, where);
    } else {
      Subject s = where;
      s.app = jupyter::executable(*settings.app);
      for (auto a : facts.apps) {
        s.names.emplace_back(jupyter::to_string(a));
      }
      return refuse(Problem::app_missing, s);
    }
  } else {
    app = jupyter::choose_app(facts.apps);
    if (!app) {
      return refuse(Problem::jupyter_missing, where);
    }
  }

  // The port: never let Jupyter move it behind jl's back.
  int port = 0;
  if (settings.port) {
    if (facts.busy_ports.contains(*settings.port)) {
      Subject s = where;
      s.port = *settings.port;
      return refuse(Problem::port_busy, s);
    }
    port = *settings.port;
  } else {
    auto free = jupyter::first_free_port(facts.busy_ports, 8888);
    if (!free) {
      return refuse(Problem::no_free_port, where);
    }
    port = *free;
  }

  probe::StartSpec spec;
  spec.container = where.container;
  spec.app = *app;
  spec.ip = *address;
  spec.port = port;
  spec.dir = settings.dir;
  spec.allow_root = facts.uid == 0;
  spec.timeout_s = settings.timeout_s;
  spec.extra_args = settings.extra_args;
  if (settings.idle_timeout_s) {
    // Before the user's own arguments, so that those win.
    auto idle = idle_arguments(*app, *settings.idle_timeout_s);
    spec.extra_args.insert(spec.extra_args.begin(), idle.begin(), idle.end());
    spec.idle_timeout_s = *settings.idle_timeout_s;
  }
  plan.otherwise = std::move(spec);
  return plan;
}

SessionRecord reused_record(const Origin& origin, const Candidate& candidate,
                            const probe::Facts& facts, const SessionRecord* known,
                            const std::string& version, const std::string& now) {
  const auto& server = candidate.server;
  const std::string id = facts.container ? facts.container->id : std::string{};
  SessionRecord record;
  if (known != nullptr && known->pid == server.pid && known->port == server.port &&
      (known->container_id.empty() || known->container_id == id)) {
    record = *known;  // keep what jl knew (start time, log, local port)
  } else {
    record.started_at = now;
    record.started_by_jl = false;
  }
  record.host = origin.host;
  record.ssh_config = origin.ssh_config;
  record.container = origin.container;
  record.job_id = origin.job_id;
  record.node = origin.node;
  record.container_id = id;
  if (server.legacy) {
    record.app = "notebook";
  } else if (record.app.empty()) {
    // A jupyter_server serves every installed front end; name the best one.
    record.app = jupyter::to_string(jupyter::choose_app(facts.apps).value_or(jupyter::App::server));
  }
  record.server_version = server.version.empty() ? version : server.version;
  record.legacy = server.legacy;
  record.address = candidate.address;
  record.port = server.port;
  record.base_url = server.base_url;
  record.token = server.token;
  record.pid = server.pid;
  record.runtime_file = server.file;
  return record;
}

SessionRecord started_record(const Origin& origin, const probe::StartSpec& spec,
                             const probe::StartResult& result, const probe::Facts& facts,
                             const SessionRecord* known, const std::string& token,
                             const std::string& version, const std::string& now) {
  const auto& rt = result.runtime.value();
  SessionRecord record;
  record.host = origin.host;
  record.ssh_config = origin.ssh_config;
  record.container = origin.container;
  record.job_id = origin.job_id;
  record.node = origin.node;
  record.container_id = facts.container ? facts.container->id : std::string{};
  record.app = std::string(jupyter::to_string(spec.app));
  record.server_version = rt.version.empty() ? version : rt.version;
  record.legacy = rt.legacy;
  record.address = spec.ip;
  record.port = spec.port;
  record.base_url = rt.base_url;
  record.token = token;
  record.pid = result.pid;
  record.runtime_file = rt.file;
  record.log = result.log;
  record.idle_timeout_s = spec.idle_timeout_s;
  record.started_by_jl = true;
  record.started_at = now;
  if (known != nullptr) {
    record.local_port = known->local_port;
  }
  return record;
}

Error start_error(const probe::StartResult& result, const probe::StartSpec& spec,
                  const Subject& where) {
  using Outcome = probe::StartResult::Outcome;
  const auto& c = where.container;
  switch (result.outcome) {
    case Outcome::ready:
      break;
    case Outcome::died:
      return Error(Exit::remote,
                   fmt::format("Jupyter failed to start in container '{}'; the end of its log{}:",
                               c, result.log.empty() ? "" : " (" + result.log + ")"),
                   "fix the cause above; extra Jupyter options go after --", result.detail);
    case Outcome::slow:
      return Error(Exit::timeout,
                   fmt::format("Jupyter did not start within {} s in container '{}' (stopped it); "
                               "the end of its log:",
                               spec.timeout_s, c),
                   "raise --timeout if the container is just slow", result.detail);
    case Outcome::failed:
      if (result.exec_rc && *result.exec_rc != 0 && result.pid > 0) {
        return Error(Exit::remote,
                     fmt::format("Jupyter was starting in container '{}' when the command in the "
                                 "container ended (docker exec exit {}): the container stopped or "
                                 "the process was killed",
                                 c, *result.exec_rc),
                     "check the container (docker ps -a), then try again");
      }
      if (result.detail.starts_with("dir ")) {
        Subject s = where;
        s.dir = spec.dir;
        return to_error(Problem::dir_missing, s);
      }
      if (result.detail.starts_with("docker-missing")) {
        return to_error(Problem::docker_missing, where);
      }
      break;
  }
  return Error(Exit::remote,
               fmt::format("cannot start Jupyter in container '{}': {}", c,
                           result.detail.empty() ? "no report from the container" : result.detail));
}

std::vector<int> local_port_order(std::optional<int> requested, int previous, int remote_port) {
  if (requested) {
    return {*requested};
  }
  std::vector<int> order;
  if (previous > 0) {
    order.push_back(previous);
  }
  const int start = remote_port > 0 ? remote_port : 8888;
  for (int p = start; p < start + 200 && p <= 65535; ++p) {
    if (p != previous) {
      order.push_back(p);
    }
  }
  order.push_back(0);
  return order;
}

}  // namespace jl::plan
