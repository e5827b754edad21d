#include "jl/core/state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "jl/core/config.hpp"
#include "jl/core/error.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/probe.hpp"

namespace jl {

namespace {

struct NoteName {
  TunnelNote note;
  const char* name;  // in the state file's "tunnel_state"
};
constexpr NoteName kNoteNames[] = {
    {TunnelNote::none, "none"},
    {TunnelNote::reconnecting, "reconnecting"},
    {TunnelNote::server_gone, "server_gone"},
    {TunnelNote::gave_up, "gave_up"},
};

std::string note_name(TunnelNote note) {
  for (const auto& n : kNoteNames) {
    if (n.note == note) {
      return n.name;
    }
  }
  return "none";
}

// A name this jl does not know (a newer one wrote it) counts as none.
TunnelNote note_named(std::string_view name) {
  for (const auto& n : kNoteNames) {
    if (name == n.name) {
      return n.note;
    }
  }
  return TunnelNote::none;
}

// A state file written before "tunnel_state" existed has only the words; their start says
// which note they are.
TunnelNote note_of_old_words(std::string_view words) {
  if (words == "reconnecting") {
    return TunnelNote::reconnecting;
  }
  if (words.starts_with("server gone: ")) {
    return TunnelNote::server_gone;
  }
  if (words.starts_with("gave up: ")) {
    return TunnelNote::gave_up;
  }
  return TunnelNote::none;
}

}  // namespace

std::string tunnel_note_words(TunnelNote note, std::string_view why) {
  switch (note) {
    case TunnelNote::none:
      return {};
    case TunnelNote::reconnecting:
      return "reconnecting";
    case TunnelNote::server_gone:
      return fmt::format("server gone: {}", why);
    case TunnelNote::gave_up:
      return fmt::format("gave up: {}", why);
  }
  return {};
}

SessionRecord* State::find(std::string_view host, std::string_view container) {
  for (auto& s : sessions) {
    if (s.host == host && s.container == container) {
      return &s;
    }
  }
  return nullptr;
}

void State::upsert(SessionRecord record) {
  if (auto* existing = find(record.host, record.container)) {
    *existing = std::move(record);
  } else {
    sessions.push_back(std::move(record));
  }
}

bool State::remove(std::string_view host, std::string_view container) {
  auto it = std::remove_if(sessions.begin(), sessions.end(), [&](const SessionRecord& s) {
    return s.host == host && s.container == container;
  });
  bool removed = it != sessions.end();
  sessions.erase(it, sessions.end());
  return removed;
}

ForwardRecord* State::find_forward(std::string_view host, std::string_view label) {
  for (auto& f : forwards) {
    if (f.host == host && f.label == label) {
      return &f;
    }
  }
  return nullptr;
}

void State::upsert_forward(ForwardRecord record) {
  if (auto* existing = find_forward(record.host, record.label)) {
    *existing = std::move(record);
  } else {
    forwards.push_back(std::move(record));
  }
}

bool State::remove_forward(std::string_view host, std::string_view label) {
  auto it = std::remove_if(forwards.begin(), forwards.end(), [&](const ForwardRecord& f) {
    return f.host == host && f.label == label;
  });
  bool removed = it != forwards.end();
  forwards.erase(it, forwards.end());
  return removed;
}

std::string serialize_state(const State& state) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& s : state.sessions) {
    nlohmann::json j = {
        {"host", s.host},
        {"container", s.container},
        {"container_id", s.container_id},
        {"app", s.app},
        {"server_version", s.server_version},
        {"legacy", s.legacy},
        {"address", s.address},
        {"port", s.port},
        {"base_url", s.base_url},
        {"token", s.token},
        {"pid", s.pid},
        {"runtime_file", s.runtime_file},
        {"log", s.log},
        {"started_by_jl", s.started_by_jl},
        {"started_at", s.started_at},
        {"idle_timeout_s", s.idle_timeout_s},
        {"job_id", s.job_id},
        {"node", s.node},
        {"local_port", s.local_port},
        {"tunnel_pid", s.tunnel_pid},
        {"tunnel_state", note_name(s.tunnel_state)},
        {"tunnel_note", s.tunnel_note},
    };
    if (s.ssh_config) {
      j["ssh_config"] = *s.ssh_config;
    }
    sessions.push_back(std::move(j));
  }
  nlohmann::json forwards = nlohmann::json::array();
  for (const auto& f : state.forwards) {
    nlohmann::json j = {{"host", f.host},
                        {"label", f.label},
                        {"target_host", f.target_host},
                        {"target_port", f.target_port},
                        {"local_port", f.local_port},
                        {"pid", f.pid}};
    if (f.ssh_config) {
      j["ssh_config"] = *f.ssh_config;
    }
    forwards.push_back(std::move(j));
  }
  nlohmann::json root = {{"version", State::version},
                         {"sessions", std::move(sessions)},
                         {"forwards", std::move(forwards)}};
  // Words from the host (a tunnel's note) may not be UTF-8: kept, with U+FFFD for bad bytes.
  return root.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

template <typename T>
T field(const nlohmann::json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error(fmt::format("field \"{}\" has the wrong type", key));
  }
}

// Hosts in the state file are used to connect again: they must be what -H accepts.
void check_host(const std::string& host) {
  try {
    parse_host_spec(host);
  } catch (const Error&) {
    throw std::runtime_error("a session has an invalid host");
  }
}

// A port: an integer in [0, 65535] (0: none). Checked before narrowing, so that a huge value
// cannot wrap around to a valid-looking one.
int port_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return 0;
  }
  if (!it->is_number_integer()) {
    throw std::runtime_error(fmt::format("field \"{}\" is not an integer", key));
  }
  auto v = it->get<long long>();
  if (v < 0 || v > 65535) {
    throw std::runtime_error(fmt::format("field \"{}\" is out of range", key));
  }
  return static_cast<int>(v);
}

long long pid_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return 0;
  }
  if (!it->is_number_integer() || it->get<long long>() < 0) {
    throw std::runtime_error(fmt::format("field \"{}\" is not a process id", key));
  }
  return it->get<long long>();
}

}  // namespace

State parse_state(std::string_view text) {
  auto root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    throw std::runtime_error("not valid JSON");
  }
  if (!root.is_object()) {
    throw std::runtime_error("not a JSON object");
  }
  auto version = root.find("version");
  if (version == root.end() || !version->is_number_integer()) {
    throw std::runtime_error("no version number");
  }
  if (version->get<long long>() != State::version) {
    throw std::runtime_error(
        fmt::format("version {} is not one this jl understands (it writes version {})",
                    version->dump(), State::version));
  }
  auto sessions = root.find("sessions");
  if (sessions == root.end() || !sessions->is_array()) {
    throw std::runtime_error("no \"sessions\" array");
  }
  State state;
  for (const auto& j : *sessions) {
    if (!j.is_object()) {
      throw std::runtime_error("a session is not a JSON object");
    }
    SessionRecord s;
    s.host = field<std::string>(j, "host", "");
    s.container = field<std::string>(j, "container", "");
    if (s.host.empty() || s.container.empty()) {
      throw std::runtime_error("a session has no host or container");
    }
    if (!jupyter::valid_container_name(s.container)) {
      throw std::runtime_error("a session has an invalid container name");
    }
    check_host(s.host);
    s.container_id = field<std::string>(j, "container_id", "");
    if (!s.container_id.empty() && !probe::valid_container_id(s.container_id)) {
      throw std::runtime_error("a session has an invalid container id");
    }
    if (j.contains("ssh_config") && !j["ssh_config"].is_null()) {
      s.ssh_config = field<std::string>(j, "ssh_config", "");
    }
    s.app = field<std::string>(j, "app", "server");
    s.server_version = field<std::string>(j, "server_version", "");
    s.legacy = field<bool>(j, "legacy", false);
    s.address = field<std::string>(j, "address", "");
    s.port = port_field(j, "port");
    s.base_url = field<std::string>(j, "base_url", "/");
    s.token = field<std::string>(j, "token", "");
    s.pid = pid_field(j, "pid");
    s.runtime_file = field<std::string>(j, "runtime_file", "");
    s.log = field<std::string>(j, "log", "");
    s.started_by_jl = field<bool>(j, "started_by_jl", false);
    s.started_at = field<std::string>(j, "started_at", "");
    s.idle_timeout_s = field<int>(j, "idle_timeout_s", 0);
    s.job_id = field<std::string>(j, "job_id", "");
    if (!s.job_id.empty() && !std::all_of(s.job_id.begin(), s.job_id.end(), [](char c) {
          return (c >= '0' && c <= '9') || c == '_';
        })) {
      throw std::runtime_error("a session has an invalid Slurm job id");
    }
    s.node = field<std::string>(j, "node", "");
    s.local_port = port_field(j, "local_port");
    s.tunnel_pid = pid_field(j, "tunnel_pid");
    s.tunnel_note = field<std::string>(j, "tunnel_note", "");
    if (j.contains("tunnel_state") && !j["tunnel_state"].is_null()) {
      s.tunnel_state = note_named(field<std::string>(j, "tunnel_state", "none"));
    } else {
      s.tunnel_state = note_of_old_words(s.tunnel_note);
    }
    if (s.port < 0 || s.port > 65535 || s.local_port < 0 || s.local_port > 65535) {
      throw std::runtime_error("a session has a port out of range");
    }
    state.sessions.push_back(std::move(s));
  }
  if (auto fw = root.find("forwards"); fw != root.end() && !fw->is_null()) {
    if (!fw->is_array()) {
      throw std::runtime_error("\"forwards\" is not an array");
    }
    for (const auto& j : *fw) {
      if (!j.is_object()) {
        throw std::runtime_error("a forward is not a JSON object");
      }
      ForwardRecord f;
      f.host = field<std::string>(j, "host", "");
      f.label = field<std::string>(j, "label", "");
      if (f.host.empty() || f.label.empty()) {
        throw std::runtime_error("a forward has no host or label");
      }
      check_host(f.host);
      if (j.contains("ssh_config") && !j["ssh_config"].is_null()) {
        f.ssh_config = field<std::string>(j, "ssh_config", "");
      }
      f.target_host = field<std::string>(j, "target_host", "");
      f.target_port = port_field(j, "target_port");
      f.local_port = port_field(j, "local_port");
      f.pid = pid_field(j, "pid");
      if (f.target_port < 0 || f.target_port > 65535 || f.local_port < 0 || f.local_port > 65535) {
        throw std::runtime_error("a forward has a port out of range");
      }
      state.forwards.push_back(std::move(f));
    }
  }
  return state;
}

std::vector<const SessionRecord*> match_sessions(const State& state,
                                                 const std::optional<std::string>& host,
                                                 const std::optional<std::string>& container) {
  std::vector<const SessionRecord*> out;
  for (const auto& s : state.sessions) {
    if (host && s.host != *host) {
      continue;
    }
    if (container && s.container != *container) {
      continue;
    }
    out.push_back(&s);
  }
  return out;
}

std::string session_label(const SessionRecord& s) {
  return fmt::format("{}/{}", s.host, s.container);
}

}  // namespace jl
