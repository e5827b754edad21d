#pragma once

// `jl doctor` as data: the checks' results and how they are printed, and the one remote script
// that gathers docker's and the container's side (with the parser of what it prints). Nothing
// here talks to the network.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "jl/core/jupyter.hpp"
#include "jl/core/jupyter_config.hpp"
#include "jl/core/probe.hpp"

namespace jl::doctor {

// ok: fine. info: nothing wrong, just facts. warn: works, but something may bite. fail: jl will
// not work until it is fixed. skip: not run, because an earlier check failed or it does not
// apply (the detail says which).
enum class Status { ok, info, warn, fail, skip };
std::string_view to_string(Status s);

struct Check {
  std::string name;  // stable identifier, e.g. "host-key"
  Status status = Status::ok;
  std::string detail;
  std::string fix;  // empty when there is nothing to do
};

struct Report {
  std::string host;
  std::optional<std::string> container;
  std::vector<Check> checks;
  double seconds = 0;

  // False when any check failed.
  bool ok() const;
  Check& add(std::string name, Status status, std::string detail, std::string fix = {});
};

// One check as text: "ok    host key        DETAIL", and a "fix: ..." line under it when it has
// one (newline-terminated).
std::string render_check(const Check& check);
// The last line: "doctor: all checks passed (1.2 s)" or "doctor: 1 failed, 2 warnings (1.2 s)".
std::string render_summary(const Report& report);
// Every check, then the summary. `problems_only` keeps only fail and warn lines (for -q).
std::string render_text(const Report& report, bool problems_only);

// {"ok", "host", "container", "seconds", "checks": [{"name", "status", "detail", "fix"}]}
nlohmann::json to_json(const Report& report);

// What the remote script found.
struct App {
  std::string executable;  // jupyter-lab, jupyter-notebook, jupyter-server
  std::string path;
  std::string version;  // empty when it could not be learned
};

struct PortHolder {
  long long pid = 0;
  std::string command;  // its command line, spaces for NULs
};

struct Remote {
  probe::Facts facts;          // docker, the container, its user, apps, servers, busy ports
  std::string docker_version;  // the daemon's version, when it said
  bool docker_listed = false;  // `docker ps` worked
  // Only with a container:
  bool inspected = false;
  bool exec_started = false;                            // the script inside the container reported
  std::vector<App> apps;                                // with their paths and versions
  std::optional<jupyter::ConfigReport> jupyter_config;  // when an app's Python could read it
  bool port_checked = false;
  std::vector<PortHolder> port_holders;  // processes listening on the port asked about
  bool holder_hidden = false;            // it is busy, but no visible process has the socket
  enum class Gpu { unknown, none, listed, failed } gpu = Gpu::unknown;
  std::vector<std::string> gpus;  // nvidia-smi -L lines
  std::string gpu_error;
  bool complete = false;   // the script got to its end marker
  bool timed_out = false;  // the answer was cut short by the deadline (set by the caller)
};

// The script: docker on the host (installed, reachable, its version, running containers), then,
// with a container: `docker inspect`, and inside it: user, Jupyter apps and their versions,
// live servers, whether `port` is busy and who holds it, and `nvidia-smi -L`. Each slow step runs
// under `timeout` where the system has it. `docker` is the docker command as words (not empty:
// std::invalid_argument).
std::string command(std::string_view nonce, const std::optional<std::string>& container, int port,
                    const std::vector<std::string>& docker = probe::kDefaultDocker);
Remote parse(std::string_view output, std::string_view nonce);

// Inodes of sockets listening on TCP `port`, from /proc/net/tcp and /proc/net/tcp6 text.
std::set<unsigned long long> listening_inodes(std::string_view proc_net_tcp, int port);

}  // namespace jl::doctor
