#include "jl/core/doctor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::doctor {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::info:
      return "info";
    case Status::warn:
      return "warn";
    case Status::fail:
      return "fail";
    case Status::skip:
      return "skip";
  }
  return "?";
}

bool Report::ok() const {
  return std::none_of(checks.begin(), checks.end(),
                      [](const Check& c) { return c.status == Status::fail; });
}

Check& Report::add(std::string name, Status status, std::string detail, std::string fix) {
  checks.push_back(Check{std::move(name), status, std::move(detail), std::move(fix)});
  return checks.back();
}

namespace {

std::string label(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), '-', ' ');
  return s;
}

std::string shown(Status s) {
  return s == Status::fail ? std::string("FAIL") : std::string(to_string(s));
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string render_check(const Check& c) {
  // Wide enough for every check's name, so that lines printed one by one line up.
  constexpr int kWidth = 14;
  std::string out =
      fmt::format("{:<5} {:<{}}  {}\n", shown(c.status), label(c.name), kWidth, c.detail);
  if (!c.fix.empty()) {
    out += fmt::format("{:<5} {:<{}}  fix: {}\n", "", "", kWidth, c.fix);
  }
  return out;
}

std::string render_summary(const Report& report) {
  std::size_t failed = 0;
  std::size_t warned = 0;
  for (const auto& c : report.checks) {
    failed += c.status == Status::fail ? 1 : 0;
    warned += c.status == Status::warn ? 1 : 0;
  }
  if (failed == 0 && warned == 0) {
    return fmt::format("doctor: all checks passed ({:.1f} s)\n", report.seconds);
  }
  return fmt::format("doctor: {} failed, {} ({:.1f} s)\n", failed,
                     plural(warned, "warning", "warnings"), report.seconds);
}

std::string render_text(const Report& report, bool problems_only) {
  std::string out;
  for (const auto& c : report.checks) {
    if (!problems_only || c.status == Status::fail || c.status == Status::warn) {
      out += render_check(c);
    }
  }
  if (!problems_only) {
    out += render_summary(report);
  }
  return out;
}

nlohmann::json to_json(const Report& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : report.checks) {
    checks.push_back({{"name", c.name},
                      {"status", std::string(to_string(c.status))},
                      {"detail", c.detail},
                      {"fix", c.fix.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.fix)}});
  }
  return {{"ok", report.ok()},
          {"host", report.host},
          {"container", report.container ? nlohmann::json(*report.container) : nullptr},
          {"seconds", static_cast<double>(static_cast<long long>(report.seconds * 1000)) / 1000},
          {"checks", std::move(checks)}};
}

std::string command(std::string_view nonce, const std::optional<std::string>& container, int port,
                    const std::vector<std::string>& docker) {
  const auto& command_words = probe::docker_words(docker);
  std::vector<std::string> words = {"sh",
                                    "-c",
                                    std::string(scripts::doctor_outer()),
                                    "jl",
                                    std::string(nonce),
                                    container.value_or(""),
                                    std::to_string(port),
                                    "n=$1\n" + std::string(probe::container_prelude()) +
                                        std::string(jupyter::config_reader_function()) +
                                        std::string(scripts::doctor_inner())};
  words.insert(words.end(), command_words.begin(), command_words.end());
  return shell::join(words);
}

Remote parse(std::string_view output, std::string_view nonce) {
  Remote r;
  auto& f = r.facts;
  for (const auto& s : probe::split_sections(output, nonce)) {
    auto body = std::string(text::trim(s.body));
    if (s.kind == "ps") {
      if (!s.args.empty() && s.args.front() == "0") {
        r.docker_listed = true;
        probe::absorb(f, s);
      } else {
        f.docker = probe::classify_docker_error(body);
        f.docker_message = text::tail(body, 3);
        if (s.args.empty() || s.args.front() == "124") {
          f.docker = probe::Docker::error;
          f.docker_message = "docker did not answer within 10 s";
        }
      }
    } else if (s.kind == "docker-version") {
      r.docker_version = s.rest;
    } else if (s.kind == "inspect") {
      r.inspected = true;
      probe::absorb(f, s);
    } else if (s.kind == "exec-rc") {
      if (!r.exec_started && f.exec_error.empty()) {
        f.exec_error = fmt::format("docker exec ended with status {}", s.rest);
      }
    } else if (s.kind == "id") {
      r.exec_started = true;
      probe::absorb(f, s);
    } else if (s.kind == "app" && s.args.size() >= 2) {
      r.apps.push_back(App{s.args[0], s.rest.substr(s.args[0].size() + 1), {}});
      probe::absorb(f, s);
    } else if (s.kind == "app-version" && !s.args.empty()) {
      for (auto& app : r.apps) {
        if (app.executable == s.args.front()) {
          app.version = s.rest.size() > app.executable.size()
                            ? std::string(text::trim(s.rest.substr(app.executable.size())))
                            : std::string{};
        }
      }
    } else if (s.kind == "jupyter-config") {
      r.jupyter_config = jupyter::parse_config_report(s.body);
    } else if (s.kind == "port") {
      r.port_checked = true;
    } else if (s.kind == "holder" && !s.args.empty()) {
      r.port_holders.push_back(
          PortHolder{text::parse_int(s.args.front(), 1, 1LL << 40).value_or(0), body});
    } else if (s.kind == "gpu") {
      auto lines = text::lines(s.body);
      if (!s.args.empty() && s.args.front() == "0") {
        r.gpu = Remote::Gpu::listed;
        for (auto line : lines) {
          if (!text::trim(line).empty()) {
            r.gpus.emplace_back(text::trim(line));
          }
        }
      } else {
        r.gpu = Remote::Gpu::failed;
        r.gpu_error = text::tail(body, 1);
      }
    } else if (s.kind == "gpu-none") {
      r.gpu = Remote::Gpu::none;
    } else if (s.kind == "end") {
      r.complete = true;
    } else {
      probe::absorb(f, s);  // docker-missing, exec, runtime, tcp
    }
  }
  // The script inside the container talking is what counts (as for start's probe).
  f.exec_ok = r.exec_started;
  if (f.exec_ok) {
    f.exec_error.clear();
  }
  return r;
}

std::set<unsigned long long> listening_inodes(std::string_view proc_net_tcp, int port) {
  std::set<unsigned long long> out;
  const std::string suffix = fmt::format(":{:04X}", port);
  for (auto line : text::lines(proc_net_tcp)) {
    auto f = text::fields(line);
    if (f.size() < 10 || f[3] != "0A" || !f[1].ends_with(suffix)) {
      continue;
    }
    if (auto inode = text::parse_int(f[9], 0, 1LL << 62)) {
      out.insert(static_cast<unsigned long long>(*inode));
    }
  }
  return out;
}

}  // namespace jl::doctor
