#include "jl/remote/host.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "jl/core/complete.hpp"
#include "jl/core/error.hpp"
#include "jl/core/http.hpp"
#include "jl/core/logs.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/core/text.hpp"
#include "jl/core/token.hpp"

namespace jl::remote {

Subject Host::subject(const std::string& container) const {
  Subject s;
  s.host = m_name;
  s.container = container;
  s.docker = m_docker;
  return s;
}

void Host::check_probe(const probe::Facts& r, const std::string& container,
                       const std::string& err) const {
  Subject s = subject(container);
  if (auto problem = plan::probe_problem(r, s, err)) {
    throw to_error(*problem, s);
  }
}

probe::Facts Host::probe(const std::string& container, ssh::Deadline deadline) {
  const std::string nonce = generate_nonce();
  auto exec = m_session.exec(probe::probe_command(nonce, container, m_docker), {}, deadline);
  auto r = probe::parse_probe(exec.out, nonce);
  check_probe(r, container, exec.err);
  return r;
}

Host::PendingStart Host::probe_for_start(const std::string& container, ssh::Deadline deadline) {
  const std::string nonce = generate_nonce();
  auto process =
      m_session.spawn(probe::probe_and_start_command(nonce, container, m_docker), deadline);
  bool asking = process.wait_for(
      [&](std::string_view out) { return probe::waiting_for_plan(out, nonce); }, deadline);
  if (!asking) {
    auto exec = process.finish(deadline);
    auto r = probe::parse_probe(exec.out, nonce);
    check_probe(r, container, exec.err);
    throw Error(Exit::remote, fmt::format("the probe of container '{}' ended early", container),
                text::tail(exec.out + exec.err, 1));
  }
  auto r = probe::parse_probe(process.out(), nonce);
  r.exec_ok = true;  // the script inside the container is talking to us
  r.exec_error.clear();
  check_probe(r, container, {});
  return PendingStart{std::move(process), nonce, std::move(r)};
}

probe::StartResult Host::start(PendingStart& pending, const probe::StartSpec& spec,
                               const std::string& token, ssh::Deadline deadline,
                               const std::function<void(const probe::StartProgress&)>& progress) {
  std::string plan;
  try {
    plan = probe::start_plan(spec, token);
  } catch (const std::invalid_argument&) {
    skip_start(pending, deadline);
    throw Error(Exit::usage, "Jupyter arguments and --dir cannot contain line breaks");
  }
  ssh::ExecResult exec;
  try {
    pending.process.write(plan, deadline);
    pending.process.close_stdin(deadline);
    int reported = 0;
    while (progress) {
      bool more = pending.process.wait_for(
          [&](std::string_view out) {
            int count = 0;
            probe::last_progress(out, pending.nonce, &count);
            return count > reported || probe::start_finished(out, pending.nonce);
          },
          deadline);
      const auto out = pending.process.out();
      if (!more || probe::start_finished(out, pending.nonce)) {
        break;
      }
      if (auto p = probe::last_progress(out, pending.nonce, &reported)) {
        progress(*p);
      }
    }
    exec = pending.process.finish(deadline);
  } catch (const Error&) {
    // Interrupted (or timed out) after the plan may have reached the container: find the
    // process it started, if any, and stop it, so that no server is left behind unrecorded.
    const std::string started = fmt::format("@@{} started ", pending.nonce);
    try {
      pending.process.wait_for(
          [&](std::string_view out) { return out.find(started) != std::string_view::npos; },
          ssh::deadline_in(std::chrono::seconds(3)));
    } catch (const Error&) {
      // Use what arrived so far.
    }
    auto partial = probe::parse_start(pending.process.out(), pending.nonce);
    if (partial.pid > 0) {
      wait_gone(spec.container, partial.pid, "", false, ssh::deadline_in(std::chrono::seconds(15)));
    }
    throw;
  }
  auto r = probe::parse_start(exec.out, pending.nonce);
  if (r.outcome == probe::StartResult::Outcome::failed && r.detail.empty()) {
    // Whatever docker or the shell said, without jl's own marker lines.
    std::string said;
    const std::string marker = "@@" + pending.nonce + " ";
    const std::string all = exec.err + exec.out;
    for (auto line : text::lines(all)) {
      if (!line.starts_with(marker) && !text::trim(line).empty()) {
        said += std::string(line) + "\n";
      }
    }
    r.detail = text::tail(said, 3);
  }
  return r;
}

void Host::skip_start(PendingStart& pending, ssh::Deadline deadline) {
  pending.process.write(probe::quit_plan(), deadline);
  pending.process.close_stdin(deadline);
  pending.process.finish(deadline);
}

jupyter::ConfigReport Host::jupyter_config(const std::string& container, ssh::Deadline deadline) {
  auto exec = m_session.exec(jupyter::config_command(container, m_docker), {}, deadline);
  return jupyter::parse_config_report(exec.out + exec.err);
}

Health Host::status(const std::string& address, int port, const std::string& base_url,
                    const std::string& token, ssh::Deadline deadline, std::string_view container) {
  Health h;
  auto req = http::request("GET", address, port, base_url + "api/status", token);
  auto tcp = m_session.tcp_exchange(address, port, req, deadline, http::response_complete);
  if (!tcp.opened) {
    const std::string where =
        container.empty() ? std::string{} : fmt::format("inside {}", container);
    h.detail = tcp.failure ? sshwords::describe_open_failure(*tcp.failure, address, port, where)
               : tcp.error.empty()
                   ? fmt::format("the SSH host cannot connect to {}:{}", address, port)
                   : tcp.error;
    return h;
  }
  h.reachable = true;
  auto resp = http::parse_response(tcp.data);
  if (!resp) {
    h.detail = tcp.data.empty() ? "connection closed without an answer" : "not an HTTP answer";
    return h;
  }
  h.http_status = resp->status;
  if (resp->status == 403 || resp->status == 401) {
    h.detail = "the server rejects the token";
  } else if (resp->status != 200) {
    h.detail = fmt::format("HTTP {}", resp->status);
  }
  return h;
}

std::string Host::version(const std::string& address, int port, const std::string& base_url,
                          ssh::Deadline deadline) {
  auto req = http::request("GET", address, port, base_url + "api", "");
  auto tcp = m_session.tcp_exchange(address, port, req, deadline, http::response_complete);
  if (!tcp.opened) {
    return {};
  }
  auto resp = http::parse_response(tcp.data);
  if (!resp || resp->status != 200) {
    return {};
  }
  auto j = nlohmann::json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("version") && j["version"].is_string()) {
    return j["version"].get<std::string>();
  }
  return {};
}

bool Host::request_shutdown(const std::string& address, int port, const std::string& base_url,
                            const std::string& token, ssh::Deadline deadline) {
  auto req = http::request("POST", address, port, base_url + "api/shutdown", token);
  auto tcp = m_session.tcp_exchange(address, port, req, deadline, http::response_complete);
  if (!tcp.opened) {
    return false;
  }
  auto resp = http::parse_response(tcp.data);
  return resp && resp->status >= 200 && resp->status < 300;
}

probe::StopResult Host::wait_gone(const std::string& container, long long pid,
                                  const std::string& runtime_file, bool shutdown_sent,
                                  ssh::Deadline deadline) {
  const std::string nonce = generate_nonce();
  auto exec = m_session.exec(
      probe::stop_command(nonce, container, pid, runtime_file, shutdown_sent, m_docker), {},
      deadline);
  auto r = probe::parse_stop(exec.out, nonce);
  if (!r.gone && r.how == probe::StopHow::unknown) {
    // docker exec itself failed: a container that is gone or stopped has no server left.
    std::string said = exec.out + exec.err;
    if (classify_container_error(said) != Problem::docker_failed) {
      r.gone = true;
      r.how = probe::StopHow::container_gone;
    } else if (r.detail.empty()) {
      r.detail = text::tail(said, 2);
    }
  }
  return r;
}

std::optional<std::vector<std::string>> Host::running_containers(ssh::Deadline deadline,
                                                                 std::string* why) {
  auto result = m_session.exec(complete::docker_ps_command(m_docker), "", deadline);
  if (result.exit_status != 0) {
    if (why != nullptr) {
      *why = fmt::format("exit {}: {}", result.exit_status, text::trim(result.err));
    }
    return std::nullopt;
  }
  return complete::parse_container_names(result.out);
}

doctor::Remote Host::doctor(const std::optional<std::string>& container, int port,
                            ssh::Deadline deadline) {
  const std::string nonce = generate_nonce();
  auto process = m_session.spawn(doctor::command(nonce, container, port, m_docker), deadline);
  process.close_stdin(deadline);
  std::string out;
  bool timed_out = false;
  try {
    out = process.finish(deadline).out;
  } catch (const Error& e) {
    if (e.code() != Exit::timeout) {
      throw;
    }
    timed_out = true;
    out = std::string(process.out());
  }
  auto r = doctor::parse(out, nonce);
  r.timed_out = timed_out;
  return r;
}

ssh::RemoteProcess Host::read_log(const std::string& nonce, const std::string& target,
                                  const std::string& log, int lines, bool follow,
                                  ssh::Deadline deadline) {
  return m_session.spawn(logs::command(nonce, target, log, lines, follow, m_docker), deadline);
}

probe::Identity Host::identify(const std::string& container, const std::string& recorded,
                               ssh::Deadline deadline, std::string* now_id) {
  auto exec = m_session.exec(probe::container_id_command(container, m_docker), {}, deadline);
  return probe::parse_container_id(exec.exit_status, exec.out + exec.err, recorded, now_id);
}

std::optional<Error> Host::replaced_container(const SessionRecord& s, ssh::Deadline deadline) {
  if (s.container_id.empty()) {
    return std::nullopt;
  }
  std::string now;
  const auto identity = identify(s.container, s.container_id, deadline, &now);
  auto words = probe::identity_words(identity, s.container, s.host, s.container_id, now);
  if (words.message.empty()) {
    return std::nullopt;
  }
  return Error(Exit::remote, words.message, words.hint);
}

}  // namespace jl::remote
