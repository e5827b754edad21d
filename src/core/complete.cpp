#include "jl/core/complete.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"

namespace jl::complete {

namespace {

// FNV-1a, 64 bits: stable across builds and runs, unlike std::hash.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

void add_unique(std::vector<std::string>& out, std::string_view s) {
  if (std::find(out.begin(), out.end(), s) == out.end()) {
    out.emplace_back(s);
  }
}

}  // namespace

std::string cache_dir(const Env& env) {
  // As for the other XDG variables, a relative path is invalid and ignored.
  if (auto v = env.get("XDG_CACHE_HOME"); v && v->front() == '/') {
    return *v + "/jl";
  }
  auto home = env.get("HOME").value_or("/");
  while (home.size() > 1 && home.back() == '/') {
    home.pop_back();
  }
  return fmt::format("{}/.cache/jl", home == "/" ? "" : home);
}

std::string containers_cache_name(std::string_view host,
                                  const std::optional<std::string>& ssh_config) {
  std::string readable;
  for (char c : host.substr(0, 64)) {
    readable += name_char(c) ? c : '_';
  }
  std::string key = fmt::format("{}\n{}", host, ssh_config.value_or(""));
  return fmt::format("containers-{}-{:016x}", readable, fnv1a(key));
}

bool cache_fresh(std::chrono::system_clock::time_point written,
                 std::chrono::system_clock::time_point now, std::chrono::seconds lifetime) {
  // A little slack for clocks of different file systems; beyond it a future time is suspect.
  if (written > now + std::chrono::seconds(2)) {
    return false;
  }
  return now - written < lifetime;
}

std::string docker_ps_command(const std::vector<std::string>& docker) {
  std::vector<std::string> words = docker.empty() ? std::vector<std::string>{"docker"} : docker;
  words.insert(words.end(), {"ps", "--format", "{{.Names}}"});
  return shell::join(words);
}

std::vector<std::string> parse_container_names(std::string_view text) {
  std::vector<std::string> out;
  for (auto line : text::lines(text)) {
    line = text::trim(line);
    // Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (one character is allowed too).
    bool ok = !line.empty() && line.size() <= 255 && line.front() != '_' && line.front() != '.' &&
              line.front() != '-' && std::all_of(line.begin(), line.end(), name_char);
    if (ok) {
      add_unique(out, line);
    }
  }
  return out;
}

std::vector<std::string> session_containers(const State& state,
                                            const std::optional<std::string>& host) {
  std::vector<std::string> out;
  for (const auto* s : match_sessions(state, host, std::nullopt)) {
    add_unique(out, s->container);
  }
  return out;
}

std::vector<std::string> session_hosts(const State& state) {
  std::vector<std::string> out;
  for (const auto& s : state.sessions) {
    add_unique(out, s.host);
  }
  return out;
}

std::vector<std::string> merge_unique(std::vector<std::string> a,
                                      const std::vector<std::string>& b) {
  for (const auto& s : b) {
    add_unique(a, s);
  }
  return a;
}

}  // namespace jl::complete
