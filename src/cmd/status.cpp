#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/cmd/start.hpp"
#include "jl/cmd/status.hpp"
#include "jl/core/error.hpp"
#include "jl/core/gpus.hpp"
#include "jl/core/helper.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/logs.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/remote/slurm_job.hpp"
#include "jl/sys/random.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

// Whether a session's server answered: unknown when there was no connection to ask over.
enum class Answers { yes, no, unknown };

std::string_view words(Answers a) {
  switch (a) {
    case Answers::yes:
      return "yes";
    case Answers::no:
      return "no";
    case Answers::unknown:
      break;
  }
  return "unknown";
}

struct Row {
  SessionRecord session;
  std::optional<long long> tunnel;  // the pid of the running tunnel
  Answers answers = Answers::unknown;
  std::string detail;
  jupyter::Activity activity;              // when it answers
  std::optional<long long> idle_shutdown;  // it shut itself down after this many idle seconds
  // The GPUs its container's processes use; nothing when the host was not asked or has no
  // NVIDIA driver.
  std::optional<std::vector<gpus::ContainerGpu>> gpus;
  // A Slurm job's session: the job as Slurm sees it now (when asked).
  std::optional<slurm::Job> job;
};

// JOB: "42 RUNNING on node1, 0:58:12 left", "42 TIMEOUT after 0:01:03".
std::string job_words(const Row& r) {
  if (!r.job) {
    return r.session.job_id.empty() ? "-" : r.session.job_id;
  }
  const auto& j = *r.job;
  if (!j.known) {
    return fmt::format("{} unknown", r.session.job_id);
  }
  if (j.running()) {
    return fmt::format("{} RUNNING on {}{}", j.id, j.node,
                       j.time_left.empty() ? std::string{} : ", " + j.time_left + " left");
  }
  if (j.ended()) {
    return fmt::format("{} {} after {}", j.id, j.state, slurm::format_elapsed(j.elapsed));
  }
  return fmt::format("{} {}", j.id, slurm::pending_words(j));
}

// Whether the server of `s`, which no longer answers, shut itself down for being idle: the end
// of its log says so. Only asked of sessions started with an idle timeout.
std::optional<long long> shut_down_idle(remote::Placement& place, const SessionRecord& s) {
  if (s.idle_timeout_s <= 0 || s.log.empty()) {
    return std::nullopt;
  }
  try {
    const std::string nonce = sys::generate_nonce();
    logs::Reader reader(nonce);
    auto process = place.read_log(nonce, s.log, 5, false, ssh::deadline_in(10s));
    process.close_stdin(ssh::deadline_in(5s));
    auto result = process.finish(ssh::deadline_in(10s));
    auto lines = reader.feed(result.out);
    if (auto last = reader.finish()) {
      lines.push_back(std::move(*last));
    }
    return jupyter::idle_shutdown(text::join(lines, "\n"));
  } catch (const Error&) {
    return std::nullopt;  // the row says it does not answer; why is a bonus
  }
}

// IDLE: how long the server has had no activity, and its limit.
std::string idle_words(const Row& r) {
  const auto& s = r.session;
  const std::string limit =
      s.idle_timeout_s > 0 ? " of " + text::format_duration(s.idle_timeout_s) : std::string{};
  if (r.activity.idle_s) {
    return text::format_duration(*r.activity.idle_s) + limit;
  }
  return "-";
}

// Everything status asks one host, at once: one script (the GPUs, and whether each session's
// place is still the one its server was started in) and every server's api/status. Over a
// master's connection the script runs on its shell helper and the checks on channels it kept,
// all in flight together: about one round trip for the lot.
void survey(Context& ctx, ssh::Session& session, const std::string& host_name,
            const std::vector<SessionRecord>& sessions, std::vector<Row>& rows) {
  std::deque<remote::Host> hosts;
  std::vector<std::unique_ptr<remote::Placement>> places;
  const std::string nonce = sys::generate_nonce();
  std::vector<std::string> commands{
      remote::Host(session, host_name, ctx.docker_command(host_name, "")).gpus_command(nonce)};
  std::vector<std::optional<std::size_t>> asked;  // each session's command among them
  for (const auto& s : sessions) {
    hosts.emplace_back(session, host_name, ctx.docker_command(s.host, s.container));
    places.push_back(remote::placement_of(hosts.back(), s));
    auto command = places.back()->replaced_command(s);
    asked.emplace_back();
    if (!command.empty()) {
      asked.back() = commands.size();
      commands.push_back(std::move(command));
    }
  }
  std::optional<ssh::RemoteProcess> script;
  try {
    script.emplace(session.start(helper::batch(commands), ssh::deadline_in(15s)));
  } catch (const Error& e) {
    if (e.code() == Exit::interrupted) {
      throw;
    }
    ctx.ui().trace(fmt::format("asking {} failed: {}", host_name, e.what()));
  }
  std::vector<std::optional<ssh::TcpExchange>> checks;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const auto& s = sessions[i];
    checks.emplace_back(
        hosts[i].start_status(s.address, s.port, s.base_url, s.token, ssh::deadline_in(10s)));
  }
  std::optional<std::vector<helper::Result>> answers;
  if (script) {
    try {
      auto result = script->finish(ssh::deadline_in(15s));
      answers = helper::parse_batch(result.out, commands.size());
      if (!answers) {
        ctx.ui().trace(fmt::format("{}'s answers were not whole (exit {}): {}", host_name,
                                   result.exit_status, text::tail(text::trim(result.err), 1)));
      }
    } catch (const Error& e) {
      if (e.code() == Exit::interrupted) {
        throw;
      }
      ctx.ui().trace(fmt::format("asking {} failed: {}", host_name, e.what()));
    }
  }
  // The GPUs: nothing when the host has no nvidia-smi, it fails, or the script did (status
  // then says nothing about GPUs: the sessions' own checks say what is wrong with the host).
  std::optional<std::vector<gpus::Use>> host_uses;
  if (answers) {
    auto report = remote::Host::gpus_of((*answers)[0].out, (*answers)[0].err, nonce);
    if (report.tool == gpus::Report::Tool::ok) {
      host_uses = gpus::usage(report);
    } else {
      ctx.ui().trace(
          fmt::format("no GPUs on {}: {}", host_name,
                      report.tool == gpus::Report::Tool::missing ? "no nvidia-smi" : report.error));
    }
  }
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const auto& s = sessions[i];
    Row row{s,
            tunnel::running_pid(ctx.store().tunnel_lock(s.host, s.container)),
            Answers::unknown,
            {},
            {},
            std::nullopt,
            std::nullopt,
            std::nullopt};
    if (host_uses) {
      row.gpus = gpus::of_container(*host_uses, s.container_id, s.container);
    }
    // Whether the container is still the one Jupyter was started in: a removed one's address
    // would only time out, so its check is dropped unanswered.
    std::optional<Error> replaced;
    if (asked[i] && answers) {
      const auto& a = (*answers)[*asked[i]];
      replaced = places[i]->replaced_of(s, a.status, a.out + a.err);
    } else if (asked[i]) {
      replaced = places[i]->replaced(s, ssh::deadline_in(10s));
    }
    if (const auto* job = dynamic_cast<const remote::SlurmJob*>(places[i].get());
        job != nullptr && asked[i]) {
      row.job = job->last();
    }
    if (replaced) {
      checks[i].reset();
      row.answers = Answers::no;
      row.detail = fmt::format("{}; {}", replaced->what(), replaced->hint());
      rows.push_back(std::move(row));
      continue;
    }
    try {
      auto health = remote::Host::status_of(checks[i]->finish(ssh::deadline_in(10s)), s.address,
                                            s.port, s.container);
      row.answers = health.answers() ? Answers::yes : Answers::no;
      row.detail = health.detail;
      row.activity = health.activity;
      if (!health.answers()) {
        if (auto idle = shut_down_idle(*places[i], s)) {
          row.idle_shutdown = idle;
          row.detail =
              fmt::format("Jupyter shut itself down after {} idle (--idle-timeout {})",
                          text::format_duration(*idle), text::format_duration(s.idle_timeout_s));
        }
      }
    } catch (const Error& e) {
      // One server that does not answer in time is that row's state, not the command's
      // failure.
      if (e.code() != Exit::timeout) {
        throw;
      }
      row.answers = Answers::no;
      row.detail = e.what();
    }
    rows.push_back(std::move(row));
  }
}

}  // namespace

int run_status(Context& ctx, const StatusOptions& o) {
  auto state = ctx.store().load();
  auto matches = match_sessions(state, ctx.explicit_host(), o.container);
  if (matches.empty() && o.container) {
    throw Error(Exit::usage, fmt::format("no known session for container '{}'", *o.container),
                "jl status lists all known sessions");
  }
  std::map<std::pair<std::string, std::optional<std::string>>, std::vector<SessionRecord>> by_host;
  for (const auto* s : matches) {
    by_host[{s->host, s->ssh_config}].push_back(*s);
  }
  std::vector<Row> rows;
  for (const auto& [key, sessions] : by_host) {
    const auto& [host_name, ssh_config] = key;
    std::optional<ssh::Session> session;
    std::string connect_error;
    try {
      session.emplace(ctx.connect(host_name, ssh_config));
    } catch (const Error& e) {
      connect_error = e.what();
    }
    auto busy = ctx.ui().activity(fmt::format("asking the servers on {}", host_name));
    if (!session) {
      for (const auto& s : sessions) {
        rows.push_back({s,
                        tunnel::running_pid(ctx.store().tunnel_lock(s.host, s.container)),
                        Answers::unknown,
                        connect_error,
                        {},
                        std::nullopt,
                        std::nullopt,
                        std::nullopt});
      }
      continue;
    }
    survey(ctx, *session, host_name, sessions, rows);
  }

  if (ctx.ui().json()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      const auto& s = r.session;
      nlohmann::json tunnel = nullptr;
      if (r.tunnel) {
        tunnel = {{"local_port", s.local_port},
                  {"pid", *r.tunnel},
                  {"alive", true},
                  {"note", s.tunnel_note}};
      } else if (s.tunnel_pid > 0) {
        tunnel = {{"local_port", s.local_port}, {"pid", s.tunnel_pid}, {"alive", false}};
      } else if (!s.tunnel_note.empty()) {
        tunnel = {{"local_port", s.local_port}, {"alive", false}, {"note", s.tunnel_note}};
      }
      auto j = session_json(s, o.show_token);
      j["answers"] = r.answers == Answers::yes;
      j["state"] = words(r.answers);
      j["detail"] = r.detail;
      j["idle_s"] = r.activity.idle_s ? nlohmann::json(*r.activity.idle_s) : nullptr;
      j["kernels"] = r.activity.kernels >= 0 ? nlohmann::json(r.activity.kernels) : nullptr;
      j["idle_timeout_s"] = s.idle_timeout_s > 0 ? nlohmann::json(s.idle_timeout_s) : nullptr;
      j["ended"] = r.idle_shutdown ? nlohmann::json("idle_timeout") : nullptr;
      j["tunnel"] = tunnel;
      if (r.gpus) {
        j["gpus"] = gpus::to_json(*r.gpus);
      }
      if (r.job) {
        j["job"] = {
            {"id", r.job->id.empty() ? s.job_id : r.job->id},
            {"known", r.job->known},
            {"state", r.job->state},
            {"reason", r.job->reason},
            {"node", r.job->node},
            {"time_left", r.job->time_left},
            {"elapsed", r.job->elapsed},
            {"ended", r.job->ended() || !r.job->known ? nlohmann::json(slurm::ended_words(*r.job))
                                                      : nlohmann::json(nullptr)}};
      }
      out.push_back(std::move(j));
    }
    ctx.ui().out_json(out, 2);
    return 0;
  }
  if (ctx.ui().quiet()) {
    // For scripts: HOST CONTAINER ANSWERS(yes/no/unknown) LOCAL_URL_OR_-, tab-separated.
    for (const auto& r : rows) {
      ctx.ui().out(fmt::format(
          "{}\t{}\t{}\t{}", r.session.host, r.session.container, words(r.answers),
          r.tunnel ? fmt::format("http://127.0.0.1:{}/", r.session.local_port) : std::string("-")));
    }
    return 0;
  }
  if (rows.empty()) {
    ctx.ui().out("no known sessions (start one with: jl start CONTAINER)");
    return 0;
  }
  const bool any_gpus =
      std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.gpus.has_value(); });
  const bool any_jobs =
      std::any_of(rows.begin(), rows.end(), [](const Row& r) { return !r.session.job_id.empty(); });
  std::vector<std::vector<std::string>> cells = {{"HOST", "CONTAINER", "APP", "VERSION", "ADDRESS",
                                                  "PID", "STARTED", "IDLE", "ANSWERS", "TUNNEL",
                                                  "TOKEN"}};
  if (any_gpus) {
    cells.front().push_back("GPUS");
  }
  if (any_jobs) {
    cells.front().push_back("JOB");
  }
  for (const auto& r : rows) {
    const auto& s = r.session;
    std::string answers(words(r.answers));
    if (r.answers != Answers::yes && !r.detail.empty()) {
      answers += " (" + r.detail + ")";
    }
    cells.push_back({s.host, s.container, s.app, s.server_version.empty() ? "?" : s.server_version,
                     fmt::format("{}:{}", s.address, s.port), std::to_string(s.pid), s.started_at,
                     idle_words(r), answers,
                     r.tunnel ? fmt::format("127.0.0.1:{} (pid {})", s.local_port, *r.tunnel)
                     : s.tunnel_pid > 0 ? "dead"
                     : s.tunnel_state == TunnelNote::gave_up
                         ? fmt::format("closed, it {}; `jl open` logs in again", s.tunnel_note)
                         : "-",
                     o.show_token ? s.token : jupyter::mask_token(s.token)});
    if (any_gpus) {
      // Nothing for a session on a host without nvidia-smi (or not reached).
      cells.back().push_back(r.gpus ? gpus::words(*r.gpus) : std::string{});
    }
    if (any_jobs) {
      cells.back().push_back(job_words(r));
    }
  }
  ctx.ui().out(text::table(cells));
  return 0;
}

void setup_status(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<StatusOptions>();
  auto* sub = app.add_subcommand("status",
                                 "Show known sessions: where they run and whether they answer\n"
                                 "  jl status\n"
                                 "  jl --json status cont1");
  sub->alias("ls");
  sub->add_option("CONTAINER", options->container, "Show only this container");
  sub->add_flag("--show-token", options->show_token,
                "Show the whole token (it is masked otherwise)");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_status(ctx, *options); };
  });
}

}  // namespace jl::cmd
