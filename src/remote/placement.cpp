#include "jl/remote/placement.hpp"

#include <fmt/format.h>

#include "jl/core/create.hpp"
#include "jl/core/logs.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/slurm_job.hpp"
#include "jl/sys/random.hpp"

namespace jl::remote {

std::unique_ptr<Placement> placement_for(Host& host, const std::string& name, Recipe recipe) {
  return std::make_unique<DockerContainer>(host, name, std::string{}, std::move(recipe));
}

std::optional<bool> DockerContainer::made_by_jl(ssh::Deadline deadline) {
  auto exec =
      m_host.session().exec(container::made_by_command(m_name, m_host.docker()), {}, deadline);
  const std::string said = std::string(text::trim(exec.out + exec.err));
  if (exec.exit_status == 0) {
    // The label's value is the last line (a login shell may greet before it).
    return text::trim(text::tail(exec.out, 1)) == "jl";
  }
  if (classify_container_error(said) == Problem::no_such_container) {
    return std::nullopt;
  }
  Subject s = subject();
  probe::Facts f;
  f.docker = exec.exit_status == 127 ? probe::Docker::missing : probe::classify_docker_error(said);
  f.docker_message = said;
  if (auto p = plan::probe_problem(f, s, {}); p && f.docker != probe::Docker::ok) {
    throw to_error(*p, s);
  }
  s.detail = said;
  throw to_error(Problem::docker_failed, s);
}

void DockerContainer::remove(ssh::Deadline deadline) {
  auto exec =
      m_host.session().exec(container::remove_command(m_name, m_host.docker()), {}, deadline);
  if (exec.exit_status != 0) {
    const std::string said = std::string(text::trim(exec.out + exec.err));
    if (classify_container_error(said) == Problem::no_such_container) {
      return;  // gone already
    }
    throw Error(Exit::remote, fmt::format("cannot remove container '{}' on {}: {}", m_name,
                                          m_host.name(), text::tail(said, 1)));
  }
}

Placement::Pulled DockerContainer::pull_image(const std::string& image, ssh::Deadline deadline,
                                              const PullWatch& watch) {
  if (watch.begins) {
    watch.begins(image);
  }
  const auto started = ssh::Clock::now();
  const std::string nonce = sys::generate_nonce();
  // On a terminal docker prints byte counts; a host that refuses terminals still pulls, and
  // the progress then counts layers only.
  auto process = m_host.session().spawn(pull::command(nonce, image, m_host.docker()), deadline,
                                        ssh::Session::Pty{});
  pull::Reader reader(nonce);
  int heard = 0;
  bool ended = false;
  while (!ended) {
    if (ssh::Clock::now() >= deadline) {
      throw Error(Exit::timeout,
                  fmt::format("timed out pulling image '{}' on {} ({} so far)", image,
                              m_host.name(), pull::describe(reader.report().progress)),
                  "the registry or the network is slow; pull it on the host first, then jl up "
                  "again");
    }
    reader.feed(process.read_some(deadline, &ended));
    if (reader.changes() != heard) {
      heard = reader.changes();
      if (watch.progress) {
        watch.progress(reader.report().progress);
      }
    }
  }
  reader.finish();
  const auto exec = process.finish(deadline);
  const auto& r = reader.report();
  Subject s = subject();
  s.app = image;
  if (r.docker_missing) {
    throw to_error(Problem::docker_missing, s);
  }
  if (!r.rc || *r.rc != 0) {
    s.detail = r.reason();
    if (s.detail.empty()) {
      s.detail =
          r.rc ? fmt::format("docker pull ended with status {}", *r.rc) : text::tail(exec.out, 1);
    }
    probe::Facts f;
    f.docker = probe::classify_docker_error(s.detail);
    f.docker_message = s.detail;
    if (f.docker == probe::Docker::permission_denied || f.docker == probe::Docker::daemon_down) {
      if (auto p = plan::probe_problem(f, s, {})) {
        throw to_error(*p, s);  // docker itself failed, not the pull
      }
    }
    switch (pull::classify(s.detail)) {
      case pull::Failure::unknown_image:
        throw to_error(Problem::image_unknown, s);
      case pull::Failure::unreachable:
        throw to_error(Problem::registry_unreachable, s);
      case pull::Failure::auth:
        throw to_error(Problem::registry_login, s);
      case pull::Failure::other:
        break;
    }
    throw to_error(Problem::pull_failed, s);
  }
  if (watch.ended) {
    watch.ended();
  }
  Pulled out;
  out.image = image;
  out.digest = r.digest;
  out.up_to_date = r.up_to_date;
  out.progress = r.progress;
  out.seconds = std::chrono::duration<double>(ssh::Clock::now() - started).count();
  return out;
}

Placement::Prepared DockerContainer::prepare(ssh::Deadline deadline, const PullWatch& watch) {
  Prepared out;
  if (!m_recipe.spec && !m_recipe.start_stopped) {
    return out;  // a container that must simply be there: the probe says whether it is
  }
  std::vector<std::string> run_args;
  std::string image;
  Host::UserIds ids;
  // --gpus free:N: the GPUs are chosen only when the container must be made, so the first
  // exec only finds out whether it is there.
  const bool choose_gpus = m_recipe.spec && m_recipe.spec->gpus &&
                           m_recipe.spec->gpus->kind == container::Gpus::Kind::free;
  if (m_recipe.spec) {
    const auto& spec = *m_recipe.spec;
    image = spec.image;
    if (container::needs_host_ids(spec)) {
      ids = m_host.user_ids(deadline);
    }
    if (!choose_gpus) {
      run_args = container::run_arguments(m_name, spec, ids.uid, ids.gid, ids.home);
    }
  }
  // The pull policy, until jl has pulled the image: then never (docker run never pulls).
  container::Pull policy = m_recipe.pull;
  auto ensure = [&](const std::vector<std::string>& args) {
    const std::string nonce = sys::generate_nonce();
    auto exec = m_host.session().exec(
        container::ensure_command(nonce, m_name, image, policy, m_recipe.start_stopped,
                                  m_host.docker(), args),
        {}, deadline);
    return std::pair{exec, container::parse_ensure(exec.out, nonce)};
  };
  auto [exec, r] = ensure(run_args);
  if (choose_gpus && r.missing && r.complete && !r.image_present) {
    const auto& spec = *m_recipe.spec;
    const auto devices = free_gpus(spec.gpus->count, deadline);
    run_args = container::run_arguments(m_name, spec, ids.uid, ids.gid, ids.home, devices);
    out.gpus = devices;
    std::tie(exec, r) = ensure(run_args);
  }
  if (r.pull_needed && r.complete) {
    out.pulled = pull_image(image, deadline, watch);
    policy = container::Pull::never;
    std::tie(exec, r) = ensure(run_args);
  }
  if (r.run_rc && *r.run_rc != 0 && container::rlimit_refused(r.run_output)) {
    // The host does not let docker lift the memlock limit (no CAP_SYS_RESOURCE, or rootless
    // docker): create it with the host's limit, and say so.
    std::tie(exec, r) = ensure(container::without_memlock(run_args));
    if (r.run_rc == 0) {
      out.warnings.push_back(fmt::format(
          "{} does not allow an unlimited locked-memory limit (--ulimit memlock=-1, as NVIDIA "
          "recommends): container '{}' has the host's limit instead",
          m_host.name(), m_name));
    }
  }
  Subject s = subject();
  if (r.docker_missing) {
    throw to_error(Problem::docker_missing, s);
  }
  if (r.inspect_rc) {
    probe::Facts f;
    f.docker = probe::classify_docker_error(r.inspect_output);
    f.docker_message = r.inspect_output;
    if (auto p = plan::probe_problem(f, s, {}); p && f.docker != probe::Docker::ok) {
      throw to_error(*p, s);
    }
    s.detail = r.inspect_output;
    throw to_error(Problem::docker_failed, s);
  }
  if (r.exists) {
    if (r.start_rc) {
      if (*r.start_rc != 0) {
        s.detail = r.start_output;
        throw to_error(Problem::start_failed, s);
      }
      out.started = true;
    } else if (r.status != "running") {
      s.detail = r.status;
      throw to_error(r.made_by_jl ? Problem::container_not_running : Problem::foreign_stopped, s);
    }
    if (m_recipe.spec && r.made_by_jl) {
      auto made = container::from_label(r.spec_label);
      auto diff = made ? container::differences(*m_recipe.spec, *made)
                       : std::vector<std::string>{"the spec it was made from is unreadable"};
      if (!diff.empty()) {
        out.warnings.push_back(fmt::format(
            "container '{}' was made from another spec; it is used as it is ({}); to make it "
            "anew: jl rm {} and jl up again",
            m_name, text::join(diff, "; "), m_name));
      }
    } else if (m_recipe.spec && !r.made_by_jl) {
      out.warnings.push_back(fmt::format(
          "container '{}' exists and jl did not create it: it is used as it is, --image and its "
          "settings do not apply",
          m_name));
    }
    return out;
  }
  if (!r.missing || !r.complete) {
    s.detail = text::tail(exec.out + exec.err, 2);
    throw to_error(Problem::docker_failed, s);
  }
  if (!m_recipe.spec) {
    throw to_error(Problem::no_such_container, s);
  }
  s.app = image;
  if (!r.run_rc) {
    throw to_error(Problem::image_missing, s);
  }
  if (*r.run_rc != 0) {
    // docker ends its complaint with "Run 'docker run --help' for more information".
    for (auto line : text::lines(r.run_output)) {
      if (!line.starts_with("Run '") && !text::trim(line).empty()) {
        s.detail = std::string(text::trim(line));
      }
    }
    throw to_error(
        container::no_gpu_runtime(r.run_output) ? Problem::no_gpu_runtime : Problem::create_failed,
        s);
  }
  out.created = true;
  return out;
}

std::vector<int> DockerContainer::free_gpus(int count, ssh::Deadline deadline) {
  const std::string asked =
      container::to_string(container::Gpus{container::Gpus::Kind::free, count, {}});
  const auto uses = m_host.gpu_usage(deadline, asked);
  if (auto picked = gpus::pick_free(uses, count)) {
    return *picked;
  }
  Subject s = subject();
  s.asked = count;
  s.available = gpus::free_count(uses);
  s.total = static_cast<int>(uses.size());
  s.names = gpus::holders_words(uses);
  throw to_error(Problem::gpus_busy, s);
}

std::unique_ptr<Placement> placement_of(Host& host, const SessionRecord& s) {
  if (!s.job_id.empty()) {
    return std::make_unique<SlurmJob>(host, s.container, s.job_id);
  }
  return std::make_unique<DockerContainer>(host, s.container, s.container_id);
}

void DockerContainer::check_probe(const probe::Facts& r, const std::string& err) const {
  Subject s = subject();
  if (auto problem = plan::probe_problem(r, s, err)) {
    throw to_error(*problem, s);
  }
}

probe::Facts DockerContainer::probe(ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
  auto exec =
      m_host.session().exec(probe::probe_command(nonce, m_name, m_host.docker()), {}, deadline);
  auto r = probe::parse_probe(exec.out, nonce);
  check_probe(r, exec.err);
  return r;
}

PendingStart DockerContainer::probe_for_start(ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
  auto process = m_host.session().spawn(
      probe::probe_and_start_command(nonce, m_name, m_host.docker()), deadline);
  bool asking = process.wait_for(
      [&](std::string_view out) { return probe::waiting_for_plan(out, nonce); }, deadline);
  if (!asking) {
    auto exec = process.finish(deadline);
    auto r = probe::parse_probe(exec.out, nonce);
    check_probe(r, exec.err);
    throw Error(Exit::remote, fmt::format("the probe of container '{}' ended early", m_name),
                text::tail(exec.out + exec.err, 1));
  }
  auto r = probe::parse_probe(process.out(), nonce);
  r.exec_ok = true;  // the script inside the container is talking to us
  r.exec_error.clear();
  check_probe(r, {});
  return PendingStart{std::move(process), nonce, std::move(r)};
}

probe::StartResult DockerContainer::start(
    PendingStart& pending, const probe::StartSpec& spec, const std::string& token,
    ssh::Deadline deadline, const std::function<void(const probe::StartProgress&)>& progress) {
  return start_as_planned(*this, pending, spec, token, deadline, progress);
}

probe::StartResult start_as_planned(
    Placement& place, PendingStart& pending, const probe::StartSpec& spec, const std::string& token,
    ssh::Deadline deadline, const std::function<void(const probe::StartProgress&)>& progress) {
  std::string plan;
  try {
    plan = probe::start_plan(spec, token);
  } catch (const std::invalid_argument&) {
    place.skip_start(pending, deadline);
    throw Error(Exit::usage, "Jupyter arguments and --dir cannot contain line breaks");
  }
  ssh::ExecResult exec;
  try {
    pending.process.write(plan, deadline);
    pending.process.close_stdin(deadline);
    int reported = 0;
    while (progress) {
      bool more = pending.process.wait_for(
          [&](std::string_view out) {
            int count = 0;
            probe::last_progress(out, pending.nonce, &count);
            return count > reported || probe::start_finished(out, pending.nonce);
          },
          deadline);
      const auto out = pending.process.out();
      if (!more || probe::start_finished(out, pending.nonce)) {
        break;
      }
      if (auto p = probe::last_progress(out, pending.nonce, &reported)) {
        progress(*p);
      }
    }
    exec = pending.process.finish(deadline);
  } catch (const Error&) {
    // Interrupted (or timed out) after the plan may have reached the container: find the
    // process it started, if any, and stop it, so that no server is left behind unrecorded.
    const std::string started = fmt::format("@@{} started ", pending.nonce);
    try {
      pending.process.wait_for(
          [&](std::string_view out) { return out.find(started) != std::string_view::npos; },
          ssh::deadline_in(std::chrono::seconds(3)));
    } catch (const Error&) {
      // Use what arrived so far.
    }
    auto partial = probe::parse_start(pending.process.out(), pending.nonce);
    if (partial.pid > 0) {
      place.wait_gone(partial.pid, "", false, ssh::deadline_in(std::chrono::seconds(15)));
    }
    throw;
  }
  auto r = probe::parse_start(exec.out, pending.nonce);
  if (r.outcome == probe::StartResult::Outcome::failed && r.detail.empty()) {
    // Whatever docker or the shell said, without jl's own marker lines.
    std::string said;
    const std::string marker = "@@" + pending.nonce + " ";
    const std::string all = exec.err + exec.out;
    for (auto line : text::lines(all)) {
      if (!line.starts_with(marker) && !text::trim(line).empty()) {
        said += std::string(line) + "\n";
      }
    }
    r.detail = text::tail(said, 3);
  }
  return r;
}

void DockerContainer::skip_start(PendingStart& pending, ssh::Deadline deadline) {
  pending.process.write(probe::quit_plan(), deadline);
  pending.process.close_stdin(deadline);
  pending.process.finish(deadline);
}

jupyter::ConfigReport DockerContainer::jupyter_config(ssh::Deadline deadline) {
  auto exec = m_host.session().exec(jupyter::config_command(m_name, m_host.docker()), {}, deadline);
  return jupyter::parse_config_report(exec.out + exec.err);
}

probe::StopResult DockerContainer::wait_gone(long long pid, const std::string& runtime_file,
                                             bool shutdown_sent, ssh::Deadline deadline) {
  const std::string nonce = sys::generate_nonce();
  auto exec = m_host.session().exec(
      probe::stop_command(nonce, target(), pid, runtime_file, shutdown_sent, m_host.docker()), {},
      deadline);
  auto r = probe::parse_stop(exec.out, nonce);
  if (!r.gone && r.how == probe::StopHow::unknown) {
    // docker exec itself failed: a container that is gone or stopped has no server left.
    std::string said = exec.out + exec.err;
    if (classify_container_error(said) != Problem::docker_failed) {
      r.gone = true;
      r.how = probe::StopHow::container_gone;
    } else if (r.detail.empty()) {
      r.detail = text::tail(said, 2);
    }
  }
  return r;
}

ssh::RemoteProcess DockerContainer::read_log(const std::string& nonce, const std::string& log,
                                             int lines, bool follow, ssh::Deadline deadline) {
  return m_host.session().spawn(logs::command(nonce, target(), log, lines, follow, m_host.docker()),
                                deadline);
}

probe::Identity DockerContainer::identify(const std::string& recorded, ssh::Deadline deadline,
                                          std::string* now_id) {
  auto exec =
      m_host.session().exec(probe::container_id_command(m_name, m_host.docker()), {}, deadline);
  return probe::parse_container_id(exec.exit_status, exec.out + exec.err, recorded, now_id);
}

std::optional<Error> DockerContainer::replaced(const SessionRecord& s, ssh::Deadline deadline) {
  const auto command = replaced_command(s);
  if (command.empty()) {
    return std::nullopt;
  }
  auto exec = m_host.session().exec(command, {}, deadline);
  return replaced_of(s, exec.exit_status, exec.out + exec.err);
}

std::string DockerContainer::replaced_command(const SessionRecord& s) {
  if (s.container_id.empty()) {
    return {};
  }
  return probe::container_id_command(m_name, m_host.docker());
}

std::optional<Error> DockerContainer::replaced_of(const SessionRecord& s, int exit_status,
                                                  const std::string& output) {
  std::string now;
  const auto identity = probe::parse_container_id(exit_status, output, s.container_id, &now);
  auto words = probe::identity_words(identity, s.container, s.host, s.container_id, now);
  if (words.message.empty()) {
    return std::nullopt;
  }
  return Error(Exit::remote, words.message, words.hint);
}

}  // namespace jl::remote
