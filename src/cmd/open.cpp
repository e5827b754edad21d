// jl open: a tunnel from 127.0.0.1 on this machine to a started session, and the browser (jl up
// opens its tunnel here too).

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/cmd/open.hpp"
#include "jl/core/error.hpp"
#include "jl/core/http.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/sys/browser.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/state_store.hpp"
#include "jl/tunnel/runner.hpp"
#include "tunnel_spawn.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

std::string session_url(const SessionRecord& s, int local_port) {
  auto app = jupyter::app_from_string(s.app).value_or(jupyter::App::server);
  return jupyter::local_url(local_port, s.base_url, app, s.legacy, s.token);
}

}  // namespace

// Tell the user where to go: the URL is the last line on stdout; the browser is best effort.
void announce(Context& ctx, const SessionRecord& s, int local_port, bool no_browser, bool reused,
              long long pid, const StartOutcome* started) {
  const std::string url = session_url(s, local_port);
  std::string opened;
  if (!no_browser) {
    // The browser gets a page that sends it on, never the token URL itself: a command line is
    // visible to every user of this machine (ps), a 0600 file is not.
    try {
      const std::string page = ctx.store().open_page(s.host, s.container);
      sys::write_private_file(page, jupyter::open_page(url));
      opened = sys::open_browser("file://" + page, ctx.env());
    } catch (const Error& e) {
      ctx.ui().warn(fmt::format("not opening the browser: {}", e.what()));
    }
  }
  if (ctx.ui().json()) {
    nlohmann::json j{
        {"url", url},
        {"local_port", local_port},
        {"container", s.container},
        {"host", s.host},
        {"tunnel_pid", pid},
        {"tunnel_reused", reused},
        {"browser", opened.empty() ? nlohmann::json(nullptr) : nlohmann::json(opened)}};
    if (started != nullptr) {
      j["server"] = start_json(*started);
    }
    ctx.ui().out_json(j);
    return;
  }
  if (!ctx.ui().quiet()) {
    // The tunnel first: the line that announces the URL must be right above it.
    ctx.ui().out(fmt::format("tunnel 127.0.0.1:{} -> {}:{} on {} ({}, pid {})", local_port,
                             s.address, s.port, s.host, reused ? "already running" : "started",
                             pid));
    if (no_browser) {
      ctx.ui().out("open this URL:");
    } else if (opened.empty()) {
      ctx.ui().out("no browser opener found (set $BROWSER, or install xdg-utils); open this URL:");
    } else {
      ctx.ui().out(fmt::format("opened in the browser ({}):", opened));
    }
  }
  ctx.ui().out(url);
}

// A live tunnel answers for the session: check it with one request through it, no SSH.
bool tunnel_answers(const SessionRecord& s) {
  auto request =
      http::request("GET", "127.0.0.1", s.local_port, s.base_url + "api/status", s.token);
  auto reply = sys::exchange_loopback(s.local_port, request, 5s, http::response_complete);
  if (!reply) {
    return false;
  }
  auto resp = http::parse_response(*reply);
  return resp && resp->status == 200;
}

// Start the tunnel for a session over `session` and hand over to the background process
// (which does not return here) or serve in the foreground.
int open_tunnel(Context& ctx, ssh::Session& session, const SessionRecord& s, const OpenOptions& o,
                int session_lock_fd, const StartOutcome* started, sys::Fd listener) {
  if (!listener.valid()) {
    listener = bind_local(o.local_port, s.local_port, s.port);
  }
  const int local_port = sys::local_port(listener.get());
  tunnel::RunOptions run;
  run.paths = {ctx.store().tunnel_lock(s.host, s.container),
               ctx.store().tunnel_log(s.host, s.container)};
  run.target = {s.address, s.port};
  run.foreground = o.foreground;
  if (session_lock_fd >= 0) {
    run.close_in_child.push_back(session_lock_fd);
  }
  const std::string host = s.host;
  const std::string container = s.container;
  run.on_started = [&, local_port](long long pid) {
    ctx.store().update([&](State& st) {
      if (auto* rec = st.find(host, container)) {
        rec->local_port = local_port;
        rec->tunnel_pid = pid;
      }
    });
    announce(ctx, s, local_port, o.no_browser, false, pid, started);
  };
  run.spec.kind = mux::ForwardSpec::Kind::session;
  run.spec.host = s.host;
  run.spec.name = s.container;
  run.spec.lock = run.paths.lock;
  run.spec.log = run.paths.log;
  run.spec.target_host = s.address;
  run.spec.target_port = s.port;
  run.spec.base_url = s.base_url;
  run.spec.token = s.token;
  run.spec.job_id = s.job_id;
  share(run, ctx.store(), ctx.sharing(s.host, s.ssh_config));
  run.reconnect = reconnector(s.host, s.ssh_config, ctx.ssh_client());
  // What jl inherited (a caller's lock, a pipe someone reads to its end) is not the tunnel's.
  run.close_in_child.insert(run.close_in_child.end(), ctx.inherited_fds().begin(),
                            ctx.inherited_fds().end());
  return tunnel::run(session, std::move(listener), std::move(run));
}

int run_open(Context& ctx, const OpenOptions& o) {
  auto state = ctx.store().load();
  SessionRecord s = ctx.pick_session(state, o.container);
  const std::string lock_path = ctx.store().tunnel_lock(s.host, s.container);

  // Fast path: a live tunnel that answers. No SSH connection at all.
  if (auto pid = tunnel::running_pid(lock_path)) {
    bool port_ok = s.local_port > 0 && (!o.local_port || *o.local_port == s.local_port);
    if (port_ok && tunnel_answers(s)) {
      announce(ctx, s, s.local_port, o.no_browser, true, *pid);
      return 0;
    }
    ctx.ui().trace(
        "the running tunnel does not answer (or another port was asked for); "
        "replacing it");
    if (!tunnel::terminate(lock_path, 5s)) {
      throw Error(Exit::other, fmt::format("cannot stop the old tunnel (pid {})", *pid));
    }
  }

  auto lock = ctx.store().lock_session(s.host, s.container, 60s);
  auto session = ctx.connect(s.host, s.ssh_config);
  remote::Host host(session, s.host, ctx.docker_command(s.host, s.container));
  // First whether the container is still the one Jupyter was started in: a removed one's
  // address would only time out.
  if (auto replaced = remote::placement_of(host, s)->replaced(s, ssh::deadline_in(10s))) {
    throw *replaced;
  }
  auto health =
      host.status(s.address, s.port, s.base_url, s.token, ssh::deadline_in(10s), s.container);
  if (!health.answers()) {
    throw Error(Exit::remote,
                fmt::format("Jupyter in {} on {} does not answer at {}:{} ({})", s.container,
                            s.host, s.address, s.port, health.detail),
                fmt::format("start it again with: jl -H {} start {}", s.host, s.container));
  }
  return open_tunnel(ctx, session, s, o, lock.get());
}

void add_open_options(CLI::App* sub, OpenOptions& options) {
  sub->add_flag("--no-browser", options.no_browser, "Do not open a browser; just print the URL");
  sub->add_option("--local-port", options.local_port,
                  "Local port (default: the session's last one, else the remote port, else the "
                  "next free one)")
      ->check(CLI::Range(1, 65535))
      ->type_name("N");
  sub->add_flag("--foreground", options.foreground, "Keep the tunnel in this process until Ctrl-C");
}

void setup_open(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<OpenOptions>();
  auto* sub =
      app.add_subcommand("open",
                         "Make sure a tunnel runs to a started session, then open the browser\n"
                         "  jl open\n"
                         "  jl open cont1 --no-browser");
  sub->add_option("CONTAINER", options->container, "Container of a known session");
  add_open_options(sub, *options);
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_open(ctx, *options); };
  });
}

}  // namespace jl::cmd
