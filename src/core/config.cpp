#include "jl/core/config.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "jl/core/error.hpp"
#include "jl/core/text.hpp"

namespace jl {

Env Env::from_process(char** envp) {
  Env env;
  for (char** p = envp; p != nullptr && *p != nullptr; ++p) {
    std::string_view kv(*p);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    env.m_vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::optional<std::string> Env::get(std::string_view name) const {
  auto it = m_vars.find(name);
  if (it == m_vars.end() || it->second.empty()) {
    return std::nullopt;
  }
  return it->second;
}

namespace {

std::string xdg_dir(const Env& env, std::string_view var, std::string_view fallback) {
  // The XDG spec says relative paths in these variables are invalid and must be ignored.
  if (auto v = env.get(var); v && v->front() == '/') {
    return *v + "/jl";
  }
  auto home = env.get("HOME").value_or("/");
  if (home.size() > 1 && home.back() == '/') {
    home.pop_back();
  }
  return fmt::format("{}/{}/jl", home == "/" ? "" : home, fallback);
}

}  // namespace

std::string config_dir(const Env& env) {
  return xdg_dir(env, "XDG_CONFIG_HOME", ".config");
}
std::string state_dir(const Env& env) {
  return xdg_dir(env, "XDG_STATE_HOME", ".local/state");
}

FileConfig parse_config(std::string_view text, std::string_view origin) {
  FileConfig cfg;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    throw Error(Exit::usage, fmt::format("{}: not valid JSON", origin),
                "fix the file or remove it; jl works without a config file");
  }
  if (!j.is_object()) {
    throw Error(Exit::usage, fmt::format("{}: expected a JSON object at the top level", origin));
  }
  auto string_key = [&](const char* key, std::optional<std::string>& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      return;
    }
    if (!it->is_string()) {
      throw Error(Exit::usage, fmt::format("{}: \"{}\" must be a string", origin, key));
    }
    out = it->get<std::string>();
  };
  string_key("host", cfg.host);
  string_key("ssh_config", cfg.ssh_config);
  for (const auto& [key, value] : j.items()) {
    if (key != "host" && key != "ssh_config") {
      cfg.unknown_keys.push_back(key);
    }
  }
  return cfg;
}

std::string_view to_string(Source s) {
  switch (s) {
    case Source::flag:
      return "flag";
    case Source::env:
      return "environment";
    case Source::config:
      return "config file";
    case Source::testbed:
      return "the local test bed";
    case Source::none:
      break;
  }
  return "default";
}

namespace {

std::optional<Setting<std::string>> resolve(const std::optional<std::string>& flag, const Env& env,
                                            std::string_view var,
                                            const std::optional<std::string>& file) {
  if (flag && !flag->empty()) {
    return Setting<std::string>{*flag, Source::flag};
  }
  if (auto v = env.get(var)) {
    return Setting<std::string>{*v, Source::env};
  }
  if (file && !file->empty()) {
    return Setting<std::string>{*file, Source::config};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Setting<std::string>> resolve_host(const std::optional<std::string>& flag,
                                                 const Env& env, const FileConfig& file) {
  return resolve(flag, env, "JL_HOST", file.host);
}

std::optional<Setting<std::string>> resolve_ssh_config(const std::optional<std::string>& flag,
                                                       const Env& env, const FileConfig& file) {
  return resolve(flag, env, "JL_SSH_CONFIG", file.ssh_config);
}

HostSpec parse_host_spec(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error(Exit::usage, fmt::format("invalid host '{}': {}", text, why),
                 "use an ssh config alias, user@host, host:port or user@host:port");
  };
  if (text.empty()) {
    throw bad("empty");
  }
  for (unsigned char c : text) {
    if (c <= ' ' || c == 0x7f || c == '\'' || c == '"' || c == '\\' || c == '`' || c == '$' ||
        c == ';' || c == '|' || c == '&' || c == '<' || c == '>' || c == '(' || c == ')' ||
        c == '*' || c == '?' || c == '!') {
      throw bad("it contains a character no host name has");
    }
  }
  if (text.front() == '-') {
    throw bad("it starts with '-'");
  }
  HostSpec spec;
  std::string_view rest = text;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    if (at == 0) {
      throw bad("the user name is empty");
    }
    spec.user = std::string(rest.substr(0, at));
    rest.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      throw bad("missing ']'");
    }
    spec.host = std::string(rest.substr(1, close - 1));
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        throw bad("unexpected text after ']'");
      }
      port_text = after.substr(1);
      if (port_text.empty()) {
        throw bad("the port is empty");
      }
    }
  } else if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    if (rest.find(':', colon + 1) != std::string_view::npos) {
      // A bare IPv6 address without a port.
      spec.host = std::string(rest);
    } else {
      spec.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) {
        throw bad("the port is empty");
      }
    }
  } else {
    spec.host = std::string(rest);
  }
  if (spec.host.empty()) {
    throw bad("the host name is empty");
  }
  // Nothing that could be taken for an option, anywhere (ssh -oProxyCommand=... style).
  if (spec.host.front() == '-' || (spec.user && spec.user->front() == '-')) {
    throw bad("a part starts with '-'");
  }
  if (!port_text.empty()) {
    auto port = text::parse_int(port_text, 1, 65535);
    if (!port) {
      throw bad("the port must be a number from 1 to 65535");
    }
    spec.port = static_cast<int>(*port);
  }
  return spec;
}

}  // namespace jl
