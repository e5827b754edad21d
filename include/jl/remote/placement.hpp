#pragma once

// Where Jupyter runs, how jl finds and starts it there, and how it is stopped: a placement.
// Commands talk to a placement, never to docker: start asks one for the facts and to start a
// server, stop to wait for a server's end, status, open and logs whether the place a session
// was recorded in is still there, logs for the log's reader. Reaching a server is the same for
// every placement (an address the SSH host reaches; see Host::status), so it is not here.
//
// Today's placement is a running Docker container (DockerContainer). A new one (a container jl
// creates from an image, a Slurm job) is a new class here and a case in placement_of /
// placement_for; start, stop, status, open and logs do not change.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "jl/core/container_spec.hpp"
#include "jl/core/error.hpp"
#include "jl/core/jupyter_config.hpp"
#include "jl/core/probe.hpp"
#include "jl/core/problem.hpp"
#include "jl/core/pull.hpp"
#include "jl/core/state.hpp"
#include "jl/remote/host.hpp"
#include "jl/ssh/session.hpp"

namespace jl::remote {

// A probe that can go on to start Jupyter in the same conversation.
struct PendingStart {
  ssh::RemoteProcess process;
  std::string nonce;
  probe::Facts probe;
};

class Placement {
 public:
  Placement() = default;
  Placement(const Placement&) = delete;
  Placement& operator=(const Placement&) = delete;
  virtual ~Placement() = default;

  // The host and the place, for the words of a problem.
  virtual Subject subject() const = 0;

  // A pull of the image that prepare() ran.
  struct Pulled {
    std::string image;
    std::string digest;       // "sha256:...", as docker said
    bool up_to_date = false;  // there was nothing new to download
    pull::Progress progress;  // at the end: the layers and the bytes downloaded
    double seconds = 0;
  };

  // What prepare() did.
  struct Prepared {
    bool created = false;               // the place was made afresh
    bool started = false;               // it was there, stopped, and was started again
    std::optional<Pulled> pulled;       // the image was pulled first
    std::vector<std::string> warnings;  // to say (e.g. a spec that differs from the one asked)
    std::vector<int> gpus;              // the GPUs --gpus free:N chose for a container made afresh
    std::string note;                   // what was done, in a line for people (a job that runs)
  };

  // Who hears about a pull while it runs (any may be empty): when it begins, each time
  // docker's progress changes, and when it has ended well (the place is made next).
  struct PullWatch {
    std::function<void(const std::string& image)> begins;
    std::function<void(const pull::Progress&)> progress;
    std::function<void()> ended;
    // The place is not ready and waits for something else (a Slurm job in the queue): what
    // it waits for, in words, each time that changes.
    std::function<void(const std::string& words)> waiting;
  };

  // Make the place ready for a start (create it, or start it again, as it was asked to be);
  // nothing to do, and no round trip, for a place that is simply there. Throws jl::Error for a
  // problem. `deadline` covers a pull of the image too.
  virtual Prepared prepare(ssh::Deadline deadline, const PullWatch& watch) = 0;
  Prepared prepare(ssh::Deadline deadline) { return prepare(deadline, PullWatch{}); }

  // The facts in one exec. Throws jl::Error for a problem that rules out any start there (docker
  // missing, no such container, stopped, no shell, ...).
  virtual probe::Facts probe(ssh::Deadline deadline) = 0;

  // The same, keeping the conversation open for start() or skip_start().
  virtual PendingStart probe_for_start(ssh::Deadline deadline) = 0;

  // Start Jupyter detached; the token goes over stdin. Returns the start script's report.
  // `progress`, when given, hears once a second how long the script has waited so far.
  virtual probe::StartResult start(
      PendingStart& pending, const probe::StartSpec& spec, const std::string& token,
      ssh::Deadline deadline,
      const std::function<void(const probe::StartProgress&)>& progress = {}) = 0;

  // End the conversation without starting anything.
  virtual void skip_start(PendingStart& pending, ssh::Deadline deadline) = 0;

  // The Jupyter config files there, read by the app's own Python. Never throws for what the
  // place answers (read=false and an error then).
  virtual jupyter::ConfigReport jupyter_config(ssh::Deadline deadline) = 0;

  // Wait for the server process to end (escalating to signals) and clean up its runtime file.
  // A place that is gone or stopped has no server left (StopHow::container_gone).
  virtual probe::StopResult wait_gone(long long pid, const std::string& runtime_file,
                                      bool shutdown_sent, ssh::Deadline deadline) = 0;

  // Whether the place is still the one with id `recorded`. Never throws for what the place
  // answers (unknown then); `now_id` gets the id in force.
  virtual probe::Identity identify(const std::string& recorded, ssh::Deadline deadline,
                                   std::string* now_id = nullptr) = 0;

  // For a session whose server does not answer: an error in words when its place was replaced or
  // removed since jl recorded it, else nothing (no check without a recorded id).
  virtual std::optional<Error> replaced(const SessionRecord& s, ssh::Deadline deadline) = 0;
  // The same in two halves, for a caller that runs it with other commands in one exec
  // (helper::batch): the command (empty: nothing to ask), and what its result says.
  virtual std::string replaced_command(const SessionRecord& s) = 0;
  virtual std::optional<Error> replaced_of(const SessionRecord& s, int exit_status,
                                           const std::string& output) = 0;

  // The log reader (logs::command) for `log`, started: its output is for a logs::Reader made
  // with `nonce`. `lines` last lines, then more with `follow` until its stdin closes.
  virtual ssh::RemoteProcess read_log(const std::string& nonce, const std::string& log, int lines,
                                      bool follow, ssh::Deadline deadline) = 0;

  // Whether jl made the place (jl rm removes only those): nothing when there is no such place.
  // Throws jl::Error for a problem that keeps it from knowing.
  virtual std::optional<bool> made_by_jl(ssh::Deadline deadline) = 0;

  // Remove the place and everything running in it; volumes and images stay.
  virtual void remove(ssh::Deadline deadline) = 0;
};

// Send the plan to a probe that waits for one (probe_for_start) and follow the start to its
// verdict, telling `progress`; an interrupt or a timeout stops the server it may have started
// (place.wait_gone). The body of every placement's start().
probe::StartResult start_as_planned(
    Placement& place, PendingStart& pending, const probe::StartSpec& spec, const std::string& token,
    ssh::Deadline deadline, const std::function<void(const probe::StartProgress&)>& progress);

// How to make a container that is not there (or not running): the spec to create it from, when
// pulling its image is allowed, and whether a stopped one may be started.
struct Recipe {
  std::optional<container::Spec> spec;  // nothing: never create
  container::Pull pull = container::Pull::missing;
  bool start_stopped = false;  // start a stopped container even when jl did not make it
};

// A Docker container on the host, reached with the host's docker command: one that runs, or
// one jl creates from an image (with a Recipe) and starts again when it has stopped.
class DockerContainer final : public Placement {
 public:
  // `name` is the container's name; `id`, when known, the id jl recorded: the server and its log
  // are looked for in that very container (one re-created under the name does not hold them).
  DockerContainer(Host& host, std::string name, std::string id = {}, Recipe recipe = {})
      : m_host(host), m_name(std::move(name)), m_id(std::move(id)), m_recipe(std::move(recipe)) {}

  Subject subject() const override { return m_host.subject(m_name); }
  using Placement::prepare;
  Prepared prepare(ssh::Deadline deadline, const PullWatch& watch) override;
  probe::Facts probe(ssh::Deadline deadline) override;
  PendingStart probe_for_start(ssh::Deadline deadline) override;
  probe::StartResult start(
      PendingStart& pending, const probe::StartSpec& spec, const std::string& token,
      ssh::Deadline deadline,
      const std::function<void(const probe::StartProgress&)>& progress = {}) override;
  void skip_start(PendingStart& pending, ssh::Deadline deadline) override;
  jupyter::ConfigReport jupyter_config(ssh::Deadline deadline) override;
  probe::StopResult wait_gone(long long pid, const std::string& runtime_file, bool shutdown_sent,
                              ssh::Deadline deadline) override;
  probe::Identity identify(const std::string& recorded, ssh::Deadline deadline,
                           std::string* now_id = nullptr) override;
  std::optional<Error> replaced(const SessionRecord& s, ssh::Deadline deadline) override;
  std::string replaced_command(const SessionRecord& s) override;
  std::optional<Error> replaced_of(const SessionRecord& s, int exit_status,
                                   const std::string& output) override;
  ssh::RemoteProcess read_log(const std::string& nonce, const std::string& log, int lines,
                              bool follow, ssh::Deadline deadline) override;
  std::optional<bool> made_by_jl(ssh::Deadline deadline) override;
  void remove(ssh::Deadline deadline) override;

 private:
  // The container by id when jl recorded one, else by name.
  const std::string& target() const { return m_id.empty() ? m_name : m_id; }
  void check_probe(const probe::Facts& r, const std::string& err) const;
  // `count` GPUs with no process on them (--gpus free:N); throws jl::Error when the host has no
  // NVIDIA driver or fewer are free (naming who holds the others).
  std::vector<int> free_gpus(int count, ssh::Deadline deadline);
  // Pull `image` on a terminal of the SSH channel (docker prints byte counts only there),
  // telling `watch`; throws jl::Error naming docker's reason when it fails.
  Pulled pull_image(const std::string& image, ssh::Deadline deadline, const PullWatch& watch);

  Host& m_host;
  std::string m_name;
  std::string m_id;
  Recipe m_recipe;
};

// The placement named on the command line (jl start NAME, jl forward NAME:PORT), made as
// `recipe` says when it is not there.
std::unique_ptr<Placement> placement_for(Host& host, const std::string& name, Recipe recipe = {});

// The placement of a recorded session.
std::unique_ptr<Placement> placement_of(Host& host, const SessionRecord& s);

}  // namespace jl::remote
