#pragma once

// The decisions of `jl start` (and `jl up`), made from the probe's facts without any I/O: which
// running server to reuse, else which app, address, port and directory to start Jupyter with,
// else which problem stops it; the session record either way; and what a start that did not
// get ready means. cmd/start.cpp only runs the steps.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "jl/core/error.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/probe.hpp"
#include "jl/core/problem.hpp"
#include "jl/core/state.hpp"

namespace jl::plan {

// The settings in force for the start (flags, environment, config file, defaults).
struct Settings {
  std::optional<jupyter::App> app;  // nothing: auto (lab, else notebook, else server)
  std::optional<int> port;          // nothing: 8888, or the next free one
  std::string dir;                  // empty: the container's working directory
  int timeout_s = 60;
  std::vector<std::string> extra_args;
  std::optional<int> idle_timeout_s;  // Jupyter's own culling, then its own shutdown
};

// The Jupyter options of an idle timeout: kernels idle (no execution, connected or not) for
// `seconds` are shut down, checked every seconds/4 (10 s to 5 min), and then the server once it
// has had no kernels, terminals or requests for as long. Notebook 6 reads NotebookApp's option,
// apps on jupyter_server ServerApp's.
std::vector<std::string> idle_arguments(jupyter::App app, int seconds);

// A server that runs already and that the host can reach: reused if it answers.
struct Candidate {
  jupyter::RuntimeInfo server;
  std::string address;  // where the host reaches it
  // When reusing it would not apply the idle timeout asked for: the words of a warning.
  std::string idle_differs;
};

// Why nothing can be started.
struct Refusal {
  Problem problem;
  Subject subject;
  Error error() const { return to_error(problem, subject); }
};

struct StartPlan {
  std::vector<std::string> warnings;  // to say before anything else, in order
  std::vector<Candidate> reuse;       // try in order: the first that answers is reused
  // What to do when none of them answers.
  std::variant<probe::StartSpec, Refusal> otherwise;
};

// What stops work in the container, from a probe's facts (docker, the container, exec), with
// the subject's details filled in for its words; nothing when the container is usable. `err` is
// what the probe printed on stderr.
std::optional<Problem> probe_problem(const probe::Facts& facts, Subject& subject,
                                     const std::string& err);

// `where` names the host, container and docker command (for the words of a refusal). `known` is
// the session the state file holds for the same host and container, if any.
StartPlan plan_start(const probe::Facts& facts, const Settings& settings, const Subject& where,
                     const SessionRecord* known);

// Where a server found through its runtime file can be reached from the host, if at all:
// `container_address` is the container's own address (probe::server_address).
std::optional<std::string> reachable_address(const jupyter::RuntimeInfo& server,
                                             const probe::ContainerInfo& container,
                                             const std::string& container_address);

// Who asks, for the session record.
struct Origin {
  std::string host;
  std::optional<std::string> ssh_config;
  std::string container;
  // A Slurm job's session: the job and its node (recorded with the session).
  std::string job_id;
  std::string node;
};

// The record of a reused server. `known` keeps its start time and log when it is the same
// server; `version` is the server's version when its runtime file did not say; `now` is the
// time to record when jl did not know the server before.
SessionRecord reused_record(const Origin& origin, const Candidate& candidate,
                            const probe::Facts& facts, const SessionRecord* known,
                            const std::string& version, const std::string& now);

// The record of a server jl started (result.runtime must be set). It keeps the local port of
// `known`, so that browser tabs stay valid across restarts.
SessionRecord started_record(const Origin& origin, const probe::StartSpec& spec,
                             const probe::StartResult& result, const probe::Facts& facts,
                             const SessionRecord* known, const std::string& token,
                             const std::string& version, const std::string& now);

// Why a start that did not get ready failed, as the error to report. Outcome::slow leaves a
// server that must be stopped (the caller does, before throwing).
Error start_error(const probe::StartResult& result, const probe::StartSpec& spec,
                  const Subject& where);

// The local ports a tunnel's listener tries, in order: the one asked for alone (when it is
// taken, that is the answer); else the session's previous one (so that browser tabs stay
// valid), then the remote port and the 199 after it (from 8888 when it is not known), and last
// 0, any free port.
std::vector<int> local_port_order(std::optional<int> requested, int previous, int remote_port);

}  // namespace jl::plan
