// jl logs: the log Jupyter writes inside the container (jl start sends its output to a 0600
// file there), the last N lines or followed live until Ctrl-C.

#include "jl/core/logs.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/cmd/logs.hpp"
#include "jl/core/error.hpp"
#include "jl/core/keepalive.hpp"
#include "jl/core/problem.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/sys/random.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

constexpr int kMaxLines = 1000000;

std::string dump(const nlohmann::json& j) {
  // Logs may hold bytes that are not UTF-8: replace them rather than fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Write one line to stdout; false when nobody reads any more (e.g. `jl logs -f | head`).
bool emit(const std::string& line) {
  return std::fwrite(line.data(), 1, line.size(), stdout) == line.size() &&
         std::fputc('\n', stdout) != EOF && std::fflush(stdout) == 0;
}

// Why the script did not show the log, as an error.
Error failure(const logs::Reader& reader, const SessionRecord& s, const Subject& subject,
              const std::string& err) {
  using O = logs::Reader::Outcome;
  if (reader.outcome() == O::missing) {
    return Error(
        Exit::remote,
        fmt::format("the log file {} is not in container '{}' any more", s.log, s.container),
        "it is gone when the container was recreated; `jl status` shows whether the "
        "server still runs");
  }
  if (reader.outcome() == O::unreadable) {
    return Error(Exit::remote,
                 fmt::format("user {} cannot read the log file {} in container '{}'",
                             reader.user().empty() ? "?" : reader.user(), s.log, s.container),
                 "the log belongs to the container's default user, who started Jupyter");
  }
  const std::string said = text::tail(text::trim(reader.before() + err), 1);
  switch (classify_container_error(said)) {
    case Problem::container_not_running:
      return to_error(Problem::container_not_running, subject);
    case Problem::no_such_container:
      return to_error(Problem::container_gone, subject);
    default:
      break;
  }
  return Error(Exit::remote, fmt::format("cannot read the log in container '{}' on {}: {}",
                                         s.container, s.host, said.empty() ? "no answer" : said));
}

// What reading a session's log works with.
struct Reading {
  Context& ctx;
  const SessionRecord& s;
  ssh::Session& session;
  ssh::RemoteProcess& process;
  logs::Reader& reader;
  std::function<Error(const std::string&)> failed;  // why it failed, as the error to throw
};

// Print the last lines and return.
int print_tail(Reading& r) {
  auto& [ctx, s, session, process, reader, failed] = r;
  process.close_stdin(ssh::deadline_in(10s));
  auto result = process.finish(ssh::deadline_in(30s));
  auto lines = reader.feed(result.out);
  if (auto last = reader.finish()) {
    lines.push_back(std::move(*last));
  }
  if (reader.outcome() != logs::Reader::Outcome::ended) {
    throw failed(result.err);
  }
  if (ctx.ui().json()) {
    ctx.ui().out(dump(
        {{"host", s.host}, {"container", s.container}, {"log_file", s.log}, {"lines", lines}}));
    return 0;
  }
  for (const auto& l : lines) {
    if (!emit(l)) {
      break;
    }
  }
  return 0;
}

// Print lines as they arrive; Ctrl-C (an interrupt from the session's event loop) ends it.
// Closing the channel's stdin makes the script stop tail in the container.
int follow(Reading& r) {
  // Named references, not a structured binding: the lambdas below use them, which C++20
  // allows but clang before 16 does not.
  Context& ctx = r.ctx;
  const SessionRecord& s = r.s;
  ssh::Session& session = r.session;
  ssh::RemoteProcess& process = r.process;
  logs::Reader& reader = r.reader;
  auto& failed = r.failed;
  const bool json = ctx.ui().json();
  ctx.ui().info(
      fmt::format("following {} in {} on {} (Ctrl-C to stop)", s.log, s.container, s.host));
  auto show = [&](const std::vector<std::string>& lines) {
    for (const auto& l : lines) {
      if (!(json ? emit(dump({{"container", s.container}, {"line", l}})) : emit(l))) {
        return false;
      }
    }
    return true;
  };
  bool reader_gone = false;
  bool ended = false;
  // A quiet log must not hide a dead connection: after each ServerAliveInterval of silence ask
  // the server for an answer (as ssh does); ServerAliveCountMax intervals without one end it
  // (KeepaliveTimer, as for the tunnel).
  session.detect_dead_peer();
  const auto ka = session.keepalive();
  KeepaliveTimer alive(std::chrono::seconds(ka.interval_s), ka.count_max, ssh::Clock::now());
  try {
    while (!ended) {
      const auto wait = std::min<std::chrono::milliseconds>(1s, alive.wait_time(ssh::Clock::now()));
      auto chunk = process.read_some(ssh::deadline_in(wait), &ended);
      alive.heard(session.last_heard());
      switch (alive.tick(ssh::Clock::now())) {
        case KeepaliveTimer::Action::dead:
          throw Error(Exit::ssh, alive.no_answer(s.host) + "; the connection is dead",
                      "check the network, then run the same command again");
        case KeepaliveTimer::Action::send:
          session.send_keepalive();
          break;
        case KeepaliveTimer::Action::none:
          break;
      }
      if (!show(reader.feed(chunk))) {
        reader_gone = true;
        break;
      }
      const auto outcome = reader.outcome();
      if (outcome == logs::Reader::Outcome::missing ||
          outcome == logs::Reader::Outcome::unreadable) {
        throw failed({});
      }
    }
  } catch (const Error& e) {
    if (e.code() != Exit::interrupted) {
      throw;
    }
    ended = false;
  }
  if (!ended) {
    // Interrupted, or stdout went away: stop the remote side and wait (briefly) for it to end.
    try {
      process.close_stdin(ssh::deadline_in(1s));
      process.finish(ssh::deadline_in(2s));
    } catch (const Error& e) {
      ctx.ui().trace(fmt::format("the log's reader did not end cleanly: {}", e.what()));
    }
    return 0;
  }
  if (auto last = reader.finish()) {
    show({*last});
  }
  if (reader_gone) {
    return 0;
  }
  if (reader.outcome() != logs::Reader::Outcome::streaming &&
      reader.outcome() != logs::Reader::Outcome::ended) {
    throw failed({});
  }
  throw Error(Exit::remote,
              fmt::format("following the log of {} stopped: the container or the connection went "
                          "away",
                          session_label(s)),
              "check the container (docker ps on the host) and `jl status`");
}

}  // namespace

int run_logs(Context& ctx, const LogsOptions& o) {
  if (o.lines < 0 || o.lines > kMaxLines) {
    throw Error(Exit::usage, fmt::format("-n must be between 0 and {}", kMaxLines));
  }
  auto state = ctx.store().load();
  const auto s = ctx.pick_session(state, o.container);
  if (s.log.empty()) {
    throw Error(Exit::usage,
                fmt::format("jl did not start the Jupyter of {} (pid {}), so it knows no log file",
                            session_label(s), s.pid),
                fmt::format("its output went wherever it was started from; to run it under jl "
                            "(this ends the running server): jl stop {0} && jl start {0}",
                            s.container));
  }
  auto session = ctx.connect(s.host, s.ssh_config);
  const std::string nonce = sys::generate_nonce();
  remote::Host host(session, s.host, ctx.docker_command(s.host, s.container));
  // The session's own place (by id when known: a container re-created under the same name does
  // not hold this log).
  const auto place = remote::placement_of(host, s);
  logs::Reader reader(nonce);
  auto process = place->read_log(nonce, s.log, o.lines, o.follow, ssh::deadline_in(15s));
  // Why it failed, with the container's fate first: re-created or removed says it all.
  auto failed = [&](const std::string& err) {
    if (auto replaced = place->replaced(s, ssh::deadline_in(10s))) {
      return *replaced;
    }
    return failure(reader, s, place->subject(), err);
  };
  Reading reading{ctx, s, session, process, reader, failed};
  return o.follow ? follow(reading) : print_tail(reading);
}

void setup_logs(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<LogsOptions>();
  auto* sub =
      app.add_subcommand("logs",
                         "Show the log of a Jupyter jl started (the last lines, or follow it)\n"
                         "  jl logs cont1 -n 100\n"
                         "  jl logs -f                  (until Ctrl-C)");
  sub->add_option("CONTAINER", options->container, "Container of a known session");
  sub->add_flag("-f,--follow", options->follow, "Keep printing new lines until Ctrl-C");
  sub->add_option("-n,--lines", options->lines, "How many of the last lines to show")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str()
      ->type_name("N");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_logs(ctx, *options); };
  });
}

}  // namespace jl::cmd
