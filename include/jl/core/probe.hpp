#pragma once

// The remote side of jl, as data: the shell scripts jl runs on the host (and through
// `docker exec` inside the container), and parsers for what they print. Nothing here talks
// to the network; the transport runs the commands built here.
//
// Every script marks its output with lines "@@NONCE KIND ARGS..." so that the output of
// docker and Jupyter (which jl does not control) cannot be mistaken for jl's own markers.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/jupyter.hpp"

namespace jl::probe {

// One marked section of a script's output.
struct Section {
  std::string kind;
  std::vector<std::string> args;  // the words after the kind
  std::string rest;               // the same, as one string (for paths with spaces)
  std::string body;               // the lines up to the next marker, newline-terminated
};

// Split output into sections. Text before the first marker is returned as kind "".
std::vector<Section> split_sections(std::string_view output, std::string_view nonce);

// What `docker inspect` says about a container.
struct ContainerInfo {
  std::string name;  // without the leading '/'
  std::string id;
  std::string status;  // running, exited, paused, ...
  bool running = false;
  std::string user;          // Config.User, may be empty (the image's default, usually root)
  std::string network_mode;  // default, bridge, host, none, container:ID, or a network name
  std::vector<std::pair<std::string, std::string>> networks;  // (network, IPv4 address)
};

// Parse one JSON object of `docker inspect`. Throws std::runtime_error when it is not one.
ContainerInfo parse_inspect(std::string_view json);

// The address the server should listen on, as reached from the host: the container's IP on its
// Docker network, or 127.0.0.1 for a host-network container. Nothing when it has none.
std::optional<std::string> server_address(const ContainerInfo& info);

enum class Docker { ok, missing, permission_denied, daemon_down, error };

// What a failed docker command's message means.
Docker classify_docker_error(std::string_view message);

// What jl knows of docker, the container and Jupyter in it: one type for every command, filled
// by the probe script (start) and by the doctor's script, which report the same markers.
struct Facts {
  Docker docker = Docker::ok;
  std::string docker_message;  // docker's own words when it failed
  std::optional<ContainerInfo> container;
  bool no_such_container = false;
  std::vector<std::string> running_containers;  // filled when there is no such container
  bool exec_ok = false;
  std::string exec_error;
  long long uid = -1;
  std::string user;
  std::string home;
  std::set<jupyter::App> apps;
  std::string runtime_dir;
  std::vector<jupyter::RuntimeInfo> servers;   // runtime files whose process is alive
  std::vector<std::string> bad_runtime_files;  // "path: reason"
  std::set<int> busy_ports;
};

// Shell functions for scripts that run in the container (they expect the nonce in $n): `m KIND
// ARGS` prints a marker, `alive PID`, `runtime_dir`, and `live_servers DIR` prints the runtime
// files of live servers as "runtime FILE" sections.
std::string_view container_prelude();

// The docker command when the user configured none.
inline const std::vector<std::string> kDefaultDocker = {"docker"};

// `docker` itself, after checking that it names a command (std::invalid_argument when it is
// empty): every script builder takes the docker command through here.
const std::vector<std::string>& docker_words(const std::vector<std::string>& docker);

// The command that gathers everything `start` needs in one exec: docker's state, the
// container's state, user, Jupyter apps, live servers and listening ports. `docker` is the
// docker command as words (e.g. {"sudo", "-n", "docker"} or {"podman"}); it must not be empty
// (std::invalid_argument).
std::string probe_command(std::string_view nonce, std::string_view container,
                          const std::vector<std::string>& docker = kDefaultDocker);
Facts parse_probe(std::string_view output, std::string_view nonce);
// Take in one section of a script's output that reports a fact (docker-missing, inspect, ps,
// exec, exec-rc, id, home, app, runtime-dir, runtime, tcp); false for any other kind.
bool absorb(Facts& facts, const Section& section);

// Arguments of the start script.
struct StartSpec {
  std::string container;
  jupyter::App app = jupyter::App::lab;
  std::string ip;
  int port = 8888;
  std::string dir;  // empty: the container's working directory
  bool allow_root = false;
  int timeout_s = 60;
  std::vector<std::string> extra_args;  // the idle timeout's options first, when there is one
  int idle_timeout_s = 0;               // 0: none (recorded with the session)
};

// The same probe as one conversation that can go on to start Jupyter, so that `start` costs a
// single exec: after the probe the script prints a "plan?" marker and reads a plan on stdin,
// either quit_plan() or start_plan(). A start runs Jupyter detached and waits until its runtime
// file appears. The token arrives as the plan's last line and reaches Jupyter in the
// environment (JUPYTER_TOKEN), so it is in no process's argv.
std::string probe_and_start_command(std::string_view nonce, std::string_view container,
                                    const std::vector<std::string>& docker = kDefaultDocker);
bool waiting_for_plan(std::string_view output, std::string_view nonce);
std::string quit_plan();
// Throws std::invalid_argument when a parameter contains a line break.
std::string start_plan(const StartSpec& spec, std::string_view token);

struct StartResult {
  enum class Outcome { ready, died, slow, failed } outcome = Outcome::failed;
  long long pid = 0;
  std::string log;                              // log file inside the container
  std::optional<jupyter::RuntimeInfo> runtime;  // when ready
  std::string detail;          // the last lines of the log (died/slow), or why it failed
  std::optional<int> exec_rc;  // how `docker exec` ended, when the output got that far
  // When the container's runtime directory could not be written (HOME not writable): the
  // directory Jupyter would have used, and the one of jl's own it uses instead.
  std::string runtime_unwritable;
  std::string runtime_moved_to;
  // What the server answered, with the token, to GET api/status asked from inside the
  // container at the address a tunnel uses (0: nothing answered); nothing when the script had
  // no Python to ask with. `version`: from GET api when the runtime file has none.
  std::optional<int> answered;
  std::string answered_version;
};
StartResult parse_start(std::string_view output, std::string_view nonce);

// While the start script waits for Jupyter it reports, once a second, how long it has waited
// and the last line of Jupyter's log.
struct StartProgress {
  int seconds = 0;
  std::string last_log;
};
// The latest report in the output so far, and how many there were.
std::optional<StartProgress> last_progress(std::string_view output, std::string_view nonce,
                                           int* count = nullptr);
// Whether the start script's output is complete (its verdict arrived).
bool start_finished(std::string_view output, std::string_view nonce);

// The command that waits for a server process to end, escalating to SIGTERM and SIGKILL, and
// removes its runtime file once it is gone. `shutdown_sent` says whether a graceful
// shutdown was requested first (then it waits longer before signalling).
std::string stop_command(std::string_view nonce, std::string_view container, long long pid,
                         std::string_view runtime_file, bool shutdown_sent,
                         const std::vector<std::string>& docker = kDefaultDocker);

// How a server ended: it had already, it shut down when asked, SIGTERM or SIGKILL ended it, it
// still runs, or its container is gone or stopped (so no server is left in it).
// job_cancelled: jl cancelled the Slurm job that ran it; job_ended: that job had ended.
enum class StopHow {
  unknown,
  already,
  shutdown,
  term,
  kill,
  alive,
  container_gone,
  job_cancelled,
  job_ended
};

struct StopResult {
  bool gone = false;
  StopHow how = StopHow::unknown;
  std::string detail;
};

// In words, for `jl stop`'s output ("shut down cleanly", ...). `shutdown_sent`: a graceful
// shutdown was asked for (an unknown end then counts as that).
std::string_view describe(StopHow how, bool shutdown_sent);
StopResult parse_stop(std::string_view output, std::string_view nonce);

// What became of a container since jl recorded its id: the same container, another one under
// the same name (re-created, e.g. from a newer image), or none by that name.
enum class Identity { same, recreated, removed, unknown };

// The command that prints the id of the container named `container` (docker inspect).
std::string container_id_command(std::string_view container,
                                 const std::vector<std::string>& docker = kDefaultDocker);

// Compare what container_id_command printed (and its exit status) with the id jl recorded.
// `now_id` receives the id in force, when there is one. unknown: docker failed otherwise, or
// nothing was recorded.
Identity parse_container_id(int exit_status, std::string_view output, std::string_view recorded,
                            std::string* now_id = nullptr);

// A container id as `docker ps` shows it: the first 12 characters.
std::string short_id(std::string_view id);

// A valid container id: 12 to 64 lower-case hex digits.
bool valid_container_id(std::string_view id);

// In words, for a container that is not the one jl started Jupyter in: what happened and what
// to do. Empty message for Identity::same and unknown.
struct IdentityWords {
  std::string message;
  std::string hint;
};
IdentityWords identity_words(Identity identity, std::string_view container, std::string_view host,
                             std::string_view recorded, std::string_view now_id);

}  // namespace jl::probe
