#include "jl/core/mux.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace jl::mux {

namespace {

using nlohmann::json;

// FNV-1a, 64 bits: a stable, short name (not a secret: the directory is the user's own).
std::uint64_t fnv1a(std::string_view text, std::uint64_t h = 14695981039346656037ULL) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string key(std::string_view host, std::string_view ssh_config, std::string_view state_dir) {
  std::uint64_t h = fnv1a("jl-mux-1");
  for (auto part : {host, ssh_config, state_dir}) {
    h = fnv1a(part, h);
    h = fnv1a(std::string_view("\0", 1), h);
  }
  return fmt::format("{:016x}", h);
}

const char* op_name(Request::Op op) {
  switch (op) {
    case Request::Op::hello:
      return "hello";
    case Request::Op::exec:
      return "exec";
    case Request::Op::tcp:
      return "tcp";
    case Request::Op::forward:
      return "forward";
    case Request::Op::close:
      return "close";
    case Request::Op::ping:
      return "ping";
    case Request::Op::run:
      return "run";
  }
  return "hello";
}

std::optional<Request::Op> op_of(std::string_view name) {
  for (auto op : {Request::Op::hello, Request::Op::exec, Request::Op::tcp, Request::Op::forward,
                  Request::Op::close, Request::Op::ping, Request::Op::run}) {
    if (name == op_name(op)) {
      return op;
    }
  }
  return std::nullopt;
}

bool valid_port(int port) {
  return port > 0 && port < 65536;
}

// An integer field; anything else (a float, a string) is not one.
int integer(const json& j) {
  if (!j.is_number_integer()) {
    throw json::type_error::create(302, "not an integer", nullptr);
  }
  const auto v = j.get<long long>();
  if (v < -1000000 || v > 1000000) {
    throw json::type_error::create(302, "out of range", nullptr);
  }
  return static_cast<int>(v);
}

std::string line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string runtime_dir(const Env& env, long long uid) {
  if (auto run = env.get("XDG_RUNTIME_DIR"); run && run->starts_with('/')) {
    return *run + "/jl";
  }
  std::string tmp = env.get("TMPDIR").value_or("/tmp");
  if (!tmp.starts_with('/')) {
    tmp = "/tmp";
  }
  while (tmp.size() > 1 && tmp.back() == '/') {
    tmp.pop_back();
  }
  return fmt::format("{}/jl-{}", tmp, uid);
}

std::string socket_name(std::string_view host, std::string_view ssh_config,
                        std::string_view state_dir) {
  return key(host, ssh_config, state_dir) + ".sock";
}

std::string lock_name(std::string_view host, std::string_view ssh_config,
                      std::string_view state_dir) {
  return key(host, ssh_config, state_dir) + ".lock";
}

int fds_for(Request::Op op) {
  switch (op) {
    case Request::Op::exec:
    case Request::Op::run:
      return 2;
    case Request::Op::tcp:
    case Request::Op::forward:
      return 1;
    default:
      return 0;
  }
}

std::string encode(const Request& r) {
  json j{{"v", kVersion}, {"op", op_name(r.op)}};
  switch (r.op) {
    case Request::Op::exec:
      j["command"] = r.command;
      if (r.pty) {
        j["pty"] = {r.pty->first, r.pty->second};
      }
      break;
    case Request::Op::run:
      j["command"] = r.command;
      break;
    case Request::Op::tcp:
      j["host"] = r.host;
      j["port"] = r.port;
      if (r.keep) {
        j["keep"] = true;
      }
      break;
    case Request::Op::forward: {
      const auto& f = r.forward;
      j["forward"] = {{"kind", f.kind == ForwardSpec::Kind::session ? "session" : "forward"},
                      {"host", f.host},
                      {"name", f.name},
                      {"lock", f.lock},
                      {"log", f.log},
                      {"target_host", f.target_host},
                      {"target_port", f.target_port},
                      {"base_url", f.base_url},
                      {"job_id", f.job_id},
                      {"token", f.token}};
      break;
    }
    case Request::Op::close:
      j["lock"] = r.lock;
      break;
    default:
      break;
  }
  return line(j);
}

std::optional<Request> decode_request(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Request> {
    if (error != nullptr) {
      *error = std::move(why);
    }
    return std::nullopt;
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("not a JSON object");
  }
  try {
    if (!j.contains("v") || integer(j.at("v")) != kVersion) {
      return fail("another version of jl's protocol");
    }
    auto op = op_of(j.value("op", std::string{}));
    if (!op) {
      return fail("unknown request");
    }
    Request r;
    r.op = *op;
    switch (r.op) {
      case Request::Op::exec: {
        r.command = j.at("command").get<std::string>();
        if (r.command.empty()) {
          return fail("an empty command");
        }
        if (auto p = j.find("pty"); p != j.end() && !p->is_null()) {
          if (!p->is_array() || p->size() != 2) {
            return fail("a terminal size out of range");
          }
          const int cols = integer(p->at(0));
          const int rows = integer(p->at(1));
          if (cols < 1 || cols > 1000 || rows < 1 || rows > 1000) {
            return fail("a terminal size out of range");
          }
          r.pty = {cols, rows};
        }
        break;
      }
      case Request::Op::run:
        r.command = j.at("command").get<std::string>();
        if (r.command.empty()) {
          return fail("an empty command");
        }
        break;
      case Request::Op::tcp:
        r.host = j.at("host").get<std::string>();
        r.port = integer(j.at("port"));
        r.keep = j.value("keep", false);
        if (r.host.empty() || !valid_port(r.port)) {
          return fail("no host or port");
        }
        break;
      case Request::Op::forward: {
        const auto& f = j.at("forward");
        auto& out = r.forward;
        const std::string kind = f.at("kind").get<std::string>();
        if (kind != "session" && kind != "forward") {
          return fail("an unknown kind of tunnel");
        }
        out.kind = kind == "session" ? ForwardSpec::Kind::session : ForwardSpec::Kind::forward;
        out.host = f.at("host").get<std::string>();
        out.name = f.at("name").get<std::string>();
        out.lock = f.at("lock").get<std::string>();
        out.log = f.value("log", std::string{});
        out.target_host = f.at("target_host").get<std::string>();
        out.target_port = integer(f.at("target_port"));
        out.base_url = f.value("base_url", std::string{});
        out.job_id = f.value("job_id", std::string{});
        out.token = f.value("token", std::string{});
        if (out.host.empty() || out.name.empty() || !out.lock.starts_with('/') ||
            (!out.log.empty() && !out.log.starts_with('/')) || out.target_host.empty() ||
            !valid_port(out.target_port)) {
          return fail("an incomplete tunnel");
        }
        break;
      }
      case Request::Op::close:
        r.lock = j.at("lock").get<std::string>();
        if (!r.lock.starts_with('/')) {
          return fail("no lock file");
        }
        break;
      default:
        break;
    }
    return r;
  } catch (const json::exception&) {
    return fail("a field is missing or of the wrong type");
  }
}

std::string encode(const Reply& r) {
  json j = json::object();
  if (r.pong) {
    j["pong"] = true;
    return line(j);
  }
  if (r.ended) {
    j["exit"] = r.exit_status ? json(*r.exit_status) : json(nullptr);
    return line(j);
  }
  j["ok"] = r.ok;
  if (r.busy) {
    j["busy"] = true;
  }
  if (!r.error.empty()) {
    j["error"] = r.error;
  }
  if (r.pid > 0) {
    j["pid"] = r.pid;
  }
  if (!r.endpoint.empty()) {
    j["endpoint"] = r.endpoint;
  }
  if (!r.user.empty()) {
    j["user"] = r.user;
  }
  if (r.pty) {
    j["pty"] = true;
  }
  if (r.closed) {
    j["closed"] = true;
  }
  if (r.reused) {
    j["reused"] = true;
  }
  return line(j);
}

std::optional<Reply> decode_reply(std::string_view text, std::string* error) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    if (error != nullptr) {
      *error = "not a JSON object";
    }
    return std::nullopt;
  }
  Reply r;
  try {
    if (j.value("pong", false)) {
      r.pong = true;
      return r;
    }
    if (auto e = j.find("exit"); e != j.end()) {
      r.ended = true;
      if (!e->is_null()) {
        r.exit_status = integer(*e);
      }
      return r;
    }
    r.ok = j.at("ok").get<bool>();
    r.busy = j.value("busy", false);
    r.error = j.value("error", std::string{});
    if (auto p = j.find("pid"); p != j.end()) {
      if (!p->is_number_integer()) {
        throw json::type_error::create(302, "pid", nullptr);
      }
      r.pid = p->get<long long>();
    }
    r.endpoint = j.value("endpoint", std::string{});
    r.user = j.value("user", std::string{});
    r.pty = j.value("pty", false);
    r.closed = j.value("closed", false);
    r.reused = j.value("reused", false);
  } catch (const json::exception&) {
    if (error != nullptr) {
      *error = "a field is missing or of the wrong type";
    }
    return std::nullopt;
  }
  return r;
}

bool LineReader::feed(std::string_view bytes) {
  m_buf.append(bytes);
  const auto nl = m_buf.find('\n');
  return (nl == std::string::npos ? m_buf.size() : nl) <= kMaxLine;
}

std::optional<std::string> LineReader::next() {
  const auto nl = m_buf.find('\n');
  if (nl == std::string::npos) {
    return std::nullopt;
  }
  std::string out = m_buf.substr(0, nl);
  m_buf.erase(0, nl + 1);
  return out;
}

}  // namespace jl::mux
