#pragma once

// The pure parts of shell completion: what `jl __complete` prints for hosts, sessions and
// running containers, the docker command it runs, and its cache of container lists.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/config.hpp"
#include "jl/core/state.hpp"

namespace jl::complete {

// How long a host's list of running containers is reused.
inline constexpr std::chrono::seconds kCacheLifetime{60};

// $XDG_CACHE_HOME/jl, else ~/.cache/jl.
std::string cache_dir(const Env& env);

// The cache file name (no directory) for the running containers of `host` reached with
// `ssh_config`: readable, safe as a file name, and distinct for distinct (host, config).
std::string containers_cache_name(std::string_view host,
                                  const std::optional<std::string>& ssh_config);

// Is a cache file written at `written` still good at `now`? Never when it is from the future.
bool cache_fresh(std::chrono::system_clock::time_point written,
                 std::chrono::system_clock::time_point now,
                 std::chrono::seconds lifetime = kCacheLifetime);

// The command that lists the names of the running containers: `docker` (the docker command's
// words, e.g. {"docker"} or {"sudo", "docker"}) + ps --format '{{.Names}}', every word quoted.
std::string docker_ps_command(const std::vector<std::string>& docker);

// The container names in docker ps output (or a cache file): one per line; lines that cannot
// be a container name are dropped, repeats too.
std::vector<std::string> parse_container_names(std::string_view text);

// The containers of the known sessions, on `host` only when one is given.
std::vector<std::string> session_containers(const State& state,
                                            const std::optional<std::string>& host);

// The hosts of the known sessions.
std::vector<std::string> session_hosts(const State& state);

// `a` followed by the members of `b` not already in it.
std::vector<std::string> merge_unique(std::vector<std::string> a,
                                      const std::vector<std::string>& b);

}  // namespace jl::complete
