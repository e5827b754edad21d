#include "jl/remote/slurm_job.hpp"

#include <fmt/format.h>

#include <thread>

#include "jl/core/jupyter_config.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/random.hpp"

namespace jl::remote {

namespace {

using namespace std::chrono_literals;

// A wait for Slurm itself (one squeue, sbatch or scancel): never longer than this.
ssh::Deadline within(ssh::Deadline deadline, std::chrono::seconds most) {
  return std::min(deadline, ssh::deadline_in(most));
}

}  // namespace

slurm::Job SlurmJob::query(ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
  auto exec =
      m_host.session().exec(slurm::job_state_command(nonce, m_job_id), {}, within(deadline, 30s));
  m_last = slurm::parse_job_state(exec.out + exec.err, nonce, m_job_id);
  if (!m_last.query_error.empty() && !m_last.known) {
    throw Error(Exit::remote,
                fmt::format("cannot ask Slurm on {} about job {}: {}", m_host.name(), m_job_id,
                            m_last.query_error),
                "is slurmctld up? try: jl doctor --slurm");
  }
  return m_last;
}

std::optional<slurm::Job> SlurmJob::find_live(ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
  auto exec =
      m_host.session().exec(slurm::find_job_command(nonce, m_name), {}, within(deadline, 30s));
  auto job = slurm::parse_job_state(exec.out + exec.err, nonce, {});
  if (!job.query_error.empty() && !job.known) {
    throw Error(Exit::remote,
                fmt::format("cannot ask Slurm on {} for job {}: {}", m_host.name(),
                            slurm::job_name(m_name), job.query_error),
                "is slurmctld up, and are Slurm's client tools on the PATH there? try: jl doctor "
                "--slurm");
  }
  if (!job.known || job.ended()) {
    return std::nullopt;
  }
  return job;
}

void SlurmJob::submit(ssh::Deadline deadline) {
  const auto args = slurm::sbatch_arguments(m_name, m_options.value_or(slurm::JobOptions{}));
  const std::string nonce = sys::generate_nonce();
  auto exec = m_host.session().exec(slurm::submit_command(nonce, args), {}, within(deadline, 60s));
  auto r = slurm::parse_submit(exec.out + exec.err, nonce);
  if (r.missing) {
    throw Error(Exit::remote, fmt::format("sbatch is not on the PATH on {}", m_host.name()),
                "is this a Slurm login node? Slurm's client tools must be on the PATH of a "
                "non-interactive login: see jl doctor --slurm");
  }
  if (r.job_id.empty()) {
    throw Error(Exit::usage, fmt::format("Slurm refused the job on {}: {}", m_host.name(), r.error),
                "check the options (sinfo -s lists the partitions; jl doctor --slurm checks "
                "them and your account's limits)");
  }
  m_job_id = r.job_id;
  m_submitted = true;
}

bool SlurmJob::cancel(ssh::Deadline deadline, std::string* error) {
  if (m_job_id.empty()) {
    return true;
  }
  const std::string nonce = sys::generate_nonce();
  try {
    auto exec =
        m_host.session().exec(slurm::cancel_command(nonce, m_job_id), {}, within(deadline, 20s));
    std::string why;
    if (slurm::parse_cancel(exec.out + exec.err, nonce, &why)) {
      return true;
    }
    if (error != nullptr) {
      *error = why;
    }
  } catch (const Error& e) {
    if (error != nullptr) {
      *error = e.what();
    }
  }
  return false;
}

slurm::Job SlurmJob::submit_only(ssh::Deadline deadline) {
  if (auto live = find_live(deadline)) {
    m_job_id = live->id;
    m_last = *live;
    return m_last;
  }
  submit(deadline);
  return query(deadline);
}

void SlurmJob::require_running() {
  if (m_last.running()) {
    return;
  }
  if (m_last.ended() || !m_last.known) {
    throw Error(Exit::remote, slurm::ended_words(m_last),
                fmt::format("start a new one: jl up {} --slurm", m_name));
  }
  throw Error(Exit::remote,
              fmt::format("job {} does not run: {}", m_job_id, slurm::pending_words(m_last)),
              fmt::format("jl up {} --slurm waits for it", m_name));
}

Placement::Prepared SlurmJob::prepare(ssh::Deadline deadline, const PullWatch& watch) {
  Prepared out;
  if (m_job_id.empty()) {
    if (auto live = find_live(deadline)) {
      m_job_id = live->id;
    } else if (m_options) {
      submit(deadline);
      out.created = true;
    } else {
      throw Error(Exit::remote,
                  fmt::format("no job {} of yours on {}", slurm::job_name(m_name), m_host.name()),
                  fmt::format("submit one: jl up {} --slurm", m_name));
    }
  }
  const auto since = ssh::Clock::now();
  std::string said;
  // Until the job runs, an interrupt (or an end of the wait) cancels the job this process
  // submitted: nothing is left in the queue to burn the group's hours.
  try {
    // A job that can run starts within a second or two: ask often at first, then less.
    std::chrono::milliseconds pause = 100ms;
    while (true) {
      query(deadline);
      if (m_last.running() && !m_last.node_addr.empty()) {
        break;
      }
      if (m_last.ended() || !m_last.known) {
        require_running();
      }
      if (auto never = slurm::never_starts(m_last)) {
        throw Error(Exit::usage,
                    fmt::format("job {} cannot start as asked: {}{}", m_job_id, *never,
                                m_submitted ? " (cancelled it)" : ""),
                    "change the options (jl doctor --slurm shows the partition's and the "
                    "account's limits)");
      }
      const std::string words =
          fmt::format("job {} {}", m_job_id,
                      m_last.running() ? "RUNNING, waiting for its node's address"
                                       : slurm::pending_words(m_last));
      if (words != said) {
        said = words;
        if (watch.waiting) {
          watch.waiting(words);
        }
      }
      if (ssh::Clock::now() + pause >= deadline) {
        throw Error(Exit::timeout,
                    fmt::format("job {} was still {} when jl stopped waiting{}", m_job_id,
                                slurm::pending_words(m_last), m_submitted ? " (cancelled it)" : ""),
                    fmt::format("for a long queue: jl up {} --slurm --no-wait, then jl up {} "
                                "--slurm once it runs (squeue -j ID shows Slurm's estimate)",
                                m_name, m_name));
      }
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::milliseconds>(pause * 3 / 2, 2s);
    }
  } catch (const Error&) {
    if (m_submitted) {
      std::string why;
      if (!cancel(ssh::deadline_in(10s), &why)) {
        throw Error(
            Exit::remote,
            fmt::format("jl stopped waiting and could not cancel job {}: {}", m_job_id, why),
            fmt::format("cancel it yourself: scancel {}", m_job_id));
      }
    }
    throw;
  }
  const double waited = std::chrono::duration<double>(ssh::Clock::now() - since).count();
  out.note = fmt::format("job {} runs on {}{}", m_job_id, m_last.node,
                         out.created ? fmt::format(" (submitted, {:.1f} s in the queue)", waited)
                                     : std::string(" (it was there)"));
  return out;
}

probe::Facts SlurmJob::probe(ssh::Deadline deadline) {
  auto pending = probe_for_start(deadline);
  skip_start(pending, deadline);
  return pending.probe;
}

PendingStart SlurmJob::probe_for_start(ssh::Deadline deadline) {
  if (m_last.id.empty() || !m_last.running()) {
    query(deadline);
  }
  require_running();
  const std::string nonce = sys::generate_nonce();
  auto process = m_host.session().spawn(slurm::probe_and_start_command(nonce, m_job_id), deadline);
  bool asking = process.wait_for(
      [&](std::string_view out) { return probe::waiting_for_plan(out, nonce); }, deadline);
  auto r = probe::parse_probe(process.out(), nonce);
  if (!asking) {
    auto exec = process.finish(deadline);
    r = probe::parse_probe(exec.out, nonce);
    std::string said = r.exec_error.empty() ? text::tail(exec.out + exec.err, 2) : r.exec_error;
    throw Error(Exit::remote,
                fmt::format("cannot run a step in job {} on {}: {}", m_job_id, m_last.node,
                            said.empty() ? "srun ended without a word" : said),
                "see the job: squeue -j " + m_job_id);
  }
  r.exec_ok = true;
  r.exec_error.clear();
  // Only the server this job runs is this session's: the node's other jobs (this user's other
  // sessions) have theirs in the same runtime directory.
  long long own = 0;
  for (const auto& section : probe::split_sections(process.out(), nonce)) {
    if (section.kind == "job-server" && !section.args.empty()) {
      own = text::parse_int(section.args.front(), 1, 1LL << 40).value_or(0);
    }
  }
  std::erase_if(r.servers, [own](const jupyter::RuntimeInfo& server) { return server.pid != own; });
  // The job is the place: the server listens on the node's address, which the login node
  // reaches.
  probe::ContainerInfo info;
  info.name = m_name;
  info.status = "running";
  info.running = true;
  info.network_mode = "slurm";
  info.networks = {{"slurm", m_last.node_addr}};
  r.container = info;
  Subject s = subject();
  if (auto problem = plan::probe_problem(r, s, {})) {
    process.write(probe::quit_plan(), deadline);
    process.close_stdin(deadline);
    throw to_error(*problem, s);
  }
  return PendingStart{std::move(process), nonce, std::move(r)};
}

probe::StartResult SlurmJob::start(
    PendingStart& pending, const probe::StartSpec& spec, const std::string& token,
    ssh::Deadline deadline, const std::function<void(const probe::StartProgress&)>& progress) {
  return start_as_planned(*this, pending, spec, token, deadline, progress);
}

void SlurmJob::skip_start(PendingStart& pending, ssh::Deadline deadline) {
  pending.process.write(probe::quit_plan(), deadline);
  pending.process.close_stdin(deadline);
  pending.process.finish(deadline);
}

jupyter::ConfigReport SlurmJob::jupyter_config(ssh::Deadline deadline) {
  auto exec = m_host.session().exec(slurm::config_command(m_job_id), {}, deadline);
  return jupyter::parse_config_report(exec.out + exec.err);
}

probe::StopResult SlurmJob::wait_gone(long long /*pid*/, const std::string& /*runtime_file*/,
                                      bool shutdown_sent, ssh::Deadline deadline) {
  probe::StopResult r;
  query(deadline);
  if (!m_last.known || m_last.ended()) {
    r.gone = true;
    r.how = probe::StopHow::job_ended;
    return r;
  }
  // Jupyter that shut down when asked ends the batch script, and so the job.
  if (shutdown_sent) {
    const auto until = std::min(deadline, ssh::deadline_in(10s));
    while (ssh::Clock::now() < until) {
      std::this_thread::sleep_for(300ms);
      query(deadline);
      if (!m_last.known || m_last.ended()) {
        r.gone = true;
        r.how = probe::StopHow::shutdown;
        return r;
      }
    }
  }
  std::string why;
  if (!cancel(deadline, &why)) {
    r.how = probe::StopHow::alive;
    r.detail = fmt::format("scancel {} failed: {}", m_job_id, why);
    return r;
  }
  // scancel returns at once; the job leaves the queue once its processes are gone.
  while (ssh::Clock::now() < deadline) {
    query(deadline);
    if (!m_last.known || m_last.ended()) {
      r.gone = true;
      r.how = probe::StopHow::job_cancelled;
      return r;
    }
    std::this_thread::sleep_for(300ms);
  }
  r.how = probe::StopHow::alive;
  r.detail = fmt::format("job {} is still {} after scancel", m_job_id, m_last.state);
  return r;
}

probe::Identity SlurmJob::identify(const std::string& /*recorded*/, ssh::Deadline deadline,
                                   std::string* now_id) {
  try {
    query(deadline);
  } catch (const Error&) {
    return probe::Identity::unknown;
  }
  if (now_id != nullptr) {
    *now_id = m_job_id;
  }
  return m_last.known && !m_last.ended() ? probe::Identity::same : probe::Identity::removed;
}

std::optional<Error> SlurmJob::replaced(const SessionRecord& s, ssh::Deadline deadline) {
  const auto command = replaced_command(s);
  auto exec = m_host.session().exec(command, {}, deadline);
  return replaced_of(s, exec.exit_status, exec.out + exec.err);
}

std::string SlurmJob::replaced_command(const SessionRecord& /*s*/) {
  m_nonce = sys::generate_nonce();
  return slurm::job_state_command(m_nonce, m_job_id);
}

std::optional<Error> SlurmJob::replaced_of(const SessionRecord& s, int /*exit_status*/,
                                           const std::string& output) {
  m_last = slurm::parse_job_state(output, m_nonce, m_job_id);
  if (!m_last.known && !m_last.query_error.empty()) {
    return Error(Exit::remote,
                 fmt::format("cannot ask Slurm about job {}: {}", m_job_id, m_last.query_error),
                 "is slurmctld up? try: jl doctor --slurm");
  }
  if (!m_last.known || m_last.ended()) {
    return Error(Exit::remote, slurm::ended_words(m_last),
                 fmt::format("start a new one: jl up {} --slurm", s.container));
  }
  return std::nullopt;
}

ssh::RemoteProcess SlurmJob::read_log(const std::string& nonce, const std::string& log, int lines,
                                      bool follow, ssh::Deadline deadline) {
  return m_host.session().spawn(slurm::log_command(nonce, m_job_id, log, lines, follow), deadline);
}

std::optional<bool> SlurmJob::made_by_jl(ssh::Deadline deadline) {
  if (m_job_id.empty()) {
    auto live = find_live(deadline);
    if (!live) {
      return std::nullopt;
    }
    m_job_id = live->id;
    return true;
  }
  query(deadline);
  if (!m_last.known || m_last.ended()) {
    return std::nullopt;
  }
  return true;
}

void SlurmJob::remove(ssh::Deadline deadline) {
  std::string why;
  if (!cancel(deadline, &why)) {
    throw Error(Exit::remote,
                fmt::format("cannot cancel job {} on {}: {}", m_job_id, m_host.name(), why));
  }
}

}  // namespace jl::remote
