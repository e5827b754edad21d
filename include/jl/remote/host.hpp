#pragma once

// The remote host over one SSH session: its docker command, asking a server whether it answers
// (HTTP through a direct-tcpip channel, the same for every placement), the running containers,
// and the doctor's checks. What runs in one place (a container) is a Placement's
// (placement.hpp). Both turn what the scripts report into jl::Error with words a person can act
// on.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/doctor.hpp"
#include "jl/core/error.hpp"
#include "jl/core/gpus.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/jupyter_config.hpp"
#include "jl/core/probe.hpp"
#include "jl/core/problem.hpp"
#include "jl/core/state.hpp"
#include "jl/ssh/session.hpp"

namespace jl::remote {

// How a server answered GET /api/status.
struct Health {
  bool reachable = false;      // a TCP connection could be made
  int http_status = 0;         // 200 when it answers with this token
  std::string detail;          // why not, in words
  jupyter::Activity activity;  // when it answers
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

  // GET {base_url}api/status with the token, through a direct-tcpip channel. `container`, when
  // given, names where the address is in the words of Health::detail.
  Health status(const std::string& address, int port, const std::string& base_url,
                const std::string& token, ssh::Deadline deadline, std::string_view container = {});
  // The same in two halves, so that checks of several servers (and a script) overlap: the
  // exchange started (over a master's connection on a channel it kept, in one round trip),
  // then what its answer says.
  ssh::TcpExchange start_status(const std::string& address, int port, const std::string& base_url,
                                const std::string& token, ssh::Deadline deadline);
  static Health status_of(const ssh::TcpResult& tcp, const std::string& address, int port,
                          std::string_view container = {});

  // The server's version from GET {base_url}api (which needs no token). Empty if unknown.
  std::string version(const std::string& address, int port, const std::string& base_url,
                      ssh::Deadline deadline);

  // POST {base_url}api/shutdown. True when the server accepted.
  bool request_shutdown(const std::string& address, int port, const std::string& base_url,
                        const std::string& token, ssh::Deadline deadline);

  // The SSH user's ids and home on the host (`id -u`, `id -g`, $HOME), in one exec.
  struct UserIds {
    long long uid = -1;
    long long gid = -1;
    std::string home;
  };
  UserIds user_ids(ssh::Deadline deadline);

  // The names of the running containers (docker ps), for completion. Nothing when docker
  // fails; `why` then gets its exit status and words.
  std::optional<std::vector<std::string>> running_containers(ssh::Deadline deadline,
                                                             std::string* why = nullptr);

  // The GPUs (nvidia-smi), the compute processes on them and the containers they run in, in
  // one exec. Never throws for what the host answers: Report::tool says whether nvidia-smi is
  // there and answered.
  gpus::Report gpus(ssh::Deadline deadline);
  // The same in two halves, for a caller that runs it with other commands in one exec
  // (helper::batch): the command, and what its result says.
  std::string gpus_command(const std::string& nonce) const;
  static gpus::Report gpus_of(const std::string& out, const std::string& err,
                              const std::string& nonce);
  // The same, each GPU with its processes. Throws jl::Error when the host has no nvidia-smi or
  // it fails; `asked` is the --gpus value that needs them (for the hint), when there is one.
  std::vector<gpus::Use> gpu_usage(ssh::Deadline deadline, const std::string& asked = {});

  // The doctor's script: docker on the host, and in `container` (when given) its user, Jupyter,
  // servers, who holds `port`, and the GPUs. An answer cut short by the deadline gives what came
  // so far, with timed_out set.
  doctor::Remote doctor(const std::optional<std::string>& container, int port,
                        ssh::Deadline deadline);

 private:
  ssh::Session& m_session;
  std::string m_name;
  std::vector<std::string> m_docker;
};

}  // namespace jl::remote
