#include "jl/core/jupyter_config.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "jl/core/probe.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::jupyter {

std::string_view config_reader_function() {
  return scripts::jupyter_config();
}

std::string config_command(std::string_view container, const std::vector<std::string>& docker) {
  std::vector<std::string> words = probe::docker_words(docker);
  words.emplace_back("exec");
  words.emplace_back(container);
  words.emplace_back("sh");
  words.emplace_back("-c");
  words.push_back(std::string(scripts::jupyter_config()) + std::string(scripts::find_python()));
  return shell::join(words) + " </dev/null 2>&1";
}

ConfigReport parse_config_report(std::string_view output) {
  ConfigReport r;
  // The JSON is the last line that parses; Python may have warned before it.
  nlohmann::json j;
  for (auto line : text::lines(output)) {
    auto t = text::trim(line);
    if (!t.starts_with('{')) {
      continue;
    }
    auto parsed = nlohmann::json::parse(t, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) {
      j = std::move(parsed);
    }
  }
  if (!j.is_object()) {
    auto said = text::tail(std::string(text::trim(output)), 1);
    r.error = said.empty() ? "no answer from the config reader" : said;
    return r;
  }
  if (auto e = j.find("error"); e != j.end() && e->is_string()) {
    r.error = e->get<std::string>();
    return r;
  }
  r.read = true;
  auto str = [](const nlohmann::json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  auto flag = [](const nlohmann::json& o, const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->is_boolean() && it->get<bool>();
  };
  if (auto s = j.find("settings"); s != j.end() && s->is_array()) {
    for (const auto& o : *s) {
      if (!o.is_object()) {
        continue;
      }
      ConfigSetting c{str(o, "file"),  str(o, "section"), str(o, "key"),
                      str(o, "value"), flag(o, "secret"), flag(o, "empty")};
      if (!c.section.empty() && !c.key.empty()) {
        r.settings.push_back(std::move(c));
      }
    }
  }
  if (auto b = j.find("bad"); b != j.end() && b->is_array()) {
    for (const auto& o : *b) {
      if (o.is_string()) {
        r.bad_files.push_back(o.get<std::string>());
      }
    }
  }
  return r;
}

std::optional<ConfigSetting> setting(const ConfigReport& report, std::string_view section,
                                     std::string_view key) {
  std::optional<ConfigSetting> found;
  for (const auto& s : report.settings) {
    if (s.section == section && s.key == key) {
      found = s;
    }
  }
  return found;
}

std::string describe(const ConfigSetting& s) {
  std::string value = s.secret ? (s.empty ? "''" : "<set>") : s.value;
  return fmt::format("c.{}.{} = {}", s.section, s.key, value);
}

namespace {

// The first setting found among section.key pairs, in the order given (the newest name first).
std::optional<ConfigSetting> any_of(
    const ConfigReport& r, std::initializer_list<std::pair<const char*, const char*>> keys) {
  for (const auto& [section, key] : keys) {
    if (auto s = setting(r, section, key)) {
      return s;
    }
  }
  return std::nullopt;
}

bool local_ip(std::string_view python_repr) {
  return python_repr == "''" || python_repr == "'localhost'" || python_repr == "'127.0.0.1'" ||
         python_repr == "'::1'" || python_repr == "None";
}

}  // namespace

std::optional<ConfigSetting> token_override(const ConfigReport& report) {
  return any_of(report,
                {{"IdentityProvider", "token"}, {"ServerApp", "token"}, {"NotebookApp", "token"}});
}

std::vector<ConfigFinding> config_findings(const ConfigReport& report) {
  using Level = ConfigFinding::Level;
  std::vector<ConfigFinding> out;
  const auto ip = any_of(report, {{"ServerApp", "ip"}, {"NotebookApp", "ip"}});
  if (ip && !local_ip(ip->value)) {
    out.push_back({Level::warn,
                   fmt::format("{} sets {}: jl starts Jupyter with an --ip of its own, but "
                               "started any other way it listens beyond this machine",
                               ip->file, describe(*ip)),
                   "remove it from the image's config, or set it to '127.0.0.1'"});
  }
  const auto port = any_of(report, {{"ServerApp", "port"}, {"NotebookApp", "port"}});
  if (port) {
    out.push_back({Level::warn,
                   fmt::format("{} sets a fixed port ({}): jl passes its own --port and never lets "
                               "it move",
                               port->file, describe(*port)),
                   "remove it from the image's config; choose jl's port with --port"});
  }
  const auto base = any_of(report, {{"ServerApp", "base_url"}, {"NotebookApp", "base_url"}});
  if (base && base->value != "'/'" && base->value != "''") {
    out.push_back(
        {Level::note,
         fmt::format("{} sets {}: jl's URLs and checks use it", base->file, describe(*base)),
         {}});
  }
  const auto password = any_of(report, {{"PasswordIdentityProvider", "hashed_password"},
                                        {"ServerApp", "password"},
                                        {"NotebookApp", "password"}});
  const bool has_password = password && !password->empty;
  const auto token = token_override(report);
  if (token) {
    out.push_back(
        {Level::fail,
         fmt::format("{} sets {}{}: a token in a config file beats the one jl gives each "
                     "server, so the server refuses jl",
                     token->file, describe(*token),
                     token->empty ? (has_password ? " (only the password opens it)"
                                                  : " (tokens off: anyone who reaches it gets in)")
                                  : " (a fixed token)"),
         fmt::format("remove that line from {} in the image (or mount a config without it)",
                     token->file)});
  } else if (has_password) {
    out.push_back({Level::note,
                   fmt::format("{} sets a password ({}): jl's token opens the server as well",
                               password->file, describe(*password)),
                   {}});
  }
  for (const auto& bad : report.bad_files) {
    out.push_back({Level::warn, fmt::format("a Jupyter config file fails to load: {}", bad),
                   "Jupyter skips it or fails to start: fix the file in the image"});
  }
  return out;
}

}  // namespace jl::jupyter
