#pragma once

// Docker and Jupyter on the remote host, over one SSH session: the probe, starting and stopping
// a server, and asking a server whether it answers. Turns what the scripts report into
// jl::Error with words a person can act on.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/doctor.hpp"
#include "jl/core/error.hpp"
#include "jl/core/jupyter_config.hpp"
#include "jl/core/probe.hpp"
#include "jl/core/problem.hpp"
#include "jl/core/state.hpp"
#include "jl/ssh/session.hpp"

namespace jl::remote {

// How a server answered GET /api/status.
struct Health {
  bool reachable = false;  // a TCP connection could be made
  int http_status = 0;     // 200 when it answers with this token
  std::string detail;      // why not, in words
  bool answers() const { return reachable && http_status == 200; }
  // It answers, and refuses the token: waiting will not change that.
  bool refuses_token() const { return reachable && (http_status == 401 || http_status == 403); }
};

class Host {
 public:
  // `docker` is the docker command as words (docker, sudo -n docker, podman, ...).
  Host(ssh::Session& session, std::string name,
       std::vector<std::string> docker = probe::kDefaultDocker)
      : m_session(session), m_name(std::move(name)), m_docker(std::move(docker)) {}

  const std::string& name() const { return m_name; }
  const std::vector<std::string>& docker() const { return m_docker; }
  ssh::Session& session() { return m_session; }
  // The host, `container` and docker command, for the words of a problem.
  Subject subject(const std::string& container) const;

  // Gather the container's state in one exec. Throws jl::Error for docker problems, a missing or
  // stopped container, or a container jl cannot exec into.
  probe::Facts probe(const std::string& container, ssh::Deadline deadline);

  // A probe that can go on to start Jupyter in the same exec (see probe_and_start_command).
  struct PendingStart {
    ssh::RemoteProcess process;
    std::string nonce;
    probe::Facts probe;
  };

  // Probe, and keep the conversation open for start() or skip_start(). Throws like probe().
  PendingStart probe_for_start(const std::string& container, ssh::Deadline deadline);

  // Start Jupyter detached; the token goes over stdin. Returns the start script's report.
  // `progress`, when given, hears once a second how long the script has waited so far.
  probe::StartResult start(PendingStart& pending, const probe::StartSpec& spec,
                           const std::string& token, ssh::Deadline deadline,
                           const std::function<void(const probe::StartProgress&)>& progress = {});

  // End the conversation without starting anything.
  void skip_start(PendingStart& pending, ssh::Deadline deadline);

  // GET {base_url}api/status with the token, through a direct-tcpip channel. `container`, when
  // given, names where the address is in the words of Health::detail.
  Health status(const std::string& address, int port, const std::string& base_url,
                const std::string& token, ssh::Deadline deadline, std::string_view container = {});

  // The server's version from GET {base_url}api (which needs no token). Empty if unknown.
  std::string version(const std::string& address, int port, const std::string& base_url,
                      ssh::Deadline deadline);

  // The Jupyter config files in the container, read by the app's own Python. Never throws for
  // what the container answers (read=false and an error then).
  jupyter::ConfigReport jupyter_config(const std::string& container, ssh::Deadline deadline);

  // POST {base_url}api/shutdown. True when the server accepted.
  bool request_shutdown(const std::string& address, int port, const std::string& base_url,
                        const std::string& token, ssh::Deadline deadline);

  // Wait for the server process to end (escalating to signals) and clean up its runtime file.
  probe::StopResult wait_gone(const std::string& container, long long pid,
                              const std::string& runtime_file, bool shutdown_sent,
                              ssh::Deadline deadline);

  // Whether the container named `container` is still the one with id `recorded`. Never throws
  // for docker's answers (unknown when docker fails otherwise); `now_id` gets the current id.
  probe::Identity identify(const std::string& container, const std::string& recorded,
                           ssh::Deadline deadline, std::string* now_id = nullptr);

  // The names of the running containers (docker ps), for completion. Nothing when docker
  // fails; `why` then gets its exit status and words.
  std::optional<std::vector<std::string>> running_containers(ssh::Deadline deadline,
                                                             std::string* why = nullptr);

  // The doctor's script: docker on the host, and in `container` (when given) its user, Jupyter,
  // servers, who holds `port`, and the GPUs. An answer cut short by the deadline gives what came
  // so far, with timed_out set.
  doctor::Remote doctor(const std::optional<std::string>& container, int port,
                        ssh::Deadline deadline);

  // The log reader (logs::command) for `log` in `target` (a container name or id), started: its
  // output is for a logs::Reader made with `nonce`. `lines` last lines, then more with `follow`
  // until its stdin closes.
  ssh::RemoteProcess read_log(const std::string& nonce, const std::string& target,
                              const std::string& log, int lines, bool follow,
                              ssh::Deadline deadline);

  // For a session whose server does not answer: an error in words when its container was
  // re-created or removed since jl recorded it, else nothing (no check without a recorded id).
  std::optional<Error> replaced_container(const SessionRecord& s, ssh::Deadline deadline);

 private:
  void check_probe(const probe::Facts& r, const std::string& container,
                   const std::string& err) const;

  ssh::Session& m_session;
  std::string m_name;
  std::vector<std::string> m_docker;
};

}  // namespace jl::remote
