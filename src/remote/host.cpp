#include "jl/remote/host.hpp"

#include <fmt/format.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "jl/core/complete.hpp"
#include "jl/core/error.hpp"
#include "jl/core/http.hpp"
#include "jl/core/logs.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/random.hpp"

namespace jl::remote {

Subject Host::subject(const std::string& container) const {
  Subject s;
  s.host = m_name;
  s.container = container;
  s.docker = m_docker;
  return s;
}

Health Host::status(const std::string& address, int port, const std::string& base_url,
                    const std::string& token, ssh::Deadline deadline, std::string_view container) {
  return status_of(start_status(address, port, base_url, token, deadline).finish(deadline), address,
                   port, container);
}

ssh::TcpExchange Host::start_status(const std::string& address, int port,
                                    const std::string& base_url, const std::string& token,
                                    ssh::Deadline deadline) {
  return m_session.start_tcp_exchange(
      address, port, http::request_kept("GET", address, port, base_url + "api/status", token),
      deadline, http::response_complete, true);
}

Health Host::status_of(const ssh::TcpResult& tcp, const std::string& address, int port,
                       std::string_view container) {
  Health h;
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
  } else {
    auto date = resp->headers.find("date");
    h.activity =
        jupyter::parse_activity(resp->body, date == resp->headers.end() ? "" : date->second,
                                static_cast<long long>(std::time(nullptr)));
  }
  return h;
}

std::string Host::version(const std::string& address, int port, const std::string& base_url,
                          ssh::Deadline deadline) {
  auto req = http::request_kept("GET", address, port, base_url + "api", "");
  auto tcp = m_session.tcp_exchange(address, port, req, deadline, http::response_complete, true);
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

Host::UserIds Host::user_ids(ssh::Deadline deadline) {
  // One marked line: a login shell may print greetings of its own around it.
  auto exec = m_session.exec(
      shell::sh_c("printf 'jl-ids %s %s %s\\n' \"$(id -u)\" \"$(id -g)\" \"$HOME\"", {}), {},
      deadline);
  UserIds ids;
  for (auto line : text::lines(exec.out)) {
    if (!line.starts_with("jl-ids ")) {
      continue;
    }
    auto f = text::fields(line);
    if (f.size() >= 4) {
      ids.uid = text::parse_int(f[1], 0, (1LL << 31) - 1).value_or(-1);
      ids.gid = text::parse_int(f[2], 0, (1LL << 31) - 1).value_or(-1);
      const auto home_at = line.find(f[3]);
      ids.home = std::string(line.substr(home_at));
    }
  }
  if (ids.uid < 0 || ids.gid < 0 || !ids.home.starts_with('/')) {
    throw Error(Exit::remote, fmt::format("cannot learn the SSH user's ids on {}: {}", m_name,
                                          text::tail(exec.err.empty() ? exec.out : exec.err, 1)));
  }
  return ids;
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

gpus::Report Host::gpus(ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
  auto exec = m_session.exec(gpus_command(nonce), {}, deadline);
  return gpus_of(exec.out, exec.err, nonce);
}

std::string Host::gpus_command(const std::string& nonce) const {
  return gpus::command(nonce, m_docker);
}

gpus::Report Host::gpus_of(const std::string& out, const std::string& err,
                           const std::string& nonce) {
  auto r = gpus::parse(out, nonce);
  if (r.tool == gpus::Report::Tool::unknown) {
    // The script did not get as far as nvidia-smi: say what the shell said.
    r.tool = gpus::Report::Tool::failed;
    r.error = text::tail(text::trim(err.empty() ? out : err), 1);
  }
  return r;
}

std::vector<gpus::Use> Host::gpu_usage(ssh::Deadline deadline, const std::string& asked) {
  auto r = gpus(deadline);
  Subject s = subject("");
  s.app = asked;
  if (r.tool == gpus::Report::Tool::missing) {
    throw to_error(Problem::no_gpu_driver, s);
  }
  if (r.tool != gpus::Report::Tool::ok) {
    s.detail = r.error;
    s.port = r.exit_status;
    throw to_error(Problem::gpu_query_failed, s);
  }
  return gpus::usage(r);
}

doctor::Remote Host::doctor(const std::optional<std::string>& container, int port,
                            ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
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

}  // namespace jl::remote
