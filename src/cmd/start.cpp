#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "jl/cmd/start.hpp"
#include "jl/core/error.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/jupyter_config.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/pull.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/remote/slurm_job.hpp"
#include "jl/sys/random.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

double seconds_since(ssh::Clock::time_point t) {
  return std::chrono::duration<double>(ssh::Clock::now() - t).count();
}

void report(Context& ctx, const StartOutcome& outcome) {
  const auto& s = outcome.record;
  const bool reused = outcome.reused;
  const double elapsed = outcome.seconds;
  if (ctx.ui().json()) {
    ctx.ui().out_json(start_json(outcome));
    return;
  }
  if (ctx.ui().quiet()) {
    return;
  }
  std::string what =
      fmt::format("Jupyter {} ({} {})", s.app, s.legacy ? "notebook" : "jupyter_server",
                  s.server_version.empty() ? "?" : s.server_version);
  if (!outcome.place_note.empty()) {
    ctx.ui().out(outcome.place_note);
  }
  // A job's session: "job 42 (lab1) on node1 via HOST"; a container's: "cont1 on HOST".
  const std::string where = s.job_id.empty() ? fmt::format("{} on {}", s.container, s.host)
                                             : fmt::format("job {} ({}) on {} via {}", s.job_id,
                                                           s.container, s.node, s.host);
  if (reused) {
    ctx.ui().out(fmt::format("{} already runs in {} at {}:{} (pid {}); reusing it", what, where,
                             s.address, s.port, s.pid));
  } else {
    ctx.ui().out(fmt::format("started {} in {} at {}:{} (pid {}) in {:.1f} s", what, where,
                             s.address, s.port, s.pid, elapsed));
  }
}

// Undo a start that cannot be completed, so that no server is left running unrecorded.
void roll_back(remote::Placement& place, const std::string& container, long long pid,
               const std::string& runtime_file, const Ui& ui) {
  if (pid <= 0) {
    return;
  }
  try {
    auto r = place.wait_gone(pid, runtime_file, false, ssh::deadline_in(15s));
    if (!r.gone) {
      ui.warn(
          fmt::format("could not stop the half-started Jupyter (pid {}) in {}", pid, container));
    }
  } catch (const Error& e) {
    ui.warn(fmt::format("could not stop the half-started Jupyter (pid {}) in {}: {}", pid,
                        container, e.what()));
  }
}

// The settings of the planner, from start's options.
plan::Settings settings_of(const StartOptions& o) {
  plan::Settings s;
  if (o.app != "auto") {
    s.app = jupyter::app_from_string(o.app);
  }
  s.port = o.port;
  s.dir = o.dir.value_or("");
  s.timeout_s = o.timeout_s;
  s.extra_args = o.extra_args;
  s.idle_timeout_s = o.idle_timeout_s;
  return s;
}

// The server jl started must answer, with jl's token, at the address a tunnel will use. Throws
// (the caller stops the server) when it does not, naming the config line that replaces the
// token when that is why.
void await_answer(Context& ctx, remote::Host& host, remote::Placement& place,
                  const probe::StartSpec& spec, const probe::StartResult& result,
                  const std::string& token) {
  const auto& rt = *result.runtime;
  const auto& c = spec.container;
  remote::Health health;
  auto ready_by = ssh::deadline_in(std::chrono::seconds(std::min(spec.timeout_s, 30)));
  while (true) {
    health = host.status(spec.ip, spec.port, rt.base_url, token, ready_by, c);
    if (health.answers() || health.refuses_token() || ssh::Clock::now() >= ready_by) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  if (health.answers()) {
    return;
  }
  if (!health.refuses_token()) {
    throw Error(Exit::remote,
                fmt::format("Jupyter started in '{}' but does not answer at {}:{}: {} (stopped it)",
                            c, spec.ip, spec.port, health.detail));
  }
  // Say which line of the image's config does it, so that the fix is one edit.
  auto config = place.jupyter_config(ssh::deadline_in(25s));
  roll_back(place, c, result.pid, rt.file, ctx.ui());
  if (auto line = jupyter::token_override(config)) {
    throw Error(Exit::remote,
                fmt::format("Jupyter started in '{}' but refuses jl's token (HTTP {}): {} sets "
                            "{}, and a token in a config file beats the one jl gives it "
                            "(stopped it)",
                            c, health.http_status, line->file, jupyter::describe(*line)),
                fmt::format("remove that line from {} in the image (or mount a config "
                            "without it), then run jl up again",
                            line->file));
  }
  throw Error(Exit::remote,
              fmt::format("Jupyter started in '{}' but refuses jl's token (HTTP {}) (stopped it)",
                          c, health.http_status),
              fmt::format("something in the image's Jupyter config replaces jl's token; see: jl "
                          "doctor {}{}",
                          c, config.read ? "" : " (" + config.error + ")"));
}

// Until Jupyter is started, leaving start_on ends the conversation without a start.
struct SkipStart {
  SkipStart(remote::Placement& p, remote::PendingStart& s) : place(p), pending(s) {}
  remote::Placement& place;
  remote::PendingStart& pending;
  bool armed = true;
  SkipStart(const SkipStart&) = delete;
  SkipStart& operator=(const SkipStart&) = delete;
  ~SkipStart() {
    if (armed) {
      try {
        place.skip_start(pending, ssh::deadline_in(5s));
      } catch (const std::exception&) {
        // The connection is going away anyway.
      }
    }
  }
};

// The first of the plan's running servers that answers, recorded as the session; nothing when
// none does.
std::optional<SessionRecord> reuse_answering(Context& ctx, remote::Host& host,
                                             const plan::StartPlan& plan, const probe::Facts& facts,
                                             const plan::Origin& origin) {
  for (const auto& c : plan.reuse) {
    const auto& server = c.server;
    auto health = host.status(c.address, server.port, server.base_url, server.token,
                              ssh::deadline_in(10s), origin.container);
    ctx.ui().trace(fmt::format("existing server pid {} on {}:{}: {}", server.pid, c.address,
                               server.port, health.answers() ? "answers" : health.detail));
    if (!health.answers()) {
      continue;
    }
    if (!c.idle_differs.empty()) {
      ctx.ui().warn(c.idle_differs);
    }
    const std::string version =
        server.version.empty()
            ? host.version(c.address, server.port, server.base_url, ssh::deadline_in(5s))
            : std::string{};
    auto state = ctx.store().load();
    auto record = plan::reused_record(origin, c, facts, state.find(origin.host, origin.container),
                                      version, now_iso8601());
    ctx.store().update([&](State& s) { s.upsert(record); });
    return record;
  }
  return std::nullopt;
}

// Start Jupyter as planned, showing on the spinner how long it has waited and what its log
// last said (a slow extension names itself there).
probe::StartResult launch(Context& ctx, remote::Placement& place, remote::PendingStart& pending,
                          const probe::StartSpec& spec, const std::string& token,
                          Ui::Activity& busy) {
  const std::string app_name(jupyter::to_string(spec.app));
  ctx.ui().trace(fmt::format("starting Jupyter {} in {} at {}:{}", app_name, spec.container,
                             spec.ip, spec.port));
  const std::string starting = fmt::format("starting Jupyter {} in {}", app_name, spec.container);
  busy.relabel(starting);
  int traced = 0;
  auto result = place.start(
      pending, spec, token, ssh::deadline_in(std::chrono::seconds(spec.timeout_s + 10)),
      [&](const probe::StartProgress& p) {
        // What the log last said, without Jupyter's "[I date time App] " before it.
        const std::string said(jupyter::log_message(p.last_log));
        std::string last = said.size() > 60 ? said.substr(0, 57) + "..." : said;
        busy.relabel(fmt::format("{}: waiting for it to listen, {} s of {}{}", starting, p.seconds,
                                 spec.timeout_s, last.empty() ? "" : "; log: " + last));
        if (p.seconds % 5 == 0 && p.seconds != traced) {
          traced = p.seconds;
          ctx.ui().trace(fmt::format("still waiting for Jupyter after {} s; its log ends: {}",
                                     p.seconds, p.last_log));
        }
      });
  if (!result.runtime_moved_to.empty()) {
    ctx.ui().info(fmt::format(
        "note: {} cannot be written in container '{}' (HOME not writable?): Jupyter's runtime "
        "files and JupyterLab's workspaces go to {} instead",
        result.runtime_unwritable, spec.container,
        result.runtime_moved_to.substr(0, result.runtime_moved_to.rfind('/'))));
  }
  return result;
}

// A server jl started and that is ready: check that it answers as planned and record it. Any
// failure (an interrupt included) stops it again.
SessionRecord record_started(Context& ctx, remote::Host& host, remote::Placement& place,
                             const plan::Origin& origin, const probe::Facts& facts,
                             const probe::StartSpec& spec, const probe::StartResult& result,
                             const std::string& token) {
  const auto& c = spec.container;
  try {
    const auto& rt = *result.runtime;
    if (rt.port != spec.port) {
      throw Error(
          Exit::remote,
          fmt::format("Jupyter listens on port {} instead of {}; stopped it", rt.port, spec.port),
          "remove --port/--ServerApp.port from the extra Jupyter options");
    }
    std::string version;
    if (result.answered == 200) {
      // The start script asked from inside the container, at the address the tunnel uses.
      ctx.ui().trace(
          fmt::format("runtime file {} appeared; Jupyter answers at {}:{} (asked "
                      "from inside the container)",
                      rt.file, spec.ip, spec.port));
      version = rt.version.empty() ? result.answered_version : std::string{};
    } else {
      ctx.ui().trace(fmt::format("runtime file {} appeared; checking /api/status", rt.file));
      await_answer(ctx, host, place, spec, result, token);
    }
    if (rt.version.empty() && version.empty()) {
      version = host.version(spec.ip, spec.port, rt.base_url, ssh::deadline_in(5s));
    }
    auto state = ctx.store().load();
    auto record =
        plan::started_record(origin, spec, result, facts, state.find(origin.host, origin.container),
                             token, version, now_iso8601());
    ctx.store().update([&](State& s) { s.upsert(record); });
    return record;
  } catch (...) {
    roll_back(place, c, result.pid, result.runtime ? result.runtime->file : std::string{},
              ctx.ui());
    throw;
  }
}

// Make the container ready (create it, pulling its image first when needed), showing the pull
// on the spinner's line as one bar: layers and bytes done, from docker's own progress.
remote::Placement::Prepared prepare(Context& ctx, remote::Placement& place,
                                    const std::string& host_name, Ui::Activity& busy) {
  remote::Placement::PullWatch watch;
  std::string pulling;
  watch.begins = [&](const std::string& image) {
    pulling = image;
    ctx.ui().trace(fmt::format("pulling {} on {}", image, host_name));
    busy.relabel(fmt::format("pulling {} on {}", image, host_name));
  };
  watch.progress = [&](const pull::Progress& p) {
    busy.progress(fmt::format("pulling {}: {}", pulling, pull::describe(p)), pull::fraction(p));
  };
  watch.ended = [&] {
    busy.relabel(
        fmt::format("creating container '{}' on {}", place.subject().container, host_name));
  };
  watch.waiting = [&](const std::string& words) {
    ctx.ui().trace(words);
    busy.relabel(fmt::format("{} on {} (Ctrl-C cancels it)", words, host_name));
  };
  return place.prepare(ssh::deadline_in(std::chrono::minutes(30)), watch);
}

}  // namespace

std::string pulled_line(const remote::Placement::Pulled& p, const std::string& host_name) {
  std::string what;
  if (p.up_to_date) {
    what = "it was up to date";
  } else if (p.progress.layers > 0) {
    what = fmt::format("{} layer{}", p.progress.layers, p.progress.layers == 1 ? "" : "s");
    if (p.progress.bytes_total > 0) {
      what += ", " + pull::format_size(p.progress.bytes_total);
    }
  }
  std::string line = fmt::format("pulled {} on {} in {:.1f} s", p.image, host_name, p.seconds);
  if (!what.empty()) {
    line += fmt::format(" ({})", what);
  }
  if (!p.digest.empty()) {
    line += ": " + p.digest;
  }
  return line;
}

namespace {

// The container's spec from the creation settings, every value checked (usage errors); the
// image only when one is given.
container::Spec spec_of(const StartOptions::Create& c) {
  auto usage = [](const std::string& error) {
    return Error(Exit::usage, error, "see `jl up --help`");
  };
  std::string error;
  if (c.pull && !container::parse_pull(*c.pull, &error)) {
    throw usage(error);
  }
  container::Spec spec;
  if (c.image && !container::valid_image(*c.image)) {
    throw usage(
        fmt::format("invalid --image '{}': use NAME[:TAG], REGISTRY/NAME[:TAG] or "
                    "NAME@sha256:DIGEST",
                    *c.image));
  }
  spec.image = c.image.value_or("");
  if (c.gpus) {
    auto gpus = container::parse_gpus(*c.gpus, &error);
    if (!gpus) {
      throw usage(error);
    }
    spec.gpus = *gpus;
  }
  for (const auto& v : c.volumes) {
    auto volume = container::parse_volume(v, &error);
    if (!volume) {
      throw usage(error);
    }
    spec.volumes.push_back(*volume);
  }
  if (c.shm_size && c.ipc) {
    throw usage("give either --shm-size or --ipc host, not both");
  }
  if (c.shm_size) {
    auto size = container::parse_size(*c.shm_size, &error);
    if (!size) {
      throw usage(error);
    }
    spec.shm_size = *size;
  }
  spec.ipc_host = c.ipc.has_value();
  if (c.user) {
    auto user = container::parse_user(*c.user, &error);
    if (!user) {
      throw usage(error);
    }
    spec.user = *user;
  }
  if (c.workdir) {
    if (!c.workdir->starts_with('/') || c.workdir->find('\n') != std::string::npos) {
      throw usage(fmt::format("invalid --workdir '{}': it must be an absolute path", *c.workdir));
    }
    spec.workdir = *c.workdir;
  }
  for (const auto& e : c.env) {
    auto kv = container::parse_env(e, &error);
    if (!kv) {
      throw usage(error);
    }
    spec.env.push_back(*kv);
  }
  return spec;
}

}  // namespace

namespace {

// The creation settings given as flags.
StartOptions::Create create_from_flags(const StartOptions& o) {
  const auto& f = o.flags;
  StartOptions::Create c;
  c.image = f.image;
  c.gpus = f.gpus;
  c.volumes = o.volume_flags;
  c.shm_size = f.shm_size;
  c.ipc = f.ipc;
  c.user = f.user;
  c.workdir = f.workdir;
  c.env = o.env_flags;
  c.pull = f.pull;
  c.start_container = o.start_container_flag;
  c.image_origin = "--image";
  return c;
}

}  // namespace

void validate_start(const StartOptions& o) {
  if (o.resolved) {
    (void)recipe_of(o);  // a creation setting without an image, too
  } else {
    // Every creation setting given as a flag is checked before anything else; whether an
    // image is in force is known once the config file is read (resolve_start).
    if (!o.slurm_flag) {
      (void)spec_of(create_from_flags(o));
    }
  }
  if (!jupyter::valid_container_name(o.container)) {
    throw Error(Exit::usage, fmt::format("invalid container name '{}'", o.container),
                "container names are letters, digits, '_', '.' and '-', starting with a letter "
                "or digit");
  }
  if (o.app != "auto" && !jupyter::app_from_string(o.app)) {
    throw Error(Exit::usage, fmt::format("invalid --app '{}'", o.app),
                "use auto, lab, notebook or server");
  }
  if (o.no_wait && !o.slurm_flag && !o.slurm) {
    throw Error(Exit::usage, "--no-wait applies to a Slurm job: give --slurm too");
  }
  if (o.slurm) {
    if (auto error = slurm::validate(o.job); !error.empty()) {
      throw Error(Exit::usage, error, "see `jl up --help`");
    }
  }
  if (o.timeout_s < 1 || o.timeout_s > 3600) {
    throw Error(Exit::usage, "--timeout must be between 1 and 3600 seconds");
  }
  if (o.idle_timeout_flag && !text::parse_duration(*o.idle_timeout_flag)) {
    throw Error(Exit::usage, fmt::format("invalid --idle-timeout '{}'", *o.idle_timeout_flag),
                "give a duration from 1s to 30d: 90 (seconds), 30m, 2h or 1h30m");
  }
}

namespace {

// The first setting of making a container that is given (its flag), GPUs included or not;
// nothing when none is.
const char* creation_setting(const StartOptions::Create& c, bool gpus) {
  return gpus && c.gpus       ? "--gpus"
         : !c.volumes.empty() ? "-v"
         : c.shm_size         ? "--shm-size"
         : c.ipc              ? "--ipc"
         : c.user             ? "--user"
         : c.workdir          ? "--workdir"
         : !c.env.empty()     ? "-e"
         : c.pull             ? "--pull"
                              : nullptr;
}

}  // namespace

remote::Recipe recipe_of(const StartOptions& o) {
  const auto& c = o.create;
  remote::Recipe recipe;
  if (o.slurm) {
    // A job runs Jupyter on its node; containers inside jobs are not made by jl.
    if (c.image) {
      throw Error(Exit::usage,
                  fmt::format("{} makes a Docker container; a Slurm job runs Jupyter on its node "
                              "as the node's environment has it",
                              c.image_origin),
                  "leave out --image (or set \"scheduler\": \"docker\" for this container)");
    }
    if (const char* given = creation_setting(c, false); given != nullptr) {
      throw Error(Exit::usage,
                  fmt::format("{} applies to a container jl creates, not to a Slurm job", given),
                  "leave it out; sbatch's own options go after --");
    }
    return recipe;
  }
  recipe.start_stopped = c.start_container;
  auto usage = [](const std::string& error) {
    return Error(Exit::usage, error, "see `jl up --help`");
  };
  std::string error;
  if (c.pull) {
    auto pull = container::parse_pull(*c.pull, &error);
    if (!pull) {
      throw usage(error);
    }
    recipe.pull = *pull;
  }
  if (!c.image) {
    if (const char* given = creation_setting(c, true); given != nullptr) {
      throw Error(Exit::usage,
                  fmt::format("{} applies to a container jl creates: give --image too", given),
                  fmt::format("jl up {} --image IMAGE {} ..., or set the image in config.json "
                              "(\"containers\": {{\"{}\": {{\"image\": ...}}}})",
                              o.container, given, o.container));
    }
    return recipe;
  }
  recipe.spec = spec_of(c);
  return recipe;
}

void resolve_start(Context& ctx, StartOptions& o, const std::string& host) {
  Profile flags = o.flags;
  if (o.start_container_flag) {
    flags.start_container = true;
  }
  if (o.idle_timeout_flag) {
    flags.idle_timeout = text::parse_duration(*o.idle_timeout_flag);
  }
  if (!o.volume_flags.empty()) {
    flags.volumes = o.volume_flags;
  }
  if (!o.env_flags.empty()) {
    flags.env = o.env_flags;
  }
  auto s = ctx.session_settings(host, o.container, flags);
  o.app = s.app.value;
  o.port = s.port.value;
  o.dir = s.dir.value;
  o.timeout_s = s.timeout.value;
  o.extra_args = s.jupyter_args.value;
  o.docker = s.docker.value;
  o.idle_timeout_s = s.idle_timeout.value;
  o.resolved = true;
  o.slurm = o.slurm_flag || s.scheduler.value == "slurm";
  if (!o.slurm) {
    // `jl up lab` after `jl up lab --slurm`: the session's job, not a container.
    auto state = ctx.store().load();
    if (const auto* known = state.find(host, o.container);
        known != nullptr && !known->job_id.empty()) {
      o.slurm = true;
      o.attach_only = true;
    }
  }
  if (o.slurm) {
    slurm::JobOptions& j = o.job;
    j.partition = s.partition.value;
    j.gres = s.gres.value;
    j.gpus = s.gpus.value;
    j.time = s.time.value;
    j.cpus_per_task = s.cpus_per_task.value;
    j.mem = s.mem.value;
    j.account = s.account.value;
    j.qos = s.qos.value;
    j.sbatch_args = s.sbatch_args.value;
    // --gpus is Slurm's here, not the container's.
    o.flags.gpus.reset();
  }
  if (s.image.value) {
    // An image is in force: its settings come from the flags and the config file alike.
    auto& c = o.create;
    c.image = s.image.value;
    c.image_origin = s.image.origin;
    c.gpus = s.gpus.value;
    c.volumes = s.volumes.value;
    c.shm_size = s.shm_size.value;
    c.ipc = s.ipc.value;
    c.user = s.user.value;
    c.workdir = s.workdir.value;
    c.env = s.env.value;
    c.pull = s.pull.value;
    c.start_container = s.start_container.value;
  } else {
    // No image: the config file's creation settings do not apply; flags are refused.
    o.create = create_from_flags(o);
    o.create.start_container = s.start_container.value;
  }
  if (o.slurm) {
    o.create.gpus.reset();
  }
  ctx.ui().trace(fmt::format(
      "settings: app {}, port {}, dir {}, timeout {} s, docker '{}', idle timeout {}{}", o.app,
      o.port ? std::to_string(*o.port) : "auto", o.dir.value_or("(default)"), o.timeout_s,
      text::join(o.docker, " "),
      o.idle_timeout_s ? text::format_duration(*o.idle_timeout_s) : "none",
      o.create.image ? fmt::format(", image {} ({})", *o.create.image, o.create.image_origin)
                     : ""));
}

StartOutcome start_on(Context& ctx, ssh::Session& session, const std::string& host_name,
                      const std::optional<std::string>& ssh_config, const StartOptions& o) {
  const auto started = ssh::Clock::now();
  remote::Host host(session, host_name, o.docker);
  remote::SlurmJob* job = nullptr;
  std::unique_ptr<remote::Placement> place;
  if (o.slurm) {
    auto made = std::make_unique<remote::SlurmJob>(
        host, o.container, std::string{},
        o.attach_only ? std::nullopt : std::optional<slurm::JobOptions>(o.job));
    job = made.get();
    place = std::move(made);
  } else {
    place = remote::placement_for(host, o.container, recipe_of(o));
  }
  auto busy = ctx.ui().activity(
      o.slurm ? fmt::format("looking for job {} on {}", slurm::job_name(o.container), host_name)
              : fmt::format("looking into {} on {}", o.container, host_name));
  const auto prepared = prepare(ctx, *place, host_name, busy);
  if (!prepared.note.empty()) {
    ctx.ui().trace(prepared.note);
  }
  // A job this jl submitted is cancelled again when no server gets recorded in it.
  struct CancelJob {
    remote::SlurmJob* job;
    bool armed;
    ~CancelJob() {
      if (armed && job != nullptr) {
        job->cancel(ssh::deadline_in(10s));
      }
    }
  } cancel_job{job, job != nullptr && job->submitted_here()};
  for (const auto& w : prepared.warnings) {
    ctx.ui().warn(w);
  }
  if (!ctx.ui().json() && !ctx.ui().quiet()) {
    if (prepared.pulled) {
      ctx.ui().out(pulled_line(*prepared.pulled, host_name));
    }
    if ((prepared.created || prepared.started) && job == nullptr) {
      std::vector<std::string> chosen;
      for (int g : prepared.gpus) {
        chosen.push_back(std::to_string(g));
      }
      ctx.ui().out(fmt::format("{} container '{}' on {}{}{}",
                               prepared.created ? "created" : "started", o.container, host_name,
                               prepared.created ? " from " + o.create.image.value_or("") : "",
                               chosen.empty() ? "" : " with GPUs " + text::join(chosen, ",")));
    }
  }
  ctx.ui().trace(job != nullptr ? "probing the job's node and Jupyter (a step of the job)"
                                : "probing docker, the container and Jupyter");
  auto pending = place->probe_for_start(ssh::deadline_in(job != nullptr ? 30s : 15s));
  SkipStart skip{*place, pending};
  const auto& facts = pending.probe;
  ctx.ui().trace(fmt::format("probe: uid {} ({}), apps {}, {} live server(s), {} busy port(s)",
                             facts.uid, facts.user, facts.apps.size(), facts.servers.size(),
                             facts.busy_ports.size()));

  const plan::Origin origin{host_name, ssh_config, o.container,
                            job != nullptr ? job->job_id() : std::string{},
                            job != nullptr ? job->last().node : std::string{}};
  auto known = ctx.store().load();
  const auto plan =
      plan::plan_start(facts, settings_of(o), place->subject(), known.find(host_name, o.container));
  for (const auto& w : plan.warnings) {
    ctx.ui().warn(w);
  }
  if (auto reused = reuse_answering(ctx, host, plan, facts, origin)) {
    cancel_job.armed = false;
    return StartOutcome{*reused,          true,          seconds_since(started), prepared.created,
                        prepared.started, prepared.gpus, prepared.pulled,        prepared.note};
  }
  if (const auto* refusal = std::get_if<plan::Refusal>(&plan.otherwise)) {
    throw refusal->error();
  }
  const auto& spec = std::get<probe::StartSpec>(plan.otherwise);
  const std::string token = sys::generate_token();
  skip.armed = false;
  auto result = launch(ctx, *place, pending, spec, token, busy);
  if (result.outcome != probe::StartResult::Outcome::ready) {
    if (result.outcome == probe::StartResult::Outcome::slow) {
      roll_back(*place, o.container, result.pid, "", ctx.ui());
    }
    throw plan::start_error(result, spec, place->subject());
  }
  auto record = record_started(ctx, host, *place, origin, facts, spec, result, token);
  cancel_job.armed = false;
  return StartOutcome{record,           false,         seconds_since(started), prepared.created,
                      prepared.started, prepared.gpus, prepared.pulled,        prepared.note};
}

nlohmann::json session_json(const SessionRecord& s, bool show_token) {
  return {
      {"host", s.host},
      {"container", s.container},
      {"container_id", s.container_id},
      {"app", s.app},
      {"server_version", s.server_version},
      {"address", s.address},
      {"port", s.port},
      {"pid", s.pid},
      {"base_url", s.base_url},
      {"token", show_token ? s.token : jupyter::mask_token(s.token)},
      {"started_at", s.started_at},
      {"started_by_jl", s.started_by_jl},
      {"job_id", s.job_id},
      {"node", s.node},
  };
}

nlohmann::json start_json(const StartOutcome& outcome) {
  auto j = session_json(outcome.record, false);
  j["reused"] = outcome.reused;
  j["container_created"] = outcome.container_created;
  j["container_started"] = outcome.container_started;
  if (!outcome.container_gpus.empty()) {
    j["container_gpus"] = outcome.container_gpus;
  }
  j["image_pulled"] = outcome.pulled.has_value();
  j["image_digest"] = outcome.pulled ? outcome.pulled->digest : std::string{};
  return j;
}

void report_start(Context& ctx, const StartOutcome& outcome) {
  report(ctx, outcome);
}

int run_start(Context& ctx, const StartOptions& options) {
  StartOptions o = options;
  validate_start(o);
  const std::string host_name = ctx.require_host();
  resolve_start(ctx, o, host_name);
  validate_start(o);
  const auto ssh_config = ctx.ssh_config();
  auto lock =
      ctx.store().lock_session(host_name, o.container, std::chrono::seconds(o.timeout_s + 30));
  auto session = ctx.connect(host_name, ssh_config);
  if (o.slurm && o.no_wait) {
    return submit_only(ctx, session, host_name, o);
  }
  report_start(ctx, start_on(ctx, session, host_name, ssh_config, o));
  return 0;
}

int submit_only(Context& ctx, ssh::Session& session, const std::string& host_name,
                const StartOptions& o) {
  remote::Host host(session, host_name, o.docker);
  remote::SlurmJob job(host, o.container, std::string{}, o.job);
  slurm::Job state;
  {
    auto busy = ctx.ui().activity(
        fmt::format("submitting job {} on {}", slurm::job_name(o.container), host_name));
    state = job.submit_only(ssh::deadline_in(60s));
  }
  if (ctx.ui().json()) {
    ctx.ui().out_json({{"host", host_name},
                       {"container", o.container},
                       {"job_id", state.id},
                       {"submitted", job.submitted_here()},
                       {"state", state.state},
                       {"reason", state.reason},
                       {"node", state.node}});
    return 0;
  }
  const std::string where = state.running() ? "RUNNING on " + state.node
                            : state.ended() ? slurm::ended_words(state)
                                            : slurm::pending_words(state);
  ctx.ui().out(fmt::format("{} job {} ({}) on {}: {}",
                           job.submitted_here() ? "submitted" : "found your live", state.id,
                           slurm::job_name(o.container), host_name, where));
  if (!ctx.ui().quiet()) {
    ctx.ui().info(
        fmt::format("jl up {} --slurm starts Jupyter in it once it runs (and waits "
                    "till then); scancel {} cancels it",
                    o.container, state.id));
  }
  return 0;
}

void add_start_options(CLI::App* sub, StartOptions& options) {
  sub->add_option("CONTAINER", options.container,
                  "Name of the container (created from --image when there is none)")
      ->required();
  sub->add_option("--port", options.flags.port,
                  "Port inside the container (default: 8888, or the next free one)")
      ->check(CLI::Range(1, 65535))
      ->type_name("N");
  sub->add_option("--dir", options.flags.dir,
                  "Directory to serve (default: the container's working directory)")
      ->type_name("PATH");
  sub->add_option("--app", options.flags.app,
                  "auto (lab, else notebook, else server; the default), lab, notebook or server")
      ->check(CLI::IsMember({"auto", "lab", "notebook", "server"}))
      ->type_name("APP");
  sub->add_option("--timeout", options.flags.timeout,
                  "Seconds to wait for Jupyter to start (default: 60)")
      ->check(CLI::Range(1, 3600))
      ->type_name("SECONDS");
  sub->add_option("--idle-timeout", options.idle_timeout_flag,
                  "Shut down kernels idle this long (30m, 2h), then Jupyter itself, freeing GPUs")
      ->type_name("DURATION");
  auto& c = options.flags;
  sub->add_option("--image", c.image,
                  "Create the container from IMAGE when there is none (detached, with an init)")
      ->type_name("IMAGE");
  sub->add_option("--gpus", c.gpus,
                  "GPUs of the container jl creates: all, a count, devices (0,2), or free:N "
                  "(N GPUs no process uses, least memory used first); with --slurm, the job's "
                  "GPUs: [TYPE:]N")
      ->type_name("GPUS");
  sub->add_option("-v,--volume", options.volume_flags,
                  "Mount HOST:CONTAINER[:ro] (repeatable; with --image)")
      ->type_name("HOST:CTR")
      ->allow_extra_args(false);
  sub->add_option("--shm-size", c.shm_size, "Size of /dev/shm (e.g. 1g; with --image)")
      ->type_name("SIZE");
  sub->add_option("--ipc", c.ipc, "host: share the host's IPC namespace (with --image)")
      ->check(CLI::IsMember({"host"}))
      ->type_name("host");
  sub->add_option("--user", c.user,
                  "host (the SSH user's uid:gid, with a writable HOME) or UID:GID (with --image)")
      ->type_name("USER");
  sub->add_option("--workdir", c.workdir, "Working directory in the container (with --image)")
      ->type_name("DIR");
  sub->add_option("-e,--env", options.env_flags,
                  "Set K=V in the container (repeatable; with --image)")
      ->type_name("K=V")
      ->allow_extra_args(false);
  sub->add_option("--pull", c.pull, "When to pull IMAGE: missing (the default), always or never")
      ->check(CLI::IsMember({"missing", "always", "never"}))
      ->type_name("WHEN");
  sub->add_flag("--start-container", options.start_container_flag,
                "Start the container if it is stopped, even when jl did not create it");
  auto* slurm_group = "Slurm job (--slurm)";
  sub->add_flag("--slurm", options.slurm_flag,
                "Run Jupyter in a Slurm job submitted through the host (a login node); "
                "arguments after -- go to sbatch")
      ->group(slurm_group);
  sub->add_flag("--no-wait", options.no_wait,
                "Submit the job, print its id and return (with --slurm)")
      ->group(slurm_group);
  sub->add_option("-p,--partition", c.partition, "The job's partition")
      ->type_name("NAME")
      ->group(slurm_group);
  sub->add_option("--gres", c.gres, "Generic resources, e.g. gpu:1 or gpu:a100:2")
      ->type_name("LIST")
      ->group(slurm_group);
  sub->add_option("-t,--time", c.time, "Time limit: MM, H:MM:SS or D-H:MM:SS")
      ->type_name("TIME")
      ->group(slurm_group);
  sub->add_option("-c,--cpus-per-task", c.cpus_per_task, "CPUs for the job")
      ->check(CLI::Range(1, 4096))
      ->type_name("N")
      ->group(slurm_group);
  sub->add_option("--mem", c.mem, "Memory for the job, e.g. 16G")
      ->type_name("SIZE")
      ->group(slurm_group);
  sub->add_option("-A,--account", c.account, "The account to charge")
      ->type_name("NAME")
      ->group(slurm_group);
  sub->add_option("-q,--qos", c.qos, "The quality of service")
      ->type_name("NAME")
      ->group(slurm_group);
  sub->footer(
      "Arguments after -- are passed to Jupyter. Defaults for every option can be set in the "
      "config file, per host and per container: see `jl config show`.");
}

void take_passthrough(Dispatch& dispatch, StartOptions& options) {
  dispatch.takes_passthrough = true;
  if (dispatch.passthrough) {
    // With --slurm the words after -- are sbatch's; else Jupyter's.
    if (options.slurm_flag) {
      options.flags.sbatch_args = *dispatch.passthrough;
    } else {
      options.flags.jupyter_args = *dispatch.passthrough;
    }
  }
}

void setup_start(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<StartOptions>();
  auto* sub = app.add_subcommand(
      "start",
      "Start JupyterLab detached in a running container (or reuse the one that runs)\n"
      "  jl start cont1\n"
      "  jl start cont1 --port 8890 --dir /workspace -- --ServerApp.terminals_enabled=False");
  add_start_options(sub, *options);
  sub->callback([options, &dispatch] {
    take_passthrough(dispatch, *options);
    dispatch.run = [options](Context& ctx) { return run_start(ctx, *options); };
  });
}

}  // namespace jl::cmd
