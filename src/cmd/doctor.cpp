// jl doctor: check, one line each, everything jl needs, from the ssh config to the browser, and
// say how to fix what is not right. One SSH connection for every remote check; each check has a
// deadline; a check that depends on one that failed is skipped, with the reason.

#include "jl/core/doctor.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "jl/cmd/doctor.hpp"
#include "jl/core/error.hpp"
#include "jl/core/plan.hpp"
#include "jl/core/problem.hpp"
#include "jl/core/slurm.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"
#include "jl/remote/placement.hpp"
#include "jl/sys/browser.hpp"
#include "jl/sys/files.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/random.hpp"
#include "jl/tunnel/runner.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;
using doctor::Status;

constexpr int kDefaultContainerPort = 8888;

std::string list_or_none(const std::vector<std::string>& items) {
  return items.empty() ? std::string("none") : text::join(items, ", ");
}

class Doctor {
 public:
  Doctor(Context& ctx, const DoctorOptions& o) : m_ctx(ctx), m_o(o) {}

  int run() {
    const auto started = ssh::Clock::now();
    if (m_o.container && !jupyter::valid_container_name(*m_o.container)) {
      throw Error(Exit::usage, fmt::format("invalid container name '{}'", *m_o.container));
    }
    m_host = m_ctx.require_host();
    m_ssh_config = m_ctx.ssh_config();
    m_report.host = m_host;
    m_report.container = m_o.container;
    m_port = m_o.port.value_or(kDefaultContainerPort);
    m_state = m_ctx.store().load();

    const bool config_ok = check_config();
    if (config_ok) {
      connect();
    } else {
      skip({"connect", "host-key", "auth"}, "the ssh config does not resolve");
    }
    {
      auto busy = m_ctx.ui().activity(fmt::format("checking {}", m_host));
      const auto settings = m_ctx.session_settings(m_host, m_o.container);
      if (m_o.slurm || settings.scheduler.value == "slurm") {
        slurm_checks(m_o.partition ? m_o.partition : settings.partition.value);
      } else {
        remote_checks();
      }
    }
    check_local_port();
    check_browser();
    add("platform", Status::info,
        fmt::format("this jl was built with the {} implementation of its OS calls",
                    sys::platform()));
    check_sessions();

    m_report.seconds = std::chrono::duration<double>(ssh::Clock::now() - started).count();
    if (m_ctx.ui().json()) {
      m_ctx.ui().out_json(doctor::to_json(m_report), 2);
    } else if (!m_ctx.ui().quiet()) {
      print(doctor::render_summary(m_report));
    }
    return m_report.ok() ? 0 : 1;
  }

 private:
  // Record a check, and print it at once (people see progress; scripts use --json).
  void add(std::string name, Status status, std::string detail, std::string fix = {}) {
    const auto& c = m_report.add(std::move(name), status, std::move(detail), std::move(fix));
    const bool problem = status == Status::fail || status == Status::warn;
    if (!m_ctx.ui().json() && (!m_ctx.ui().quiet() || problem)) {
      // The status word (padded to 5) in colour on a terminal.
      std::string text = doctor::render_check(c);
      Paint paint = Paint::dim;
      if (status == Status::ok) {
        paint = Paint::green;
      } else if (status == Status::fail) {
        paint = Paint::red;
      } else if (status == Status::warn) {
        paint = Paint::yellow;
      }
      print(m_ctx.ui().paint(paint, text.substr(0, 5)) + text.substr(5));
    }
  }
  void skip(std::initializer_list<const char*> names, const std::string& why) {
    for (const auto* n : names) {
      add(n, Status::skip, why);
    }
  }
  // Through the Ui, which first clears the spinner's line.
  void print(std::string text) const {
    if (!text.empty() && text.back() == '\n') {
      text.pop_back();
    }
    m_ctx.ui().out(text);
  }

  bool check_config() {
    try {
      const auto r =
          ssh::resolve(m_host, m_ssh_config, m_ctx.ssh_client(), std::chrono::seconds(10));
      const auto& c = r.settings;
      m_user = c.user;
      std::string from = m_ssh_config ? *m_ssh_config : std::string("~/.ssh/config");
      std::vector<std::string> parts = {
          fmt::format("{} -> {}@{}:{}", m_host, c.user, c.hostname, c.port)};
      parts.push_back(r.by_openssh ? "resolved by ssh -G from " + from : "read by jl from " + from);
      if (!c.proxy_jump.empty()) {
        parts.push_back("through " + text::join(c.proxy_jump, " -> "));
      } else if (c.proxy_command) {
        parts.push_back("through ProxyCommand " + *c.proxy_command);
      }
      if (c.host_key_alias) {
        parts.push_back("host key alias " + *c.host_key_alias);
      }
      std::vector<std::string> kh;
      for (const auto& f : c.user_known_hosts_files) {
        kh.push_back(f);
      }
      parts.push_back("known_hosts " + text::join(kh, " "));
      std::vector<std::string> ids;
      for (const auto& f : c.identity_files) {
        const auto path = ssh::expand_path(r, f);
        if (::access(path.c_str(), R_OK) == 0) {
          ids.push_back(path);
        }
      }
      parts.push_back(
          fmt::format("identities{} {}", c.identities_only ? " (only these)" : "",
                      ids.empty() ? std::string("none on disk") : text::join(ids, " ")));
      const std::string detail = text::join(parts, "; ");
      if (!r.notes.empty()) {
        add("ssh-config", Status::warn, detail + "; " + text::join(r.notes, "; "),
            "jl connects without these settings; remove them for this host if they matter");
      } else {
        add("ssh-config", Status::ok, detail);
      }
      return true;
    } catch (const Error& e) {
      add("ssh-config", Status::fail, e.what(), e.hint());
      return false;
    }
  }

  void connect() {
    ssh::ConnectStage reached = ssh::ConnectStage::config;
    std::optional<ssh::HostKeyInfo> key;
    try {
      m_session.emplace(m_ctx.connect(m_host, m_ssh_config, [&](ssh::ConnectOptions& opt) {
        // Doctor looks, never changes: no key is accepted or written.
        opt.known_hosts_read_only = true;
        opt.on_stage = [&](ssh::ConnectStage s) { reached = s; };
        opt.on_host_key = [&](const ssh::HostKeyInfo& k) { key = k; };
      }));
    } catch (const Error& e) {
      if (e.code() == Exit::interrupted) {
        throw;
      }
      m_connect_error = e.what();
      report_connect(reached, key, &e);
      return;
    }
    m_endpoint = m_session->endpoint();
    if (const auto master = m_session->master_pid(); master != 0) {
      // The tunnel's connection checked the key and logged in when it was made.
      const std::string how = fmt::format("the connection of jl's tunnel (pid {})", master);
      add("connect", Status::ok, fmt::format("the SSH server answers, through {}", how));
      add("host-key", Status::ok, fmt::format("checked when {} was made", how));
      add("auth", Status::ok, fmt::format("logged in as {} ({}; no new login)", m_endpoint, how));
      return;
    }
    report_connect(reached, key, nullptr);
  }

  void report_connect(ssh::ConnectStage reached, const std::optional<ssh::HostKeyInfo>& key,
                      const Error* e) {
    using S = ssh::ConnectStage;
    if (e != nullptr && (reached == S::config || reached == S::tcp)) {
      add("connect", Status::fail, e->what(), e->hint());
      skip({"host-key", "auth"}, "no connection");
      return;
    }
    add("connect", Status::ok, "the SSH server answers");
    using V = ssh::HostKeyInfo::Verdict;
    const std::string file = key && !key->known_hosts.empty() ? key->known_hosts : "known_hosts";
    if (!key) {
      add("host-key", e != nullptr && reached == S::host_key ? Status::fail : Status::skip,
          e != nullptr ? e->what() : "not checked", e != nullptr ? e->hint() : "");
    } else if (key->verdict == V::known) {
      add("host-key", Status::ok,
          fmt::format("{} {} is known in {}", key->type, key->fingerprint, file));
    } else if (key->verdict == V::unknown) {
      add("host-key", Status::fail,
          fmt::format("not known: the server shows {} {}, which is not in {}", key->type,
                      key->fingerprint, file),
          fmt::format("check the fingerprint with the host's admin, then accept it once with "
                      "`ssh {}{}` (jl doctor never writes known_hosts)",
                      m_ssh_config ? "-F " + *m_ssh_config + " " : "", m_host));
    } else {
      add("host-key", Status::fail,
          fmt::format("CHANGED: the server now shows {} {}, not the key in {}{}", key->type,
                      key->fingerprint, file,
                      key->verdict == V::other_type ? " (another key type)" : ""),
          fmt::format("someone may be intercepting the connection; if the host was really "
                      "reinstalled, remove the old key (ssh-keygen -R HOST -f {})",
                      file));
    }
    if (e != nullptr && reached == S::host_key) {
      add("auth", Status::skip, "the host key is not accepted");
      return;
    }
    if (e != nullptr) {
      add("auth", Status::fail, e->what(), e->hint());
      return;
    }
    add("auth", Status::ok, fmt::format("logged in as {}", m_endpoint));
  }

  // The host as a Slurm login node: the client tools, the partition, the account's limits.
  void slurm_checks(const std::optional<std::string>& partition) {
    if (!m_session) {
      skip({"slurm", "partition", "account"}, "no SSH connection");
      return;
    }
    const std::string nonce = sys::generate_nonce();
    auto exec = m_session->exec(slurm::doctor_command(nonce, partition), {}, ssh::deadline_in(45s));
    const auto f = slurm::parse_doctor(exec.out + exec.err, nonce);
    if (!f.missing_tools.empty()) {
      add("slurm", Status::fail,
          fmt::format("Slurm's client tools are missing on {}: {}", m_host,
                      text::join(f.missing_tools, ", ")),
          "jl submits jobs through a login node, where sbatch, squeue, srun, scancel, sacct and "
          "scontrol are on the PATH of a non-interactive login");
    } else {
      add("slurm", Status::ok,
          fmt::format("{} client tools on {}", f.version.empty() ? "Slurm" : f.version, m_host));
    }
    if (!f.partition_found) {
      add("partition", Status::fail,
          partition ? fmt::format("no partition '{}' on {}", *partition, m_host)
                    : fmt::format("no default partition on {}", m_host),
          f.partitions.empty() ? std::string("sinfo lists none: is slurmctld up?")
                               : fmt::format("partitions there: {} (--partition NAME)",
                                             text::join(f.partitions, ", ")));
    } else {
      const bool up = f.partition_state == "up";
      add("partition", up ? Status::ok : Status::fail,
          fmt::format(
              "partition {} is {}: {} node{}, time limit {}, GRES {}", f.partition,
              f.partition_state, f.partition_nodes, f.partition_nodes == "1" ? "" : "s",
              f.partition_time_limit,
              f.partition_gres.empty() || f.partition_gres == "(null)" ? "none" : f.partition_gres),
          up ? std::string{} : "jobs there will wait until an administrator brings it up");
    }
    if (!f.accounting) {
      add("account", Status::warn,
          fmt::format("Slurm's accounting does not answer: {}",
                      f.accounting_error.empty() ? "sacctmgr failed" : f.accounting_error),
          "limits are not known; an ended job's reason comes from scontrol while it remembers "
          "the job");
    } else if (f.associations.empty()) {
      add("account", Status::fail, fmt::format("{} has no Slurm account association", m_user),
          "ask the cluster's administrators to add you to an account");
    } else {
      add("account", Status::ok, text::join(f.associations, "; "));
    }
  }

  void remote_checks() {
    if (!m_session) {
      skip({"docker", "container", "jupyter", "servers", "container-port", "gpu"},
           "no SSH connection");
      return;
    }
    const auto docker = m_ctx.docker_command(m_host, m_o.container.value_or(""));
    remote::Host host(*m_session, m_host, docker);
    m_remote = host.doctor(m_o.container, m_port, ssh::deadline_in(45s));
    const auto& r = m_remote;
    const auto& f = r.facts;
    const std::string late =
        r.timed_out ? " (the host's answer timed out after 45 s)" : std::string{};
    Subject subject = host.subject(m_o.container.value_or(""));
    subject.user = m_user;
    const auto problem = plan::probe_problem(f, subject, {});
    auto fail = [&](const char* check, Problem p) {
      auto w = describe(p, subject);
      add(check, Status::fail, w.message + late, w.hint);
    };

    // docker
    if (f.docker != probe::Docker::ok) {
      fail("docker", *problem);
    } else if (!r.docker_listed) {
      add("docker", Status::fail, "no answer from docker" + late,
          "check docker on the host (docker ps)");
    } else {
      add("docker", Status::ok,
          fmt::format("Docker {}answers; {} running container{}",
                      r.docker_version.empty() ? "" : r.docker_version + " ",
                      f.running_containers.size(), f.running_containers.size() == 1 ? "" : "s"));
    }
    if (f.docker != probe::Docker::ok || !r.docker_listed) {
      skip({"container", "jupyter", "servers", "container-port", "gpu"}, "docker is not usable");
      return;
    }

    // container
    if (!m_o.container) {
      add("container", Status::info,
          fmt::format("running: {} (name one to check it: jl doctor CONTAINER)",
                      list_or_none(f.running_containers)));
      skip({"jupyter", "servers", "container-port", "gpu"}, "no CONTAINER given");
      return;
    }
    const auto& name = *m_o.container;
    if (problem) {
      fail("container", *problem);
    } else {
      auto address = probe::server_address(*f.container);
      add("container", Status::ok,
          fmt::format("'{}' is running (network {}, {}; user {}, uid {})", name,
                      f.container->network_mode, address.value_or("no address"), f.user, f.uid));
    }
    if (problem) {
      skip({"jupyter", "servers", "container-port", "gpu"},
           "the container cannot be checked (see above)");
      return;
    }
    check_jupyter(name);
    check_container_port(name);
    check_gpu(name, late);
  }

  void check_jupyter(const std::string& name) {
    const auto& r = m_remote;
    if (r.facts.apps.empty()) {
      Subject subject;
      subject.container = name;
      auto w = describe(Problem::jupyter_missing, subject);
      add("jupyter", Status::fail, w.message, w.hint);
    } else {
      std::vector<std::string> apps;
      for (const auto& a : r.apps) {
        apps.push_back(fmt::format("{} {}", a.executable, a.version.empty() ? "?" : a.version));
      }
      add("jupyter", Status::ok, text::join(apps, ", "));
      check_jupyter_config();
    }
    if (r.facts.servers.empty()) {
      add("servers", Status::info, fmt::format("no Jupyter server runs in '{}'", name));
      return;
    }
    std::vector<std::string> servers;
    for (const auto& s : r.facts.servers) {
      std::string whose;
      std::string version = s.version;
      if (const auto* known = m_state.find(m_host, name); known != nullptr && known->pid == s.pid) {
        whose = ", jl's session";
        version = version.empty() ? known->server_version : version;
      }
      servers.push_back(fmt::format(
          "pid {} on {}:{} ({} {}{})", s.pid, s.hostname.empty() ? "*" : s.hostname, s.port,
          s.legacy ? "notebook" : "jupyter_server", version.empty() ? "?" : version, whose));
    }
    add("servers", Status::info, fmt::format("running: {}", text::join(servers, "; ")));
  }

  // The image's Jupyter config files: what in them fights jl.
  void check_jupyter_config() {
    const auto& report = m_remote.jupyter_config;
    if (!report) {
      add("jupyter-config", Status::skip, "no Python found next to Jupyter to read its config");
      return;
    }
    if (!report->read) {
      add("jupyter-config", Status::warn, "cannot read the Jupyter config: " + report->error);
      return;
    }
    auto findings = jupyter::config_findings(*report);
    if (findings.empty()) {
      add("jupyter-config", Status::ok,
          "no config file sets an ip, port, base_url, password or token");
      return;
    }
    using Level = jupyter::ConfigFinding::Level;
    for (const auto& f : findings) {
      add("jupyter-config",
          f.level == Level::fail   ? Status::fail
          : f.level == Level::warn ? Status::warn
                                   : Status::info,
          f.message, f.fix);
    }
  }

  void check_container_port(const std::string& name) {
    const auto& r = m_remote;
    const bool asked = m_o.port.has_value();
    if (!r.facts.busy_ports.contains(m_port)) {
      add("container-port", Status::ok, fmt::format("port {} is free in '{}'", m_port, name));
      return;
    }
    for (const auto& s : r.facts.servers) {
      if (s.port == m_port) {
        add("container-port", Status::ok,
            fmt::format("port {} is Jupyter's (pid {}): jl start reuses that server", m_port,
                        s.pid));
        return;
      }
    }
    std::string who;
    if (!r.port_holders.empty()) {
      who = fmt::format(
          "pid {} ({})", r.port_holders.front().pid,
          r.port_holders.front().command.empty() ? "?" : r.port_holders.front().command);
    } else {
      who = r.facts.container && r.facts.container->network_mode == "host"
                ? "a process outside the container (it shares the host's network)"
                : "a process jl cannot see (another user's)";
    }
    auto next = jupyter::first_free_port(r.facts.busy_ports, m_port);
    add("container-port", asked ? Status::fail : Status::warn,
        fmt::format("port {} in '{}' is held by {}", m_port, name, who),
        asked ? std::string("choose another --port")
              : fmt::format("jl start takes the next free port ({}); pass --port to choose one",
                            next ? std::to_string(*next) : "none"));
  }

  void check_gpu(const std::string& name, const std::string& late) {
    const auto& r = m_remote;
    using G = doctor::Remote::Gpu;
    switch (r.gpu) {
      case G::none:
        add("gpu", Status::info, fmt::format("no GPU (nvidia-smi is not in '{}')", name));
        break;
      case G::listed:
        if (r.gpus.empty()) {
          add("gpu", Status::warn, "nvidia-smi lists no GPU",
              "start the container with GPU access (docker run --gpus all ...)");
        } else {
          add("gpu", Status::ok, text::join(r.gpus, "; "));
        }
        break;
      case G::failed:
        add("gpu", Status::warn, fmt::format("nvidia-smi is there but fails: {}", r.gpu_error),
            "start the container with GPU access (docker run --gpus all ...) and check the "
            "host's NVIDIA driver");
        break;
      case G::unknown:
        add("gpu", Status::skip, "no report from the container" + late);
        break;
    }
  }

  void check_local_port() {
    const SessionRecord* s = m_o.container ? m_state.find(m_host, *m_o.container) : nullptr;
    int port = m_o.port.value_or(kDefaultContainerPort);
    if (s != nullptr) {
      port = s->local_port > 0 ? s->local_port : s->port;
    }
    if (s != nullptr) {
      if (auto pid = tunnel::running_pid(m_ctx.store().tunnel_lock(s->host, s->container));
          pid && s->local_port == port) {
        add("local-port", Status::ok,
            fmt::format("127.0.0.1:{} is the tunnel of {} (pid {})", port, session_label(*s),
                        *pid));
        return;
      }
    }
    std::string error;
    sys::Fd fd = sys::listen_loopback(port, &error);
    if (fd.valid()) {
      add("local-port", Status::ok, fmt::format("127.0.0.1:{} is free for the tunnel", port));
      return;
    }
    auto who = sys::port_holder(port);
    add("local-port", Status::warn,
        fmt::format("127.0.0.1:{} is in use{}", port, who.empty() ? ": " + error : " by " + who),
        "jl open takes the next free port; or choose one with --local-port");
  }

  void check_browser() {
    auto b = sys::find_browser(m_ctx.env());
    const std::string tried = text::join(b.candidates, ", ");
    const std::string fix =
        "use --no-browser with jl up/open and open the URL it prints (or set $BROWSER)";
    if (b.command.empty()) {
      add("browser", Status::warn,
          b.from_env
              ? fmt::format("none of $BROWSER ({}) is found", tried)
              : fmt::format("no browser opener: $BROWSER is not set and {} is not found", tried),
          fix);
      return;
    }
    if (b.needs_display && !m_ctx.env().get("DISPLAY") && !m_ctx.env().get("WAYLAND_DISPLAY")) {
      add("browser", Status::warn,
          fmt::format("{} is there, but there is no display ($DISPLAY, $WAYLAND_DISPLAY)", b.path),
          fix);
      return;
    }
    add("browser", Status::ok, fmt::format("{}{}", b.path, b.from_env ? " (from $BROWSER)" : ""));
  }

  void check_sessions() {
    int elsewhere = 0;
    int here = 0;
    std::optional<remote::Host> host;
    if (m_session) {
      host.emplace(*m_session, m_host);
    }
    for (const auto& s : m_state.sessions) {
      if (s.host != m_host) {
        ++elsewhere;
        continue;
      }
      ++here;
      const auto label = session_label(s);
      const auto tunnel_pid = tunnel::running_pid(m_ctx.store().tunnel_lock(s.host, s.container));
      const bool tunnel_dead = s.tunnel_pid > 0 && !tunnel_pid;
      std::string tunnel_text =
          tunnel_pid    ? fmt::format("tunnel 127.0.0.1:{} (pid {})", s.local_port, *tunnel_pid)
          : tunnel_dead ? fmt::format("its tunnel (pid {}) is dead", s.tunnel_pid)
                        : "no tunnel";
      if (!host) {
        add("session", tunnel_dead ? Status::warn : Status::skip,
            fmt::format("{}: server not checked (no SSH connection); {}", label, tunnel_text),
            tunnel_dead ? fmt::format("jl open {}", s.container) : "");
        continue;
      }
      // First whether the container is still the one Jupyter was started in: a removed
      // one's address would only time out.
      remote::Host own(*m_session, m_host, m_ctx.docker_command(s.host, s.container));
      if (auto replaced = remote::placement_of(own, s)->replaced(s, ssh::deadline_in(5s))) {
        add("session", Status::warn,
            fmt::format("{}: {}; {}", label, replaced->what(), tunnel_text), replaced->hint());
        continue;
      }
      remote::Health health;
      try {
        health =
            host->status(s.address, s.port, s.base_url, s.token, ssh::deadline_in(5s), s.container);
      } catch (const Error& e) {
        if (e.code() != Exit::timeout) {
          throw;
        }
        health.detail = e.what();
      }
      if (!health.answers()) {
        add("session", Status::warn,
            fmt::format("{}: stale: the server (pid {} at {}:{}) does not answer ({}); {}", label,
                        s.pid, s.address, s.port, health.detail, tunnel_text),
            fmt::format("jl stop {} (forgets it), then jl start {}", s.container, s.container));
      } else if (tunnel_dead) {
        add("session", Status::warn,
            fmt::format("{}: the server answers at {}:{}; {}", label, s.address, s.port,
                        tunnel_text),
            fmt::format("jl open {}", s.container));
      } else {
        add("session", Status::ok,
            fmt::format("{}: the server answers at {}:{}; {}", label, s.address, s.port,
                        tunnel_text));
      }
    }
    if (here == 0) {
      add("session", Status::info,
          elsewhere > 0
              ? fmt::format("no known session on {} ({} on other hosts)", m_host, elsewhere)
              : "no known sessions");
    } else if (elsewhere > 0) {
      add("session", Status::info,
          fmt::format("{} session(s) on other hosts not checked (jl -H HOST doctor)", elsewhere));
    }
  }

  Context& m_ctx;
  const DoctorOptions& m_o;
  doctor::Report m_report;
  std::string m_host;
  std::optional<std::string> m_ssh_config;
  std::string m_user;
  std::string m_endpoint;
  std::string m_connect_error;
  int m_port = kDefaultContainerPort;
  State m_state;
  std::optional<ssh::Session> m_session;
  doctor::Remote m_remote;
};

}  // namespace

int run_doctor(Context& ctx, const DoctorOptions& options) {
  return Doctor(ctx, options).run();
}

void setup_doctor(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<DoctorOptions>();
  auto* sub = app.add_subcommand(
      "doctor",
      "Check everything jl needs (ssh config, host key, login, docker, the container, Jupyter,\n"
      "ports, GPU, browser, known sessions); one line each, with a fix for what is wrong\n"
      "  jl doctor cont1\n"
      "  jl --json doctor cont1");
  sub->add_option("CONTAINER", options->container, "Container to check");
  sub->add_option("--port", options->port, "Container port to check (default: 8888)")
      ->check(CLI::Range(1, 65535))
      ->type_name("N");
  sub->add_flag("--slurm", options->slurm,
                "Check the host as a Slurm login node: client tools, partition, account limits");
  sub->add_option("-p,--partition", options->partition, "The partition to check (with --slurm)")
      ->type_name("NAME");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_doctor(ctx, *options); };
  });
}

}  // namespace jl::cmd
