// The start planner: every branch of plan_start, reachable_address, the records, the start
// errors, and the problem table's words.

#include "jl/core/plan.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace {

using jl::Exit;
using jl::Problem;
using jl::SessionRecord;
using jl::Subject;
using jl::jupyter::App;
using jl::jupyter::RuntimeInfo;
using jl::plan::Candidate;
using jl::plan::Refusal;
using jl::plan::Settings;
using jl::plan::StartPlan;
using jl::probe::ContainerInfo;
using jl::probe::Facts;
using jl::probe::StartSpec;

constexpr const char* kId = "5d19e0c4a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901234567890abcd";
constexpr const char* kOldId = "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef";

ContainerInfo bridge_container() {
  ContainerInfo c;
  c.name = "cont1";
  c.id = kId;
  c.status = "running";
  c.running = true;
  c.network_mode = "bridge";
  c.networks = {{"bridge", "172.17.0.2"}};
  return c;
}

Facts facts() {
  Facts r;
  r.container = bridge_container();
  r.exec_ok = true;
  r.uid = 1000;
  r.user = "user";
  r.apps = {App::lab, App::notebook, App::server};
  return r;
}

RuntimeInfo server(long long pid, int port, std::string hostname, std::string token = "tok") {
  RuntimeInfo s;
  s.file = "/home/user/.local/share/jupyter/runtime/jpserver-" + std::to_string(pid) + ".json";
  s.pid = pid;
  s.port = port;
  s.hostname = std::move(hostname);
  s.token = std::move(token);
  return s;
}

Subject where() {
  Subject s;
  s.host = "gpubox";
  s.container = "cont1";
  return s;
}

struct Case {
  // What the plan must be when no reuse candidate answers: refused, or a start of `app` on
  // `ip`:`port`; `reuse` are the candidates' pids in order, `reuse_at` their addresses.
  Case(std::string name_, std::function<void(Facts&, Settings&)> setup_,
       std::optional<Problem> refused_ = std::nullopt, App app_ = App::lab, int port_ = 8888,
       std::string ip_ = "172.17.0.2", std::vector<long long> reuse_ = {},
       std::vector<std::string> reuse_at_ = {}, int warnings_ = 0)
      : name(std::move(name_)),
        setup(std::move(setup_)),
        refused(refused_),
        app(app_),
        port(port_),
        ip(std::move(ip_)),
        reuse(std::move(reuse_)),
        reuse_at(std::move(reuse_at_)),
        warnings(warnings_) {}
  std::string name;
  std::function<void(Facts&, Settings&)> setup;
  std::optional<Problem> refused;
  App app;
  int port;
  std::string ip;
  std::vector<long long> reuse;
  std::vector<std::string> reuse_at;
  int warnings;
};

class PlanStart : public ::testing::TestWithParam<Case> {};

TEST_P(PlanStart, DecidesFromFacts) {
  const auto& c = GetParam();
  Facts r = facts();
  Settings s;
  c.setup(r, s);
  StartPlan plan = jl::plan::plan_start(r, s, where(), nullptr);
  EXPECT_EQ(plan.warnings.size(), static_cast<std::size_t>(c.warnings)) << c.name;
  std::vector<long long> pids;
  std::vector<std::string> at;
  for (const auto& cand : plan.reuse) {
    pids.push_back(cand.server.pid);
    at.push_back(cand.address);
  }
  EXPECT_EQ(pids, c.reuse) << c.name;
  if (!c.reuse_at.empty()) {
    EXPECT_EQ(at, c.reuse_at) << c.name;
  }
  if (c.refused) {
    const auto* refusal = std::get_if<Refusal>(&plan.otherwise);
    ASSERT_NE(refusal, nullptr) << c.name;
    EXPECT_EQ(refusal->problem, *c.refused) << c.name;
    return;
  }
  const auto* spec = std::get_if<StartSpec>(&plan.otherwise);
  ASSERT_NE(spec, nullptr) << c.name;
  EXPECT_EQ(spec->app, c.app) << c.name;
  EXPECT_EQ(spec->port, c.port) << c.name;
  EXPECT_EQ(spec->ip, c.ip) << c.name;
  EXPECT_EQ(spec->container, "cont1") << c.name;
}

const Case kCases[] = {
    {"auto picks lab at 8888 on the bridge address", [](Facts&, Settings&) {}},
    {"auto without lab picks notebook",
     [](Facts& r, Settings&) {
       r.apps = {App::notebook, App::server};
     },
     std::nullopt, App::notebook},
    {"auto with only jupyter-server picks server",
     [](Facts& r, Settings&) { r.apps = {App::server}; }, std::nullopt, App::server},
    {"no Jupyter at all is refused", [](Facts& r, Settings&) { r.apps.clear(); },
     Problem::jupyter_missing},
    {"an app asked for and missing is refused, naming what there is",
     [](Facts& r, Settings& s) {
       r.apps = {App::notebook};
       s.app = App::lab;
     },
     Problem::app_missing},
    {"an app asked for with no Jupyter at all says Jupyter is missing",
     [](Facts& r, Settings& s) {
       r.apps.clear();
       s.app = App::server;
     },
     Problem::jupyter_missing},
    {"an app asked for and present is used", [](Facts&, Settings& s) { s.app = App::notebook; },
     std::nullopt, App::notebook},
    {"the next free port after busy ones",
     [](Facts& r, Settings&) {
       r.busy_ports = {8888, 8889, 8891};
     },
     std::nullopt, App::lab, 8890},
    {"a port asked for and free is used", [](Facts&, Settings& s) { s.port = 9000; }, std::nullopt,
     App::lab, 9000},
    {"a port asked for and busy is refused",
     [](Facts& r, Settings& s) {
       r.busy_ports = {9000};
       s.port = 9000;
     },
     Problem::port_busy},
    {"no free port from 8888 on is refused",
     [](Facts& r, Settings&) {
       for (int p = 8888; p <= 65535; ++p) {
         r.busy_ports.insert(p);
       }
     },
     Problem::no_free_port},
    {"a host-network container starts on 127.0.0.1",
     [](Facts& r, Settings&) {
       r.container->network_mode = "host";
       r.container->networks.clear();
     },
     std::nullopt, App::lab, 8888, "127.0.0.1"},
    {"a container with no address is refused first",
     [](Facts& r, Settings&) {
       r.container->network_mode = "none";
       r.container->networks.clear();
       r.servers = {server(7, 8888, "0.0.0.0")};
     },
     Problem::no_address},
    {"a server on all addresses is a candidate at the container's address",
     [](Facts& r, Settings&) { r.servers = {server(7, 8888, "0.0.0.0")}; },
     std::nullopt,
     App::lab,
     8888,
     "172.17.0.2",
     {7},
     {"172.17.0.2"}},
    {"a server on loopback in a bridge container is skipped with a warning",
     [](Facts& r, Settings&) { r.servers = {server(7, 8888, "127.0.0.1")}; },
     std::nullopt,
     App::lab,
     8888,
     "172.17.0.2",
     {},
     {},
     1},
    {"a server on a UNIX socket is skipped with a warning",
     [](Facts& r, Settings&) {
       auto s = server(7, 0, "");
       s.sock = "/tmp/jupyter.sock";
       r.servers = {s};
     },
     std::nullopt,
     App::lab,
     8888,
     "172.17.0.2",
     {},
     {},
     1},
    {"a server without a token is skipped with a warning",
     [](Facts& r, Settings&) { r.servers = {server(7, 8888, "0.0.0.0", "")}; },
     std::nullopt,
     App::lab,
     8888,
     "172.17.0.2",
     {},
     {},
     1},
    {"servers are candidates in order; the unusable ones warn",
     [](Facts& r, Settings&) {
       r.servers = {server(7, 8888, "172.17.0.2"), server(8, 8889, "localhost"),
                    server(9, 8890, "cont1"), server(10, 8891, "5d19e0c4a1b2")};
       r.busy_ports = {8888, 8889, 8890, 8891};
     },
     std::nullopt,
     App::lab,
     8892,
     "172.17.0.2",
     {7, 9, 10},
     {"172.17.0.2", "172.17.0.2", "172.17.0.2"},
     1},
    {"a loopback server in a host-network container is reached at 127.0.0.1",
     [](Facts& r, Settings&) {
       r.container->network_mode = "host";
       r.container->networks.clear();
       r.servers = {server(7, 8888, "localhost")};
     },
     std::nullopt,
     App::lab,
     8888,
     "127.0.0.1",
     {7},
     {"127.0.0.1"}},
    {"a server on another host name is skipped",
     [](Facts& r, Settings&) { r.servers = {server(7, 8888, "otherbox")}; },
     std::nullopt,
     App::lab,
     8888,
     "172.17.0.2",
     {},
     {},
     1},
    {"candidates come before an app refusal (a running server is still reused)",
     [](Facts& r, Settings&) {
       r.apps.clear();
       r.servers = {server(7, 8888, "0.0.0.0")};
     },
     Problem::jupyter_missing,
     App::lab,
     8888,
     "172.17.0.2",
     {7}},
    {"bad runtime files are warned about",
     [](Facts& r, Settings&) { r.bad_runtime_files = {"/x/jpserver-1.json: not JSON"}; },
     std::nullopt,
     App::lab,
     8888,
     "172.17.0.2",
     {},
     {},
     1},
};

INSTANTIATE_TEST_SUITE_P(Branches, PlanStart, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return "case" + std::to_string(param.index);
                         });

TEST(PlanStart, SpecCarriesTheSettings) {
  Facts r = facts();
  r.uid = 0;
  Settings s;
  s.dir = "/workspace";
  s.timeout_s = 90;
  s.extra_args = {"--ServerApp.terminals_enabled=False"};
  auto plan = jl::plan::plan_start(r, s, where(), nullptr);
  const auto& spec = std::get<StartSpec>(plan.otherwise);
  EXPECT_EQ(spec.dir, "/workspace");
  EXPECT_EQ(spec.timeout_s, 90);
  EXPECT_TRUE(spec.allow_root);
  EXPECT_EQ(spec.extra_args, s.extra_args);
  r.uid = 1000;
  EXPECT_FALSE(
      std::get<StartSpec>(jl::plan::plan_start(r, s, where(), nullptr).otherwise).allow_root);
}

TEST(PlanStart, AnIdleTimeoutBecomesJupytersOwnCulling) {
  Settings s;
  s.extra_args = {"--MappingKernelManager.cull_interval=5"};
  s.idle_timeout_s = 3600;
  auto plan = jl::plan::plan_start(facts(), s, where(), nullptr);
  const auto& spec = std::get<StartSpec>(plan.otherwise);
  EXPECT_EQ(spec.idle_timeout_s, 3600);
  // The user's own options come last, so that they win.
  EXPECT_EQ(spec.extra_args,
            (std::vector<std::string>{"--MappingKernelManager.cull_idle_timeout=3600",
                                      "--MappingKernelManager.cull_interval=300",
                                      "--MappingKernelManager.cull_connected=True",
                                      "--ServerApp.shutdown_no_activity_timeout=3600",
                                      "--MappingKernelManager.cull_interval=5"}));
  EXPECT_EQ(jl::plan::idle_arguments(App::notebook, 60),
            (std::vector<std::string>{"--MappingKernelManager.cull_idle_timeout=60",
                                      "--MappingKernelManager.cull_interval=15",
                                      "--MappingKernelManager.cull_connected=True",
                                      "--ServerApp.shutdown_no_activity_timeout=60",
                                      "--NotebookApp.shutdown_no_activity_timeout=60"}));
  EXPECT_EQ(jl::plan::idle_arguments(App::server, 20)[1],
            "--MappingKernelManager.cull_interval=10");
  // Without one, nothing is added.
  auto none = jl::plan::plan_start(facts(), Settings{}, where(), nullptr);
  EXPECT_TRUE(std::get<StartSpec>(none.otherwise).extra_args.empty());
  EXPECT_EQ(std::get<StartSpec>(none.otherwise).idle_timeout_s, 0);

  // The record keeps it, for status.
  jl::probe::StartResult result;
  result.pid = 42;
  result.log = "/root/.local/state/jl/jupyter-8888.log";
  result.runtime = RuntimeInfo{};
  auto record = jl::plan::started_record({"h", std::nullopt, "cont1", {}, {}}, spec, result,
                                         facts(), nullptr, "tok", "2.0", "now");
  EXPECT_EQ(record.idle_timeout_s, 3600);
}

TEST(PlanStart, ReusingAServerSaysWhenItsIdleTimeoutDiffers) {
  Facts r = facts();
  RuntimeInfo server;
  server.pid = 77;
  server.port = 8888;
  server.hostname = "0.0.0.0";
  server.token = "t";
  r.servers = {server};
  SessionRecord known;
  known.container_id = kId;
  known.pid = 77;
  known.port = 8888;
  known.started_by_jl = true;
  known.idle_timeout_s = 3600;
  Settings s;
  s.idle_timeout_s = 3600;
  auto same = jl::plan::plan_start(r, s, where(), &known);
  ASSERT_EQ(same.reuse.size(), 1U);
  EXPECT_EQ(same.reuse[0].idle_differs, "");
  s.idle_timeout_s = 60;
  auto other = jl::plan::plan_start(r, s, where(), &known);
  EXPECT_NE(other.reuse[0].idle_differs.find("with --idle-timeout 1h"), std::string::npos)
      << other.reuse[0].idle_differs;
  EXPECT_NE(other.reuse[0].idle_differs.find("jl stop cont1"), std::string::npos);
  known.idle_timeout_s = 0;
  EXPECT_NE(jl::plan::plan_start(r, s, where(), &known)
                .reuse[0]
                .idle_differs.find("without an idle timeout"),
            std::string::npos);
  EXPECT_NE(
      jl::plan::plan_start(r, s, where(), nullptr).reuse[0].idle_differs.find("by someone else"),
      std::string::npos);
  // Asking for none says nothing of the server's own.
  EXPECT_EQ(jl::plan::plan_start(r, Settings{}, where(), nullptr).reuse[0].idle_differs, "");
}

TEST(PlanStart, WarnsWhenTheContainerWasRecreated) {
  SessionRecord known;
  known.container_id = kOldId;
  auto plan = jl::plan::plan_start(facts(), {}, where(), &known);
  ASSERT_EQ(plan.warnings.size(), 1U);
  EXPECT_NE(plan.warnings[0].find("cont1"), std::string::npos) << plan.warnings[0];
  known.container_id = kId;
  EXPECT_TRUE(jl::plan::plan_start(facts(), {}, where(), &known).warnings.empty());
  known.container_id.clear();  // recorded before ids were kept
  EXPECT_TRUE(jl::plan::plan_start(facts(), {}, where(), &known).warnings.empty());
}

TEST(PlanStart, RefusalWordsNameTheContainer) {
  Facts r = facts();
  r.apps = {App::notebook};
  Settings s;
  s.app = App::lab;
  auto plan = jl::plan::plan_start(r, s, where(), nullptr);
  auto e = std::get<Refusal>(plan.otherwise).error();
  EXPECT_EQ(e.code(), Exit::remote);
  EXPECT_STREQ(e.what(), "jupyter-lab is not installed in container 'cont1'; it has: notebook");
  EXPECT_EQ(e.hint(), "use --app notebook (or --app auto)");
}

TEST(ProbeProblem, EachFactHasItsProblem) {
  struct P {
    std::function<void(Facts&)> setup;
    std::optional<Problem> problem;
  };
  const std::vector<P> cases = {
      {[](Facts&) {}, std::nullopt},
      {[](Facts& r) { r.docker = jl::probe::Docker::missing; }, Problem::docker_missing},
      {[](Facts& r) { r.docker = jl::probe::Docker::permission_denied; },
       Problem::docker_permission_denied},
      {[](Facts& r) { r.docker = jl::probe::Docker::daemon_down; }, Problem::docker_daemon_down},
      {[](Facts& r) { r.docker = jl::probe::Docker::error; }, Problem::docker_failed},
      {[](Facts& r) {
         r.container.reset();
         r.no_such_container = true;
       },
       Problem::no_such_container},
      {[](Facts& r) { r.container.reset(); }, Problem::container_uninspectable},
      {[](Facts& r) { r.container->running = false; }, Problem::container_not_running},
      {[](Facts& r) {
         r.exec_ok = false;
         r.exec_error = "Error response from daemon: container 5d19 is not running";
       },
       Problem::container_stopped_midway},
      {[](Facts& r) {
         r.exec_ok = false;
         r.exec_error = "exec: \"sh\": executable file not found in $PATH";
       },
       Problem::no_shell},
      {[](Facts& r) {
         r.exec_ok = false;
         r.exec_error = "OCI runtime exec failed";
       },
       Problem::exec_failed},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Facts r = facts();
    cases[i].setup(r);
    Subject s = where();
    EXPECT_EQ(jl::plan::probe_problem(r, s, ""), cases[i].problem) << "case " << i;
  }
}

TEST(ProbeProblem, FillsTheSubject) {
  Facts r = facts();
  r.container.reset();
  r.no_such_container = true;
  r.running_containers = {"a", "b"};
  Subject s = where();
  ASSERT_EQ(jl::plan::probe_problem(r, s, ""), Problem::no_such_container);
  auto w = jl::describe(Problem::no_such_container, s);
  EXPECT_EQ(w.message, "no container named 'cont1' on gpubox; running containers: a, b");
  r = facts();
  r.container->running = false;
  r.container->status = "exited";
  s = where();
  s.docker = {"sudo", "-n", "docker"};
  ASSERT_EQ(jl::plan::probe_problem(r, s, ""), Problem::container_not_running);
  w = jl::describe(Problem::container_not_running, s);
  EXPECT_EQ(w.message, "container 'cont1' on gpubox is not running (status: exited)");
  EXPECT_EQ(w.hint,
            "start it on the host: sudo -n docker start cont1 (or have jl start it: jl up cont1 "
            "--start-container)");
}

TEST(ProblemWords, EveryProblemHasAMessage) {
  for (int p = 0; p <= static_cast<int>(Problem::start_failed); ++p) {
    auto w = jl::describe(static_cast<Problem>(p), where());
    EXPECT_FALSE(w.message.empty()) << p;
    EXPECT_EQ(w.message.find('\n'), std::string::npos) << p;
    EXPECT_NE(w.exit, Exit::ok) << p;
  }
}

TEST(ProblemWords, DockerHintsFollowTheConfiguredCommand) {
  Subject s = where();
  EXPECT_EQ(jl::describe(Problem::docker_missing, s).hint,
            "install Docker on the host, or add its directory to PATH for non-interactive SSH "
            "sessions");
  s.docker = {"podman"};
  auto w = jl::describe(Problem::docker_missing, s);
  EXPECT_EQ(w.message, "podman is not installed on gpubox (not on the PATH of the SSH user)");
  EXPECT_EQ(w.hint, "check the docker command (podman): jl config show");
  s.user = "alice";
  EXPECT_EQ(jl::describe(Problem::docker_permission_denied, s).hint,
            "add alice to the docker group on the host (sudo usermod -aG docker alice), then log "
            "in again");
  s.user.clear();
  EXPECT_EQ(jl::describe(Problem::docker_permission_denied, s).hint,
            "add the SSH user to the docker group on the host (sudo usermod -aG docker USER), "
            "then log in again");
}

TEST(ProblemWords, ClassifiesDockersWords) {
  EXPECT_EQ(jl::classify_container_error("Error: No such container: cont9"),
            Problem::no_such_container);
  EXPECT_EQ(jl::classify_container_error("Error: No such object: cont9"),
            Problem::no_such_container);
  EXPECT_EQ(jl::classify_container_error("Error response from daemon: container x is not running"),
            Problem::container_not_running);
  EXPECT_EQ(jl::classify_container_error("Cannot connect to the Docker daemon"),
            Problem::docker_failed);
}

TEST(Records, ReusedKeepsWhatJlKnewOfTheSameServer) {
  Facts r = facts();
  Candidate c{server(7, 8888, "0.0.0.0"), "172.17.0.2", {}};
  c.server.version = "2.14.0";
  jl::plan::Origin origin{"gpubox", std::string("/cfg"), "cont1", {}, {}};
  SessionRecord known;
  known.pid = 7;
  known.port = 8888;
  known.container_id = kId;
  known.started_at = "2026-01-01T00:00:00Z";
  known.log = "/tmp/jl-log";
  known.started_by_jl = true;
  known.local_port = 9999;
  known.app = "notebook";
  auto rec = jl::plan::reused_record(origin, c, r, &known, "", "NOW");
  EXPECT_EQ(rec.started_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ(rec.log, "/tmp/jl-log");
  EXPECT_TRUE(rec.started_by_jl);
  EXPECT_EQ(rec.local_port, 9999);
  EXPECT_EQ(rec.app, "notebook");
  EXPECT_EQ(rec.server_version, "2.14.0");
  EXPECT_EQ(rec.address, "172.17.0.2");
  EXPECT_EQ(rec.ssh_config, std::optional<std::string>("/cfg"));
  EXPECT_EQ(rec.token, "tok");

  known.pid = 8;  // another server: start afresh
  rec = jl::plan::reused_record(origin, c, r, &known, "", "NOW");
  EXPECT_EQ(rec.started_at, "NOW");
  EXPECT_FALSE(rec.started_by_jl);
  EXPECT_TRUE(rec.log.empty());
  EXPECT_EQ(rec.app, "lab");  // the best front end jupyter_server serves here

  known.pid = 7;
  known.container_id = kOldId;  // same pid in another container: not the same server
  rec = jl::plan::reused_record(origin, c, r, &known, "", "NOW");
  EXPECT_EQ(rec.started_at, "NOW");
  EXPECT_EQ(rec.container_id, kId);

  c.server.version.clear();
  c.server.legacy = true;
  rec = jl::plan::reused_record(origin, c, r, nullptr, "6.5.4", "NOW");
  EXPECT_EQ(rec.app, "notebook");
  EXPECT_EQ(rec.server_version, "6.5.4");
  EXPECT_TRUE(rec.legacy);
}

TEST(Records, StartedKeepsTheLocalPort) {
  Facts r = facts();
  StartSpec spec;
  spec.container = "cont1";
  spec.app = App::lab;
  spec.ip = "172.17.0.2";
  spec.port = 8890;
  jl::probe::StartResult result;
  result.outcome = jl::probe::StartResult::Outcome::ready;
  result.pid = 42;
  result.log = "/tmp/jl-1000/log";
  result.runtime = server(42, 8890, "172.17.0.2", "");
  result.runtime->base_url = "/jl/";
  SessionRecord known;
  known.local_port = 9001;
  jl::plan::Origin origin{"gpubox", std::nullopt, "cont1", {}, {}};
  auto rec = jl::plan::started_record(origin, spec, result, r, &known, "TOKEN", "2.14.0", "NOW");
  EXPECT_EQ(rec.local_port, 9001);
  EXPECT_EQ(rec.token, "TOKEN");
  EXPECT_EQ(rec.port, 8890);
  EXPECT_EQ(rec.base_url, "/jl/");
  EXPECT_EQ(rec.server_version, "2.14.0");
  EXPECT_EQ(rec.pid, 42);
  EXPECT_EQ(rec.log, "/tmp/jl-1000/log");
  EXPECT_TRUE(rec.started_by_jl);
  EXPECT_EQ(rec.container_id, kId);
  EXPECT_EQ(jl::plan::started_record(origin, spec, result, r, nullptr, "T", "", "NOW").local_port,
            0);
}

TEST(StartError, EachOutcomeHasItsError) {
  using O = jl::probe::StartResult::Outcome;
  StartSpec spec;
  spec.container = "cont1";
  spec.dir = "/nope";
  spec.timeout_s = 60;
  struct E {
    O outcome;
    std::string detail;
    std::optional<int> exec_rc;
    long long pid;
    Exit exit;
    std::string message_part;
  };
  const std::vector<E> cases = {
      {O::died, "Traceback", std::nullopt, 5, Exit::remote, "failed to start"},
      {O::slow, "waiting", std::nullopt, 5, Exit::timeout, "did not start within 60 s"},
      {O::failed, "", 137, 5, Exit::remote, "docker exec exit 137"},
      {O::failed, "dir /nope", std::nullopt, 0, Exit::remote, "directory '/nope' does not exist"},
      {O::failed, "docker-missing docker", std::nullopt, 0, Exit::remote, "is not installed on"},
      {O::failed, "plan", std::nullopt, 0, Exit::remote, "cannot start Jupyter in container"},
      {O::failed, "", std::nullopt, 0, Exit::remote, "no report from the container"},
  };
  for (const auto& c : cases) {
    jl::probe::StartResult r;
    r.outcome = c.outcome;
    r.detail = c.detail;
    r.exec_rc = c.exec_rc;
    r.pid = c.pid;
    auto e = jl::plan::start_error(r, spec, where());
    EXPECT_EQ(e.code(), c.exit) << c.message_part;
    EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
  }
}

TEST(ReachableAddress, UnixSocketAndPortZeroAreUnreachable) {
  auto c = bridge_container();
  auto s = server(7, 0, "0.0.0.0");
  EXPECT_EQ(jl::plan::reachable_address(s, c, "172.17.0.2"), std::nullopt);
  s = server(7, 8888, "::");
  EXPECT_EQ(jl::plan::reachable_address(s, c, "172.17.0.2"),
            std::optional<std::string>("172.17.0.2"));
  s = server(7, 8888, "::1");
  EXPECT_EQ(jl::plan::reachable_address(s, c, "172.17.0.2"), std::nullopt);
}

TEST(LocalPortOrder, AskedForIsTheOnlyChoice) {
  EXPECT_EQ(jl::plan::local_port_order(9999, 8890, 8888), (std::vector<int>{9999}));
}

TEST(LocalPortOrder, PreviousThenRemoteThenAny) {
  auto order = jl::plan::local_port_order(std::nullopt, 8890, 8888);
  ASSERT_EQ(order.size(), 201U);  // previous, 8888..9087 without 8890, then 0
  EXPECT_EQ(order[0], 8890);
  EXPECT_EQ(order[1], 8888);
  EXPECT_EQ(order[2], 8889);
  EXPECT_EQ(order[3], 8891);
  EXPECT_EQ(order[order.size() - 2], 9087);
  EXPECT_EQ(order.back(), 0);
  order = jl::plan::local_port_order(std::nullopt, 0, 0);
  EXPECT_EQ(order.front(), 8888);
  EXPECT_EQ(order.size(), 201U);
  order = jl::plan::local_port_order(std::nullopt, 0, 65500);
  EXPECT_EQ(order.front(), 65500);
  EXPECT_EQ(order[order.size() - 2], 65535);  // never past the last port
  EXPECT_EQ(order.size(), 37U);
}

}  // namespace
