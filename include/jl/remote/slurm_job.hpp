#pragma once

// A Slurm job as a placement: Jupyter runs in a job on a compute node, reached through the login
// node (the SSH host). prepare() submits the job (or finds this user's live job of the same
// name) and waits while it is pending; the probe, the start, the log and the config reader run
// as steps of the job (srun --overlap); stopping cancels the job. See core/slurm.hpp for how the
// job runs the server.

#include <optional>
#include <string>

#include "jl/core/slurm.hpp"
#include "jl/remote/placement.hpp"

namespace jl::remote {

class SlurmJob final : public Placement {
 public:
  // `name` is the session's name (the job is "jl-NAME"); `job_id`, when known, the job jl
  // recorded. With `options`, prepare() may submit a job; without, it only waits for the one
  // there is.
  SlurmJob(Host& host, std::string name, std::string job_id = {},
           std::optional<slurm::JobOptions> options = std::nullopt)
      : m_host(host),
        m_name(std::move(name)),
        m_job_id(std::move(job_id)),
        m_options(std::move(options)) {}

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

  // Submit the job and return at once (jl up --no-wait): a job of this name that is live
  // already is taken instead. Its state as Slurm saw it just after.
  slurm::Job submit_only(ssh::Deadline deadline);

  // What Slurm says of the job now (job_state_command); `known` false when there is no job.
  slurm::Job query(ssh::Deadline deadline);
  // The job as the last query (or replaced_of) saw it.
  const slurm::Job& last() const { return m_last; }
  const std::string& job_id() const { return m_job_id; }
  // Whether this process submitted the job (an interrupted jl up cancels it again).
  bool submitted_here() const { return m_submitted; }

  // Cancel the job; true when it is gone or had ended. Never throws for what Slurm says.
  bool cancel(ssh::Deadline deadline, std::string* error = nullptr);

 private:
  // This user's live job named jl-NAME, if any.
  std::optional<slurm::Job> find_live(ssh::Deadline deadline);
  // Submit the job; throws jl::Error with Slurm's reason when it refuses.
  void submit(ssh::Deadline deadline);
  // The job must be known and running: throws jl::Error naming its end otherwise.
  void require_running();

  Host& m_host;
  std::string m_name;
  std::string m_job_id;
  std::optional<slurm::JobOptions> m_options;
  bool m_submitted = false;
  slurm::Job m_last;
  std::string m_nonce;  // of the last replaced_command
};

}  // namespace jl::remote
