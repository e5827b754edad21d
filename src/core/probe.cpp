#include "jl/core/probe.hpp"

#include "jl/core/problem.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::probe {

namespace {

std::string inner(std::string_view body) {
  std::string s = "n=$1\n";
  s += scripts::prelude();
  s += body;
  return s;
}

}  // namespace

std::string_view container_prelude() {
  return scripts::prelude();
}

namespace {

using shell::sh_c;

}  // namespace

std::vector<Section> split_sections(std::string_view output, std::string_view nonce) {
  std::vector<Section> out;
  const std::string prefix = fmt::format("@@{} ", nonce);
  Section current;
  bool have_current = false;
  for (auto line : text::lines(output)) {
    if (line.starts_with(prefix)) {
      if (have_current || !current.body.empty()) {
        out.push_back(std::move(current));
      }
      current = Section{};
      have_current = true;
      auto rest = line.substr(prefix.size());
      auto space = rest.find(' ');
      current.kind = std::string(rest.substr(0, space));
      if (space != std::string_view::npos) {
        current.rest = std::string(rest.substr(space + 1));
        for (auto w : text::fields(current.rest)) {
          current.args.emplace_back(w);
        }
      }
      continue;
    }
    current.body.append(line);
    current.body += '\n';
  }
  if (have_current || !current.body.empty()) {
    out.push_back(std::move(current));
  }
  return out;
}

ContainerInfo parse_inspect(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_array() && j.size() == 1) {
    j = j[0];
  }
  if (j.is_discarded() || !j.is_object()) {
    throw std::runtime_error("docker inspect did not print a JSON object");
  }
  auto str = [](const nlohmann::json& o, const char* key) -> std::string {
    if (!o.is_object()) {
      return {};
    }
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  auto obj = [](const nlohmann::json& o, const char* key) -> const nlohmann::json& {
    static const nlohmann::json empty = nlohmann::json::object();
    if (!o.is_object()) {
      return empty;
    }
    auto it = o.find(key);
    return it != o.end() && it->is_object() ? *it : empty;
  };
  ContainerInfo info;
  info.name = str(j, "Name");
  if (!info.name.empty() && info.name.front() == '/') {
    info.name.erase(0, 1);
  }
  info.id = str(j, "Id");
  const auto& state = obj(j, "State");
  info.status = str(state, "Status");
  auto running = state.find("Running");
  info.running = running != state.end() && running->is_boolean() && running->get<bool>();
  info.user = str(obj(j, "Config"), "User");
  info.network_mode = str(obj(j, "HostConfig"), "NetworkMode");
  const auto& networks = obj(obj(j, "NetworkSettings"), "Networks");
  for (const auto& [name, net] : networks.items()) {
    auto ip = str(net, "IPAddress");
    if (!ip.empty()) {
      info.networks.emplace_back(name, ip);
    }
  }
  if (info.id.empty() && info.name.empty()) {
    throw std::runtime_error("docker inspect printed an object without Id or Name");
  }
  return info;
}

std::optional<std::string> server_address(const ContainerInfo& info) {
  if (info.network_mode == "host") {
    return "127.0.0.1";
  }
  // Prefer the network the container was started on, then any with an address.
  for (const auto& [name, ip] : info.networks) {
    if (name == info.network_mode || (info.network_mode == "default" && name == "bridge")) {
      return ip;
    }
  }
  if (!info.networks.empty()) {
    return info.networks.front().second;
  }
  return std::nullopt;
}

const std::vector<std::string>& docker_words(const std::vector<std::string>& docker) {
  if (docker.empty() || docker.front().empty()) {
    throw std::invalid_argument("the docker command is empty");
  }
  return docker;
}

namespace {

std::string outer_command(std::string_view nonce, std::string_view container, std::string script,
                          std::string_view mode, const std::vector<std::string>& docker) {
  std::vector<std::string> args = {std::string(nonce), std::string(container), std::move(script),
                                   std::string(mode)};
  const auto& words = docker_words(docker);
  args.insert(args.end(), words.begin(), words.end());
  return sh_c(scripts::probe_outer(), args);
}

}  // namespace

std::string probe_command(std::string_view nonce, std::string_view container,
                          const std::vector<std::string>& docker) {
  return outer_command(nonce, container, inner(scripts::probe_inner()), "probe", docker);
}

std::string probe_and_start_command(std::string_view nonce, std::string_view container,
                                    const std::vector<std::string>& docker) {
  std::string script = inner(scripts::probe_inner());
  script += scripts::start_inner();
  return outer_command(nonce, container, std::move(script), "plan", docker);
}

bool waiting_for_plan(std::string_view output, std::string_view nonce) {
  return output.find(fmt::format("@@{} plan?\n", nonce)) != std::string_view::npos;
}

std::string quit_plan() {
  return "quit\n";
}

std::string start_plan(const StartSpec& spec, std::string_view token) {
  std::vector<std::string> lines = {
      "start",
      std::string(jupyter::executable(spec.app)),
      spec.ip,
      std::to_string(spec.port),
      spec.dir,
      spec.allow_root ? "1" : "0",
      std::to_string(spec.timeout_s * 50),  // rounds of 20 ms
      std::to_string(spec.extra_args.size()),
  };
  lines.insert(lines.end(), spec.extra_args.begin(), spec.extra_args.end());
  lines.emplace_back(token);
  std::string out;
  for (const auto& l : lines) {
    if (l.find('\n') != std::string::npos || l.find('\r') != std::string::npos) {
      throw std::invalid_argument("a start parameter contains a line break");
    }
    out += l;
    out += '\n';
  }
  return out;
}

Docker classify_docker_error(std::string_view message) {
  if (message.find("permission denied") != std::string_view::npos) {
    return Docker::permission_denied;
  }
  if (message.find("Cannot connect to the Docker daemon") != std::string_view::npos ||
      message.find("Is the docker daemon running") != std::string_view::npos ||
      message.find("error during connect") != std::string_view::npos) {
    return Docker::daemon_down;
  }
  return Docker::error;
}

namespace {

bool says_no_such_container(std::string_view message) {
  return classify_container_error(message) == Problem::no_such_container;
}

}  // namespace

bool absorb(Facts& r, const Section& s) {
  if (s.kind == "docker-missing") {
    r.docker = Docker::missing;
  } else if (s.kind == "inspect") {
    auto body = std::string(text::trim(s.body));
    if (s.args.empty() || s.args.front() != "0") {
      if (says_no_such_container(body)) {
        r.no_such_container = true;
      } else {
        r.docker = classify_docker_error(body);
        r.docker_message = text::tail(body, 3);
      }
      return true;
    }
    // "true {json}" or "false {json}"
    auto space = body.find(' ');
    if (space == std::string::npos) {
      r.docker = Docker::error;
      r.docker_message = "unexpected output from docker inspect: " + text::tail(body, 1);
      return true;
    }
    try {
      r.container = parse_inspect(std::string_view(body).substr(space + 1));
    } catch (const std::exception& e) {
      r.docker = Docker::error;
      r.docker_message = e.what();
    }
  } else if (s.kind == "ps") {
    if (r.docker == Docker::ok) {
      for (auto line : text::lines(s.body)) {
        auto name = text::trim(line);
        if (!name.empty()) {
          r.running_containers.emplace_back(name);
        }
      }
    }
  } else if (s.kind == "exec") {
    // Output before the first inner marker is docker's complaint, if any.
    r.exec_error = std::string(text::trim(s.body));
  } else if (s.kind == "exec-rc") {
    r.exec_ok = !s.args.empty() && s.args.front() == "0";
  } else if (s.kind == "id") {
    if (!s.args.empty()) {
      r.uid = text::parse_int(s.args.front(), 0, 1LL << 32).value_or(-1);
    }
    if (s.args.size() > 1) {
      r.user = s.args[1];
    }
  } else if (s.kind == "home") {
    r.home = s.rest.empty() ? "/" : s.rest;
  } else if (s.kind == "app") {
    if (s.args.empty()) {
      return true;
    }
    std::string_view exe = s.args.front();
    for (auto app : {jupyter::App::lab, jupyter::App::notebook, jupyter::App::server}) {
      if (exe == jupyter::executable(app)) {
        r.apps.insert(app);
      }
    }
  } else if (s.kind == "runtime-dir") {
    r.runtime_dir = s.rest;
  } else if (s.kind == "runtime") {
    const auto& path = s.rest;
    std::string why;
    if (auto info = jupyter::parse_runtime_file(s.body, path, &why)) {
      r.servers.push_back(std::move(*info));
    } else {
      r.bad_runtime_files.push_back(fmt::format("{}: {}", path, why));
    }
  } else if (s.kind == "tcp") {
    r.busy_ports = jupyter::listening_ports(s.body);
  } else {
    return false;
  }
  return true;
}

Facts parse_probe(std::string_view output, std::string_view nonce) {
  Facts r;
  for (const auto& s : split_sections(output, nonce)) {
    absorb(r, s);
    if (r.docker == Docker::missing) {
      return r;
    }
  }
  if (r.exec_ok) {
    r.exec_error.clear();
  }
  return r;
}

StartResult parse_start(std::string_view output, std::string_view nonce) {
  StartResult r;
  bool seen_any = false;
  for (const auto& s : split_sections(output, nonce)) {
    if (s.kind.empty()) {
      r.detail = std::string(text::trim(s.body));
      continue;
    }
    seen_any = true;
    if (s.kind == "fail") {
      r.outcome = StartResult::Outcome::failed;
      r.detail = s.rest;
      return r;
    }
    if (s.kind == "started") {
      if (!s.args.empty()) {
        r.pid = text::parse_int(s.args.front(), 1, 1LL << 40).value_or(0);
      }
      if (auto space = s.rest.find(' '); space != std::string::npos) {
        r.log = s.rest.substr(space + 1);
      }
    } else if (s.kind == "new-runtime") {
      std::string why;
      const auto& path = s.rest;
      r.runtime = jupyter::parse_runtime_file(s.body, path, &why);
      if (r.runtime) {
        r.outcome = StartResult::Outcome::ready;
      } else {
        r.outcome = StartResult::Outcome::failed;
        r.detail = fmt::format("unreadable runtime file {}: {}", path, why);
      }
    } else if (s.kind == "exec-rc") {
      if (!s.args.empty()) {
        if (auto rc = text::parse_int(s.args.front(), -1000, 1000)) {
          r.exec_rc = static_cast<int>(*rc);
        }
      }
    } else if (s.kind == "runtime-moved") {
      if (s.args.size() >= 2) {
        r.runtime_unwritable = s.args[0];
        r.runtime_moved_to = s.args[1];
      }
    } else if (s.kind == "answer") {
      if (s.args.size() >= 2) {
        if (auto status = text::parse_int(s.args[0], 0, 999)) {
          r.answered = static_cast<int>(*status);
          r.answered_version = s.args[1] == "-" ? std::string{} : std::string(s.args[1]);
        }
      }
    } else if (s.kind == "died" || s.kind == "slow") {
      r.outcome = s.kind == "died" ? StartResult::Outcome::died : StartResult::Outcome::slow;
      r.detail = std::string(text::trim(s.body));
    }
  }
  if (!seen_any && r.detail.empty()) {
    r.detail = "no output from the start script";
  }
  return r;
}

std::optional<StartProgress> last_progress(std::string_view output, std::string_view nonce,
                                           int* count) {
  const std::string marker = fmt::format("@@{} waiting ", nonce);
  std::optional<StartProgress> last;
  int n = 0;
  for (auto line : text::lines(output)) {
    if (!line.starts_with(marker)) {
      continue;
    }
    auto rest = line.substr(marker.size());
    auto space = rest.find(' ');
    auto seconds = text::parse_int(rest.substr(0, space), 0, 1 << 24);
    if (!seconds) {
      continue;
    }
    ++n;
    last = StartProgress{static_cast<int>(*seconds),
                         space == std::string_view::npos
                             ? std::string{}
                             : std::string(text::trim(rest.substr(space + 1)))};
  }
  if (count != nullptr) {
    *count = n;
  }
  return last;
}

bool start_finished(std::string_view output, std::string_view nonce) {
  const std::string end = fmt::format("@@{} end", nonce);
  const std::string fail = fmt::format("@@{} fail", nonce);
  // The probe before the plan ends with an "end" of its own.
  auto plan = output.find(fmt::format("@@{} plan?\n", nonce));
  if (plan != std::string_view::npos) {
    output.remove_prefix(plan);
  }
  for (auto line : text::lines(output)) {
    if (line == end || line.starts_with(fail)) {
      return true;
    }
  }
  return false;
}

std::string stop_command(std::string_view nonce, std::string_view container, long long pid,
                         std::string_view runtime_file, bool shutdown_sent,
                         const std::vector<std::string>& docker) {
  std::vector<std::string> words = docker_words(docker);
  for (std::string w :
       {std::string("exec"), std::string(container), std::string("sh"), std::string("-c"),
        inner(scripts::stop_inner()), std::string("jl"), std::string(nonce), std::to_string(pid),
        std::string(runtime_file), std::string(shutdown_sent ? "1" : "0")}) {
    words.push_back(std::move(w));
  }
  return shell::join(words) + " 2>&1";
}

StopResult parse_stop(std::string_view output, std::string_view nonce) {
  StopResult r;
  for (const auto& s : split_sections(output, nonce)) {
    if (s.kind == "gone") {
      r.gone = true;
      const std::string how = s.args.empty() ? "" : s.args.front();
      r.how = how == "already"    ? StopHow::already
              : how == "shutdown" ? StopHow::shutdown
              : how == "term"     ? StopHow::term
              : how == "kill"     ? StopHow::kill
                                  : StopHow::unknown;
    } else if (s.kind == "alive") {
      r.gone = false;
      r.how = StopHow::alive;
    } else if (s.kind.empty()) {
      r.detail = std::string(text::trim(s.body));
    }
  }
  return r;
}

std::string_view describe(StopHow how, bool shutdown_sent) {
  switch (how) {
    case StopHow::container_gone:
      return "the container is gone or stopped";
    case StopHow::already:
      return "it had already ended";
    case StopHow::shutdown:
      return "shut down cleanly";
    case StopHow::term:
      return "terminated with SIGTERM";
    case StopHow::kill:
      return "killed with SIGKILL";
    case StopHow::alive:
      return "still running";
    case StopHow::job_cancelled:
      return "its Slurm job is cancelled";
    case StopHow::job_ended:
      return "its Slurm job had ended";
    case StopHow::unknown:
      break;
  }
  return shutdown_sent ? "shut down cleanly" : "stopped";
}

std::string container_id_command(std::string_view container,
                                 const std::vector<std::string>& docker) {
  std::vector<std::string> words = docker_words(docker);
  for (std::string w : {std::string("inspect"), std::string("--type"), std::string("container"),
                        std::string("--format"), std::string("{{.Id}}"), std::string(container)}) {
    words.push_back(std::move(w));
  }
  return shell::join(words) + " 2>&1";
}

bool valid_container_id(std::string_view id) {
  if (id.size() < 12 || id.size() > 64) {
    return false;
  }
  return id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Identity parse_container_id(int exit_status, std::string_view output, std::string_view recorded,
                            std::string* now_id) {
  const std::string_view out = text::trim(output);
  if (exit_status != 0) {
    return says_no_such_container(out) ? Identity::removed : Identity::unknown;
  }
  if (!valid_container_id(out)) {
    return Identity::unknown;
  }
  if (now_id != nullptr) {
    *now_id = std::string(out);
  }
  if (recorded.empty()) {
    return Identity::unknown;
  }
  return out == recorded ? Identity::same : Identity::recreated;
}

std::string short_id(std::string_view id) {
  return std::string(id.substr(0, 12));
}

IdentityWords identity_words(Identity identity, std::string_view container, std::string_view host,
                             std::string_view recorded, std::string_view now_id) {
  switch (identity) {
    case Identity::recreated:
      return {
          fmt::format("container '{}' on {} was re-created since jl started Jupyter in it "
                      "(it was {}, it is now {}): that server is gone with the old container",
                      container, host, short_id(recorded), short_id(now_id)),
          fmt::format("start Jupyter in the new container with: jl -H {} up {}", host, container)};
    case Identity::removed:
      return {fmt::format("container '{}' on {} no longer exists (jl started Jupyter in {}): "
                          "that server is gone with it",
                          container, host, short_id(recorded)),
              fmt::format("forget the session with: jl -H {} stop {}", host, container)};
    case Identity::same:
    case Identity::unknown:
      break;
  }
  return {};
}

}  // namespace jl::probe
