#include "jl/core/config.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "jl/core/container_spec.hpp"
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

std::vector<std::string> split_docker_command(std::string_view text, std::string_view origin) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
      continue;
    }
    if (std::string_view("'\"\\`$;|&<>(){}*?!#~\n\r").find(c) != std::string_view::npos ||
        static_cast<unsigned char>(c) < 0x20) {
      throw Error(Exit::usage,
                  fmt::format("{}: the docker command '{}' contains '{}', which jl does not "
                              "interpret",
                              origin, text, std::string(1, c)),
                  "give it as a JSON array of words instead, e.g. [\"sudo\", \"-n\", \"docker\"]");
    }
    word += c;
  }
  if (!word.empty()) {
    words.push_back(std::move(word));
  }
  if (words.empty()) {
    throw Error(Exit::usage, fmt::format("{}: the docker command is empty", origin),
                "use e.g. \"docker\", \"sudo -n docker\" or \"podman\"");
  }
  return words;
}

namespace {

// Reads one JSON object of settings; every problem names the file and the key's path.
class ProfileReader {
 public:
  ProfileReader(std::string_view origin, std::vector<std::string>& unknown)
      : m_origin(origin), m_unknown(unknown) {}

  [[noreturn]] void bad(const std::string& path, std::string_view what) const {
    throw Error(Exit::usage, fmt::format("{}: \"{}\" {}", m_origin, path, what));
  }

  const nlohmann::json& object(const nlohmann::json& j, const std::string& path) const {
    if (!j.is_object()) {
      bad(path, "must be a JSON object");
    }
    return j;
  }

  std::optional<std::string> string(const nlohmann::json& j, const std::string& path) const {
    if (j.is_null()) {
      return std::nullopt;
    }
    if (!j.is_string()) {
      bad(path, "must be a string");
    }
    return j.get<std::string>();
  }

  std::optional<int> integer(const nlohmann::json& j, const std::string& path, int lo,
                             int hi) const {
    if (j.is_null()) {
      return std::nullopt;
    }
    if (!j.is_number_integer() || j.get<long long>() < lo || j.get<long long>() > hi) {
      bad(path, fmt::format("must be a whole number from {} to {}", lo, hi));
    }
    return static_cast<int>(j.get<long long>());
  }

  std::optional<std::vector<std::string>> words(const nlohmann::json& j,
                                                const std::string& path) const {
    if (j.is_null()) {
      return std::nullopt;
    }
    if (!j.is_array()) {
      bad(path, "must be an array of strings");
    }
    std::vector<std::string> out;
    for (const auto& w : j) {
      if (!w.is_string()) {
        bad(path, "must be an array of strings");
      }
      out.push_back(w.get<std::string>());
    }
    return out;
  }

  std::optional<bool> boolean(const nlohmann::json& j, const std::string& path) const {
    if (j.is_null()) {
      return std::nullopt;
    }
    if (!j.is_boolean()) {
      bad(path, "must be true or false");
    }
    return j.get<bool>();
  }

  // A string that `parse` (one of container_spec's parsers) accepts.
  template <typename Parse>
  std::optional<std::string> checked(const nlohmann::json& j, const std::string& path,
                                     Parse parse) const {
    auto v = string(j, path);
    std::string error;
    if (v && !parse(*v, &error)) {
      bad(path, "is invalid: " + error);
    }
    return v;
  }

  // Reads the settings of making a container; returns whether `key` was one of them.
  bool create_key(const std::string& key, const nlohmann::json& value, const std::string& path,
                  bool container_section, Profile& p) const {
    if (key == "image") {
      if (!container_section) {
        bad(path,
            "belongs to a container: set it in \"containers\": {\"NAME\": {\"image\": ...}} "
            "(or a host's containers)");
      }
      p.image = string(value, path);
      if (p.image && !container::valid_image(*p.image)) {
        bad(path, "is not an image reference (NAME[:TAG], REGISTRY/NAME[:TAG] or NAME@sha256:...)");
      }
    } else if (key == "gpus") {
      // A count may be given as a number, as docker's --gpus 2.
      p.gpus = value.is_number_integer() ? std::optional<std::string>(value.dump())
                                         : checked(value, path, container::parse_gpus);
      std::string error;
      if (p.gpus && !container::parse_gpus(*p.gpus, &error)) {
        bad(path, "is invalid: " + error);
      }
    } else if (key == "volumes") {
      p.volumes = words(value, path);
      for (const auto& v : p.volumes.value_or(std::vector<std::string>{})) {
        std::string error;
        if (!container::parse_volume(v, &error)) {
          bad(path, "is invalid: " + error);
        }
      }
    } else if (key == "shm_size") {
      p.shm_size = checked(value, path, container::parse_size);
    } else if (key == "ipc") {
      p.ipc = string(value, path);
      if (p.ipc && *p.ipc != "host") {
        bad(path, "must be \"host\" (or left out)");
      }
    } else if (key == "user") {
      p.user = checked(value, path, container::parse_user);
    } else if (key == "workdir") {
      p.workdir = checked(value, path, container::parse_workdir);
    } else if (key == "env") {
      p.env = env(value, path);
    } else if (key == "pull") {
      p.pull = checked(value, path, container::parse_pull);
    } else if (key == "start_container") {
      p.start_container = boolean(value, path);
    } else {
      return false;
    }
    return true;
  }

  // "env": {"K": "V"} or ["K=V"], as K=V words.
  std::optional<std::vector<std::string>> env(const nlohmann::json& j,
                                              const std::string& path) const {
    if (j.is_null()) {
      return std::nullopt;
    }
    std::vector<std::string> out;
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (!v.is_string()) {
          bad(path + "." + k, "must be a string");
        }
        out.push_back(k + "=" + v.get<std::string>());
      }
    } else if (j.is_array()) {
      out = *words(j, path);
    } else {
      bad(path, "must be an object of strings ({\"K\": \"V\"}) or an array of \"K=V\"");
    }
    for (const auto& kv : out) {
      std::string error;
      if (!container::parse_env(kv, &error)) {
        bad(path, "is invalid: " + error);
      }
    }
    return out;
  }

  // Reads the profile keys of `j`; returns whether `key` was one of them.
  bool profile_key(const std::string& key, const nlohmann::json& value, const std::string& path,
                   Profile& p, bool container_section = false) const {
    if (key == "app") {
      p.app = string(value, path);
      if (p.app && *p.app != "auto" && *p.app != "lab" && *p.app != "notebook" &&
          *p.app != "server") {
        bad(path, "must be one of auto, lab, notebook, server");
      }
    } else if (key == "port") {
      p.port = integer(value, path, 1, 65535);
    } else if (key == "dir") {
      p.dir = string(value, path);
      if (p.dir && p.dir->empty()) {
        bad(path, "must not be empty");
      }
    } else if (key == "jupyter_args") {
      p.jupyter_args = words(value, path);
    } else if (key == "docker") {
      if (value.is_string()) {
        p.docker = split_docker_command(value.get<std::string>(),
                                        fmt::format("{}: \"{}\"", m_origin, path));
      } else {
        p.docker = words(value, path);
        if (p.docker && (p.docker->empty() || p.docker->front().empty())) {
          bad(path, "must name a command");
        }
      }
    } else if (key == "timeout") {
      p.timeout = integer(value, path, 1, 3600);
    } else if (key == "idle_timeout") {
      // Seconds as a number, or a duration as --idle-timeout takes it ("30m", "2h").
      if (value.is_number_integer()) {
        p.idle_timeout = integer(value, path, 1, 30 * 24 * 3600);
      } else if (auto text = string(value, path)) {
        p.idle_timeout = text::parse_duration(*text);
        if (!p.idle_timeout) {
          bad(path, "must be a duration from 1s to 30d, such as \"30m\", \"2h\" or 3600");
        }
      }
    } else if (key == "scheduler") {
      p.scheduler = string(value, path);
      if (p.scheduler && *p.scheduler != "docker" && *p.scheduler != "slurm") {
        bad(path, "must be \"docker\" (the default) or \"slurm\"");
      }
    } else if (key == "cpus_per_task") {
      p.cpus_per_task = integer(value, path, 1, 4096);
    } else if (key == "sbatch_args") {
      p.sbatch_args = words(value, path);
    } else if (auto member = slurm_member(key)) {
      p.*member = string(value, path);
    } else {
      return create_key(key, value, path, container_section, p);
    }
    return true;
  }

  // A Slurm option given as a string in the config file (checked when a job is submitted).
  static std::optional<std::string> Profile::*slurm_member(const std::string& key) {
    if (key == "partition") {
      return &Profile::partition;
    }
    if (key == "gres") {
      return &Profile::gres;
    }
    if (key == "time") {
      return &Profile::time;
    }
    if (key == "mem") {
      return &Profile::mem;
    }
    if (key == "account") {
      return &Profile::account;
    }
    if (key == "qos") {
      return &Profile::qos;
    }
    return nullptr;
  }

  // A container's own section (containers.C, hosts.H.containers.C).
  Profile profile(const nlohmann::json& j, const std::string& path) const {
    Profile p;
    for (const auto& [key, value] : object(j, path).items()) {
      if (!profile_key(key, value, join(path, key), p, /*container_section=*/true)) {
        m_unknown.push_back(join(path, key));
      }
    }
    return p;
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string_view m_origin;
  std::vector<std::string>& m_unknown;
};

}  // namespace

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
  ProfileReader read(origin, cfg.unknown_keys);
  for (const auto& [key, value] : j.items()) {
    if (key == "host") {
      cfg.host = read.string(value, key);
    } else if (key == "ssh_config") {
      cfg.ssh_config = read.string(value, key);
    } else if (key == "hosts") {
      if (value.is_null()) {
        continue;
      }
      for (const auto& [host, section] : read.object(value, key).items()) {
        const std::string path = "hosts." + host;
        HostSection hs;
        for (const auto& [k, v] : read.object(section, path).items()) {
          const std::string kpath = path + "." + k;
          if (k == "containers") {
            if (v.is_null()) {
              continue;
            }
            for (const auto& [c, p] : read.object(v, kpath).items()) {
              hs.containers[c] = read.profile(p, kpath + "." + c);
            }
          } else if (!read.profile_key(k, v, kpath, hs.profile)) {
            cfg.unknown_keys.push_back(kpath);
          }
        }
        cfg.hosts[host] = std::move(hs);
      }
    } else if (key == "containers") {
      if (value.is_null()) {
        continue;
      }
      for (const auto& [c, p] : read.object(value, key).items()) {
        cfg.containers[c] = read.profile(p, "containers." + c);
      }
    } else if (!read.profile_key(key, value, key, cfg.defaults)) {
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

std::optional<Setting<std::string>> resolve(const std::optional<std::string>& flag,
                                            std::string_view flag_name, const Env& env,
                                            std::string_view var,
                                            const std::optional<std::string>& file,
                                            std::string_view key) {
  if (flag && !flag->empty()) {
    return Setting<std::string>{*flag, Source::flag, std::string(flag_name)};
  }
  if (auto v = env.get(var)) {
    return Setting<std::string>{*v, Source::env, std::string(var)};
  }
  if (file && !file->empty()) {
    return Setting<std::string>{*file, Source::config, std::string(key)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Setting<std::string>> resolve_host(const std::optional<std::string>& flag,
                                                 const Env& env, const FileConfig& file) {
  return resolve(flag, "-H", env, "JL_HOST", file.host, "host");
}

std::optional<Setting<std::string>> resolve_ssh_config(const std::optional<std::string>& flag,
                                                       const Env& env, const FileConfig& file) {
  return resolve(flag, "-F", env, "JL_SSH_CONFIG", file.ssh_config, "ssh_config");
}

namespace {

// One place a setting may come from, with the name it goes by there.
struct Layer {
  const Profile* profile;
  Source source;
  std::string prefix;  // "--", "JL_", "containers.cont1." ...
};

template <typename T>
void pick(Setting<T>& out, const std::vector<Layer>& layers, std::optional<T> Profile::*member,
          std::string_view flag, std::string_view var, std::string_view key) {
  for (const auto& layer : layers) {
    const auto& v = layer.profile->*member;
    if (!v) {
      continue;
    }
    out.value = *v;
    out.source = layer.source;
    switch (layer.source) {
      case Source::flag:
        out.origin = std::string(flag);
        break;
      case Source::env:
        out.origin = std::string(var);
        break;
      default:
        out.origin = layer.prefix + std::string(key);
        break;
    }
    return;
  }
}

template <typename T>
void pick_optional(Setting<std::optional<T>>& out, const std::vector<Layer>& layers,
                   std::optional<T> Profile::*member, std::string_view flag, std::string_view var,
                   std::string_view key) {
  Setting<T> s;
  pick(s, layers, member, flag, var, key);
  if (s.source != Source::none) {
    out = Setting<std::optional<T>>{s.value, s.source, s.origin};
  }
}

Profile profile_from_env(const Env& env) {
  Profile p;
  auto bad = [](std::string_view var, std::string_view what) {
    return Error(Exit::usage, fmt::format("${} {}", var, what),
                 fmt::format("fix it or unset it (unset {})", var));
  };
  if (auto v = env.get("JL_APP")) {
    if (*v != "auto" && *v != "lab" && *v != "notebook" && *v != "server") {
      throw bad("JL_APP", "must be one of auto, lab, notebook, server");
    }
    p.app = *v;
  }
  if (auto v = env.get("JL_PORT")) {
    auto n = text::parse_int(*v, 1, 65535);
    if (!n) {
      throw bad("JL_PORT", "must be a port number from 1 to 65535");
    }
    p.port = static_cast<int>(*n);
  }
  if (auto v = env.get("JL_DIR")) {
    p.dir = *v;
  }
  if (auto v = env.get("JL_DOCKER")) {
    p.docker = split_docker_command(*v, "$JL_DOCKER");
  }
  if (auto v = env.get("JL_TIMEOUT")) {
    auto n = text::parse_int(*v, 1, 3600);
    if (!n) {
      throw bad("JL_TIMEOUT", "must be a number of seconds from 1 to 3600");
    }
    p.timeout = static_cast<int>(*n);
  }
  if (auto v = env.get("JL_IDLE_TIMEOUT")) {
    p.idle_timeout = text::parse_duration(*v);
    if (!p.idle_timeout) {
      throw bad("JL_IDLE_TIMEOUT", "must be a duration from 1s to 30d, such as 30m or 2h");
    }
  }
  return p;
}

// The config file's section for a host: the name as given, else its host part (so that
// "hosts": {"gpubox": ...} also covers ann@gpubox:2222).
const HostSection* host_section(const FileConfig& file, const std::string& host) {
  if (auto it = file.hosts.find(host); it != file.hosts.end()) {
    return &it->second;
  }
  try {
    auto spec = parse_host_spec(host);
    if (auto it = file.hosts.find(spec.host); it != file.hosts.end()) {
      return &it->second;
    }
  } catch (const Error&) {
    // Not a host spec: no section.
  }
  return nullptr;
}

}  // namespace

SessionSettings resolve_session(const SessionFlags& flags, const Env& env, const FileConfig& file,
                                const std::optional<std::string>& host,
                                const std::optional<std::string>& container) {
  const Profile from_env = profile_from_env(env);
  std::vector<Layer> layers;
  layers.push_back({&flags.profile, Source::flag, "--"});
  layers.push_back({&from_env, Source::env, "JL_"});
  const HostSection* hs = host ? host_section(file, *host) : nullptr;
  std::string host_key;
  if (hs != nullptr) {
    for (const auto& [k, v] : file.hosts) {
      if (&v == hs) {
        host_key = k;
      }
    }
  }
  if (hs != nullptr && container) {
    if (auto it = hs->containers.find(*container); it != hs->containers.end()) {
      layers.push_back({&it->second, Source::config,
                        fmt::format("hosts.{}.containers.{}.", host_key, *container)});
    }
  }
  if (container) {
    if (auto it = file.containers.find(*container); it != file.containers.end()) {
      layers.push_back({&it->second, Source::config, fmt::format("containers.{}.", *container)});
    }
  }
  if (hs != nullptr) {
    layers.push_back({&hs->profile, Source::config, fmt::format("hosts.{}.", host_key)});
  }
  layers.push_back({&file.defaults, Source::config, ""});

  SessionSettings s;
  s.app.value = "auto";
  s.docker.value = {"docker"};
  s.scheduler.value = "docker";
  s.timeout.value = 60;
  pick(s.app, layers, &Profile::app, "--app", "JL_APP", "app");
  pick_optional(s.port, layers, &Profile::port, "--port", "JL_PORT", "port");
  pick_optional(s.dir, layers, &Profile::dir, "--dir", "JL_DIR", "dir");
  pick(s.jupyter_args, layers, &Profile::jupyter_args, "-- ARGS", "", "jupyter_args");
  pick(s.docker, layers, &Profile::docker, "", "JL_DOCKER", "docker");
  pick(s.timeout, layers, &Profile::timeout, "--timeout", "JL_TIMEOUT", "timeout");
  pick_optional(s.idle_timeout, layers, &Profile::idle_timeout, "--idle-timeout", "JL_IDLE_TIMEOUT",
                "idle_timeout");
  pick_optional(s.image, layers, &Profile::image, "--image", "", "image");
  pick_optional(s.gpus, layers, &Profile::gpus, "--gpus", "", "gpus");
  pick(s.volumes, layers, &Profile::volumes, "-v", "", "volumes");
  pick_optional(s.shm_size, layers, &Profile::shm_size, "--shm-size", "", "shm_size");
  pick_optional(s.ipc, layers, &Profile::ipc, "--ipc", "", "ipc");
  pick_optional(s.user, layers, &Profile::user, "--user", "", "user");
  pick_optional(s.workdir, layers, &Profile::workdir, "--workdir", "", "workdir");
  pick(s.env, layers, &Profile::env, "-e", "", "env");
  pick_optional(s.pull, layers, &Profile::pull, "--pull", "", "pull");
  pick(s.start_container, layers, &Profile::start_container, "--start-container", "",
       "start_container");
  pick(s.scheduler, layers, &Profile::scheduler, "--slurm", "", "scheduler");
  pick_optional(s.partition, layers, &Profile::partition, "--partition", "", "partition");
  pick_optional(s.gres, layers, &Profile::gres, "--gres", "", "gres");
  pick_optional(s.time, layers, &Profile::time, "--time", "", "time");
  pick_optional(s.cpus_per_task, layers, &Profile::cpus_per_task, "--cpus-per-task", "",
                "cpus_per_task");
  pick_optional(s.mem, layers, &Profile::mem, "--mem", "", "mem");
  pick_optional(s.account, layers, &Profile::account, "--account", "", "account");
  pick_optional(s.qos, layers, &Profile::qos, "--qos", "", "qos");
  pick(s.sbatch_args, layers, &Profile::sbatch_args, "-- ARGS", "", "sbatch_args");
  return s;
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
