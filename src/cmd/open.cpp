// jl open, jl up, jl forward, jl close: tunnels from 127.0.0.1 on this machine to a server
// the SSH host can reach, and the browser.

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "jl/cmd/commands.hpp"
#include "jl/core/error.hpp"
#include "jl/core/http.hpp"
#include "jl/core/jupyter.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/sys/browser.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/state_store.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

std::string session_url(const SessionRecord& s, int local_port) {
  auto app = jupyter::app_from_string(s.app).value_or(jupyter::App::server);
  return jupyter::local_url(local_port, s.base_url, app, s.legacy, s.token);
}

// Bind the tunnel's listener: the port asked for (busy is an error), else the one this session
// had before (so browser tabs stay valid), else the remote port, else the next free one.
sys::Fd bind_local(std::optional<int> requested, int previous, int remote_port) {
  std::string error;
  if (requested) {
    sys::Fd fd = sys::listen_loopback(*requested, &error);
    if (!fd.valid()) {
      throw Error(Exit::other, fmt::format("local port {} is not available: {}", *requested, error),
                  "choose another with --local-port, or leave it out and jl picks one");
    }
    return fd;
  }
  if (previous > 0) {
    sys::Fd fd = sys::listen_loopback(previous, &error);
    if (fd.valid()) {
      return fd;
    }
  }
  int start = remote_port > 0 ? remote_port : 8888;
  for (int p = start; p < start + 200 && p <= 65535; ++p) {
    sys::Fd fd = sys::listen_loopback(p, &error);
    if (fd.valid()) {
      return fd;
    }
  }
  sys::Fd fd = sys::listen_loopback(0, &error);
  if (!fd.valid()) {
    throw Error(Exit::other, fmt::format("cannot listen on 127.0.0.1: {}", error));
  }
  return fd;
}

// Tell the user where to go: the URL is the last line on stdout; the browser is best effort.
void announce(Context& ctx, const SessionRecord& s, int local_port, bool no_browser, bool reused,
              long long pid, const StartOutcome* started = nullptr) {
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
    ctx.ui().out(j.dump());
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

// A new connection for a tunnel whose connection died: same host and config, and never a
// prompt (nobody is there to answer it).
std::function<ssh::Session()> reconnector(std::string host, std::optional<std::string> config,
                                          std::string ssh_client) {
  return [host = std::move(host), config = std::move(config), ssh_client = std::move(ssh_client)] {
    ssh::ConnectOptions options;
    options.host = host;
    options.config_file = config;
    options.ssh_client = ssh_client;
    options.never_prompt = true;
    sys::Terminal none = sys::Terminal::open(false);
    return ssh::Session::connect(options, none, {});
  };
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
                int session_lock_fd, const StartOutcome* started = nullptr) {
  sys::Fd listener = bind_local(o.local_port, s.local_port, s.port);
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
  // Update the session's record, if this process is still its tunnel (a newer one may have
  // taken over).
  auto if_mine = [&store = ctx.store(), host, container](auto change) {
    const long long me = ::getpid();
    store.update([&](State& st) {
      if (auto* rec = st.find(host, container); rec != nullptr && rec->tunnel_pid == me) {
        change(*rec);
      }
    });
  };
  run.on_ended = [if_mine] {
    if_mine([](SessionRecord& rec) {
      rec.tunnel_pid = 0;  // keep local_port: the next open reuses it
      // A tunnel that gave up (a login that needs a person) says why until the next open.
      if (rec.tunnel_state != TunnelNote::gave_up) {
        rec.tunnel_state = TunnelNote::none;
        rec.tunnel_note.clear();
      }
    });
  };
  run.on_note = [if_mine](TunnelNote note, const std::string& words) {
    if_mine([&](SessionRecord& rec) {
      rec.tunnel_state = note;
      rec.tunnel_note = words;
    });
  };
  run.reconnect = reconnector(s.host, s.ssh_config, ctx.ssh_client());
  run.check_server = [s](ssh::Session& fresh, std::string* why) {
    remote::Host h(fresh, s.host);  // HTTP only: no docker involved
    auto health =
        h.status(s.address, s.port, s.base_url, s.token, ssh::deadline_in(10s), s.container);
    if (!health.answers()) {
      *why = health.detail;
    }
    return health.answers();
  };
  return tunnel::run(session, std::move(listener), std::move(run));
}

}  // namespace

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
  if (auto replaced = host.replaced_container(s, ssh::deadline_in(10s))) {
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

int run_up(Context& ctx, const UpOptions& options) {
  UpOptions o = options;
  validate_start(o.start);
  const std::string host_name = ctx.require_host();
  resolve_start(ctx, o.start, host_name);
  validate_start(o.start);
  const auto ssh_config = ctx.ssh_config();
  auto lock = ctx.store().lock_session(host_name, o.start.container,
                                       std::chrono::seconds(o.start.timeout_s + 30));
  const std::string lock_path = ctx.store().tunnel_lock(host_name, o.start.container);
  auto session = ctx.connect(host_name, ssh_config);
  auto outcome = start_on(ctx, session, host_name, ssh_config, o.start);
  if (!ctx.ui().json()) {
    report_start(ctx, outcome);
  }
  SessionRecord s = outcome.record;
  // A tunnel from an earlier open may still serve this very server; one that serves an older
  // server (or another port) gives way.
  if (auto pid = tunnel::running_pid(lock_path)) {
    if (s.local_port > 0 && (!o.open.local_port || *o.open.local_port == s.local_port) &&
        tunnel_answers(s)) {
      announce(ctx, s, s.local_port, o.open.no_browser, true, *pid, &outcome);
      return 0;
    }
    if (!tunnel::terminate(lock_path, 5s)) {
      throw Error(Exit::other, fmt::format("cannot stop the old tunnel (pid {})", *pid));
    }
  }
  return open_tunnel(ctx, session, s, o.open, lock.get(), &outcome);
}

int run_close(Context& ctx, const CloseOptions& o) {
  auto state = ctx.store().load();
  const auto targets = ctx.pick_sessions(state, o.container, o.all);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : targets) {
    const std::string lock_path = ctx.store().tunnel_lock(s.host, s.container);
    auto pid = tunnel::running_pid(lock_path);
    if (pid && !tunnel::terminate(lock_path, 5s)) {
      throw Error(Exit::other,
                  fmt::format("the tunnel of {} (pid {}) does not stop", session_label(s), *pid));
    }
    ctx.store().update([&](State& st) {
      if (auto* rec = st.find(s.host, s.container)) {
        rec->tunnel_pid = 0;
      }
    });
    if (ctx.ui().json()) {
      out.push_back({{"host", s.host}, {"container", s.container}, {"closed", pid.has_value()}});
    } else if (!ctx.ui().quiet()) {
      ctx.ui().out(pid ? fmt::format("closed the tunnel of {} (127.0.0.1:{}); Jupyter keeps "
                                     "running",
                                     session_label(s), s.local_port)
                       : fmt::format("no tunnel runs for {}", session_label(s)));
    }
  }
  if (o.all) {
    for (const auto& f : state.forwards) {
      const std::string lock_path = ctx.store().tunnel_lock(f.host, "forward:" + f.label);
      bool was = tunnel::running_pid(lock_path).has_value();
      tunnel::terminate(lock_path, 5s);
      ctx.store().update([&](State& st) { st.remove_forward(f.host, f.label); });
      if (ctx.ui().json()) {
        out.push_back({{"host", f.host}, {"forward", f.label}, {"closed", was}});
      } else if (!ctx.ui().quiet() && was) {
        ctx.ui().out(fmt::format("closed the forward {} on {} (127.0.0.1:{})", f.label, f.host,
                                 f.local_port));
      }
    }
  }
  if (ctx.ui().json()) {
    ctx.ui().out(out.dump());
  }
  return 0;
}

namespace {

struct ForwardSpec {
  std::optional<int> local_port;
  std::string host;  // container name, or an address as the SSH host sees it
  int port = 0;
};

// CONTAINER:PORT, or with -L [LOCAL_PORT:]ADDR:PORT (ADDR may be [v6]).
ForwardSpec parse_forward(const std::string& spec, bool raw) {
  auto bad = [&] {
    return Error(Exit::usage, fmt::format("invalid forward '{}'", spec),
                 raw ? "use -L [LOCAL_PORT:]ADDR:PORT, e.g. -L 8080:127.0.0.1:80"
                     : "use CONTAINER:PORT, e.g. cont1:6006");
  };
  auto port_of = [&](std::string_view t) {
    auto p = text::parse_int(t, 1, 65535);
    if (!p) {
      throw bad();
    }
    return static_cast<int>(*p);
  };
  ForwardSpec f;
  auto last = spec.rfind(':');
  if (last == std::string::npos || last + 1 >= spec.size()) {
    throw bad();
  }
  f.port = port_of(std::string_view(spec).substr(last + 1));
  std::string head = spec.substr(0, last);
  if (raw) {
    if (!head.empty() && head.back() == ']') {
      auto open = head.rfind('[');
      if (open == std::string::npos) {
        throw bad();
      }
      f.host = head.substr(open + 1, head.size() - open - 2);
      if (open > 0) {
        if (head[open - 1] != ':') {
          throw bad();
        }
        f.local_port = port_of(std::string_view(head).substr(0, open - 1));
      }
    } else if (auto colon = head.find(':'); colon != std::string::npos) {
      f.local_port = port_of(std::string_view(head).substr(0, colon));
      f.host = head.substr(colon + 1);
    } else {
      f.host = head;
    }
    if (f.host.empty() || f.host.find_first_of(" \t'\"$;|&`") != std::string::npos) {
      throw bad();
    }
  } else {
    if (!jupyter::valid_container_name(head)) {
      throw bad();
    }
    f.host = head;
  }
  return f;
}

}  // namespace

int run_forward(Context& ctx, const ForwardOptions& o) {
  ForwardSpec spec = parse_forward(o.spec, o.raw);
  if (o.local_port) {
    spec.local_port = o.local_port;
  }
  const std::string host_name = ctx.require_host();
  const auto ssh_config = ctx.ssh_config();
  const std::string key = "forward:" + o.spec;
  const std::string lock_path = ctx.store().tunnel_lock(host_name, key);
  if (auto pid = tunnel::running_pid(lock_path)) {
    if (!tunnel::terminate(lock_path, 3s)) {
      throw Error(Exit::other, fmt::format("cannot stop the old forward (pid {})", *pid));
    }
  }
  auto session = ctx.connect(host_name, ssh_config);
  tunnel::Target target{spec.host, spec.port};
  if (!o.raw) {
    remote::Host host(session, host_name, ctx.docker_command(host_name, spec.host));
    auto probe = host.probe(spec.host, ssh::deadline_in(15s));
    auto address = probe::server_address(*probe.container);
    if (!address) {
      throw Error(Exit::remote,
                  fmt::format("container '{}' has no IP address the host can reach", spec.host));
    }
    target.host = *address;
  }
  auto state = ctx.store().load();
  int previous = 0;
  if (const auto* f = state.find_forward(host_name, o.spec)) {
    previous = f->local_port;
  }
  sys::Fd listener = bind_local(spec.local_port, previous, spec.port);
  const int local_port = sys::local_port(listener.get());
  tunnel::RunOptions run;
  run.paths = {lock_path, ctx.store().tunnel_log(host_name, key)};
  run.target = target;
  run.foreground = o.foreground;
  run.on_started = [&](long long pid) {
    ForwardRecord rec{host_name, ssh_config, o.spec, target.host, target.port, local_port, pid};
    ctx.store().update([&](State& st) { st.upsert_forward(rec); });
    if (ctx.ui().json()) {
      ctx.ui().out(nlohmann::json{
          {"local_port", local_port},
          {"target", fmt::format("{}:{}", target.host, target.port)},
          {"host", host_name},
          {"pid", pid}}.dump());
    } else {
      if (!ctx.ui().quiet()) {
        ctx.ui().out(fmt::format("forwarding 127.0.0.1:{} -> {}:{} on {} (pid {})", local_port,
                                 target.host, target.port, host_name, pid));
      }
      ctx.ui().out(fmt::format("http://127.0.0.1:{}/", local_port));
    }
  };
  auto& store = ctx.store();
  const std::string label = o.spec;
  run.reconnect = reconnector(host_name, ssh_config, ctx.ssh_client());
  run.on_ended = [&store, host_name, label] {
    const long long me = ::getpid();
    store.update([&](State& st) {
      if (auto* f = st.find_forward(host_name, label); f != nullptr && f->pid == me) {
        f->pid = 0;
      }
    });
  };
  return tunnel::run(session, std::move(listener), std::move(run));
}

}  // namespace jl::cmd
