// The scripts built by probe_command, probe_and_start_command and stop_command, run for real by
// /bin/sh on this machine. A stand-in `docker` on the PATH records its arguments and runs `docker
// exec CONTAINER CMD...` as plain `CMD...`, so the inner scripts run here exactly as they would
// inside a container; a stand-in `jupyter-lab` writes a runtime file and sleeps.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "jl/core/probe.hpp"
#include "support.hpp"

namespace {

using jl::probe::Docker;
using jl::probe::StartResult;
using jl_test::cmdline_of;
using jl_test::exists;
using jl_test::inspect_line;
using jl_test::kFakeDocker;
using jl_test::read_file;
using jl_test::run_sh;
using jl_test::split_nul;
using jl_test::write_file;

// Writes a runtime file like jupyter_server's (no trailing newline) and stays alive with
// "jupyter" in its command line, or dies, or never gets ready.
constexpr const char* kFakeJupyter = R"SH(#!/bin/bash
d=$FAKE_DOCKER_DIR
printf '%s\0' "$@" >"$d/jupyter-args"
pwd >"$d/jupyter-pwd"
port=0 ip=
for a; do
  case $a in
    --port=*) port=${a#--port=};;
    --ip=*) ip=${a#--ip=};;
  esac
done
case ${FAKE_JUPYTER_MODE:-ready} in
  ready)
    echo "[I ServerApp] Jupyter Server 2.14.0 is running"
    f=$JUPYTER_RUNTIME_DIR/jpserver-$$.json
    printf '{"base_url": "/", "hostname": "%s", "password": false, "pid": %d, "port": %d, "secure": false, "sock": "", "token": "%s", "version": "2.14.0"}' \
      "$ip" "$$" "$port" "$JUPYTER_TOKEN" >"$f.part"
    mv "$f.part" "$f"
    exec -a jupyter-lab-fake sleep 30;;
  died)
    echo "[I ServerApp] starting"
    echo "OSError: [Errno 98] Address already in use" >&2
    exit 1;;
  slow)
    exec -a jupyter-lab-fake sleep 30;;
esac
)SH";

// Kills a detached test process at the end of a test if it is still there.
struct KillAtEnd {
  pid_t pid = 0;
  ~KillAtEnd() {
    if (pid > 1 && cmdline_of(pid).find("jupyter-lab-fake") != std::string::npos) {
      ::kill(pid, SIGKILL);
    }
  }
};

// A child process of this test, reaped at the end.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    m_pid = ::fork();
    if (m_pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv) {
        args.push_back(a.data());
      }
      args.push_back(nullptr);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (m_pid > 0 && !m_reaped) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return m_pid; }
  // Wait until its command line contains `text` (it has exec'd).
  bool wait_cmdline(const std::string& text) const {
    for (int i = 0; i < 200; ++i) {
      if (cmdline_of(m_pid).find(text) != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  int wait() {
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_reaped = true;
    return status;
  }

 private:
  pid_t m_pid = -1;
  bool m_reaped = false;
};

pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::_exit(0);
  }
  ::waitpid(pid, nullptr, 0);
  return pid;
}

// Each test runs under dash and under busybox sh: `sh` on the scripts' PATH is the one.
class Scripts : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    for (const auto& d : {bin, docker_dir, home, runtime, state, work, nodocker}) {
      ASSERT_EQ(::mkdir(d.c_str(), 0700), 0) << d;
    }
    write_file(bin + "/docker", kFakeDocker, 0755);
    write_file(bin + "/jupyter-lab", kFakeJupyter, 0755);
    write_file(bin + "/jupyter-server", kFakeJupyter, 0755);
    ASSERT_EQ(::symlink(GetParam(), (bin + "/sh").c_str()), 0);
    // The scripts' `sh` is that shell.
    auto which = run_sh("sh -c 'readlink /proc/$$/exe; :'", {}, env());
    ASSERT_EQ(which.out, std::filesystem::canonical(GetParam()).string() + "\n");
    ASSERT_EQ(::symlink("/bin/sh", (nodocker + "/sh").c_str()), 0);
  }

  std::map<std::string, std::string> env() const {
    return {
        {"PATH", bin + ":/usr/bin:/bin"}, {"HOME", home},
        {"JUPYTER_RUNTIME_DIR", runtime}, {"XDG_STATE_HOME", state},
        {"FAKE_DOCKER_DIR", docker_dir},
    };
  }

  std::vector<std::string> docker_args(const std::string& command) const {
    return split_nul(read_file(docker_dir + "/args-" + command));
  }

  jl::probe::Facts probe(const std::string& container, std::map<std::string, std::string> e,
                         const std::vector<std::string>& docker = jl::probe::kDefaultDocker) {
    auto r = run_sh(jl::probe::probe_command(nonce, container, docker), {}, e);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 0) << r.out;
    last_output = r.out;
    return jl::probe::parse_probe(r.out, nonce);
  }

  // Probe, then answer with a start plan whose token line is `input` (so that tests can also
  // send no token at all).
  StartResult start(const jl::probe::StartSpec& spec, const std::string& input,
                    std::map<std::string, std::string> e) {
    if (!exists(docker_dir + "/inspect")) {
      write_file(docker_dir + "/inspect", inspect_line(true));
    }
    std::string plan = jl::probe::start_plan(spec, "TOKEN");
    plan.resize(plan.size() - std::string("TOKEN\n").size());
    auto r = run_sh(jl::probe::probe_and_start_command(nonce, spec.container), plan + input, e);
    EXPECT_FALSE(r.timed_out);
    last_output = r.out;
    return jl::probe::parse_start(r.out, nonce);
  }

  jl::probe::StopResult stop(long long pid, const std::string& runtime_file, bool graceful) {
    auto r = run_sh(jl::probe::stop_command(nonce, "box", pid, runtime_file, graceful), {}, env());
    EXPECT_FALSE(r.timed_out);
    last_output = r.out;
    return jl::probe::parse_stop(r.out, nonce);
  }

  jl_test::TempDir tmp;
  std::string bin = tmp / "bin";
  std::string nodocker = tmp / "nodocker";
  std::string docker_dir = tmp / "docker";
  std::string home = tmp / "home dir";
  std::string runtime = tmp / "rt dir 'q'";
  std::string state = tmp / "state";
  std::string work = tmp / "work $dir";
  std::string nonce = std::string("5b9e2c7a1f3d");
  std::string last_output;
};

// ---------------------------------------------------------------------------------------------
// probe_command

TEST_P(Scripts, ProbeOfARunningContainer) {
  write_file(docker_dir + "/inspect", inspect_line(true));
  const auto me = ::getpid();
  const auto gone = dead_pid();
  // A live server, a broken runtime file of a live process, a stale file and junk.
  write_file(runtime + "/jpserver-" + std::to_string(me) + ".json",
             R"({"pid": )" + std::to_string(me) + R"(, "port": 8888, "token": "abc"})");
  write_file(runtime + "/nbserver-" + std::to_string(me) + ".json", "{\"pid\": ");
  write_file(runtime + "/jpserver-" + std::to_string(gone) + ".json",
             R"({"pid": )" + std::to_string(gone) + R"(, "port": 8899})");
  write_file(runtime + "/jpserver-abc.json", R"({"pid": 1, "port": 1})");

  // A port this process listens on shows up as busy.
  int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(sock, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  auto r = probe("box", env());
  ::close(sock);

  EXPECT_EQ(r.docker, Docker::ok);
  ASSERT_TRUE(r.container.has_value()) << last_output;
  EXPECT_TRUE(r.container->running);
  EXPECT_TRUE(r.exec_ok) << last_output;
  EXPECT_EQ(r.uid, static_cast<long long>(::getuid()));
  if (const passwd* pw = ::getpwuid(::getuid())) {
    EXPECT_EQ(r.user, pw->pw_name);
  }
  EXPECT_EQ(r.home, home);
  EXPECT_EQ(r.runtime_dir, runtime);
  EXPECT_EQ(r.apps, (std::set<jl::jupyter::App>{jl::jupyter::App::lab, jl::jupyter::App::server}));
  ASSERT_EQ(r.servers.size(), 1U) << last_output;
  EXPECT_EQ(r.servers[0].pid, me);
  EXPECT_EQ(r.servers[0].file, runtime + "/jpserver-" + std::to_string(me) + ".json");
  ASSERT_EQ(r.bad_runtime_files.size(), 1U) << last_output;
  EXPECT_TRUE(r.bad_runtime_files[0].starts_with(runtime + "/nbserver-")) << r.bad_runtime_files[0];
  EXPECT_TRUE(r.busy_ports.contains(port)) << port;

  // docker saw the container name and the nonce as single words.
  auto inspect = docker_args("inspect");
  ASSERT_FALSE(inspect.empty());
  EXPECT_EQ(inspect.back(), "box");
  auto exec = docker_args("exec");
  ASSERT_GE(exec.size(), 7U);
  EXPECT_EQ(exec[1], "box");
  EXPECT_EQ(exec[2], "sh");
  EXPECT_EQ(exec[3], "-c");
  EXPECT_EQ(exec[5], "jl");
  EXPECT_EQ(exec[6], nonce);
}

TEST_P(Scripts, ProbeOfAMissingContainerListsRunningOnes) {
  write_file(docker_dir + "/ps", "web\ndb\n");
  auto r = probe("no-such-box", env());
  EXPECT_EQ(r.docker, Docker::ok);
  EXPECT_TRUE(r.no_such_container) << last_output;
  EXPECT_EQ(r.running_containers, (std::vector<std::string>{"web", "db"}));
  EXPECT_FALSE(exists(docker_dir + "/args-exec"));
}

TEST_P(Scripts, ProbeOfAStoppedContainerDoesNotExec) {
  write_file(docker_dir + "/inspect", inspect_line(false));
  auto r = probe("box", env());
  ASSERT_TRUE(r.container.has_value()) << last_output;
  EXPECT_FALSE(r.container->running);
  EXPECT_EQ(r.container->status, "exited");
  EXPECT_FALSE(r.exec_ok);
  EXPECT_FALSE(exists(docker_dir + "/args-exec"));
}

TEST_P(Scripts, ProbeWithoutPermissionOnTheDockerSocket) {
  write_file(docker_dir + "/fail",
             "permission denied while trying to connect to the Docker daemon socket at "
             "unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/"
             "containers/box/json\": dial unix /var/run/docker.sock: connect: permission denied\n");
  auto r = probe("box", env());
  EXPECT_EQ(r.docker, Docker::permission_denied) << last_output;
  EXPECT_FALSE(r.container.has_value());
}

TEST_P(Scripts, ProbeWithoutDocker) {
  auto e = env();
  e["PATH"] = nodocker;
  auto r = probe("box", e);
  EXPECT_EQ(r.docker, Docker::missing) << last_output;
}

TEST_P(Scripts, ProbeRunsTheConfiguredDockerCommand) {
  // A wrapper in the spirit of "sudo -n docker": it notes its first argument, then runs the rest.
  write_file(bin + "/wrap",
             "#!/bin/sh\nprintf '%s\\n' \"$1\" >\"$FAKE_DOCKER_DIR/wrapped\"\nshift\nexec \"$@\"\n",
             0755);
  write_file(docker_dir + "/inspect", inspect_line(true));
  auto r = probe("box", env(), {"wrap", "it's a $word", "docker"});
  EXPECT_EQ(r.docker, Docker::ok) << last_output;
  EXPECT_TRUE(r.exec_ok) << last_output;
  EXPECT_EQ(read_file(docker_dir + "/wrapped"), "it's a $word\n");
  EXPECT_EQ(r.home, home);

  // A configured command that is not there is reported as missing, like docker itself.
  auto missing = probe("box", env(), {"podman-not-here"});
  EXPECT_EQ(missing.docker, Docker::missing) << last_output;
  EXPECT_THROW((void)jl::probe::probe_command(nonce, "box", {}), std::invalid_argument);
  EXPECT_THROW((void)jl::probe::stop_command(nonce, "box", 1, "f", false, {""}),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// probe_and_start_command and stop_command

TEST_P(Scripts, StartHandsTheTokenOverOnStdinThenStopTerminates) {
  jl::probe::StartSpec spec;
  spec.container = "box";
  spec.app = jl::jupyter::App::lab;
  spec.ip = "172.17.0.2";
  spec.port = 18888;
  spec.dir = work;
  spec.allow_root = true;
  spec.timeout_s = 20;
  spec.extra_args = {"--ServerApp.root_dir=/a b", "it's", "$(id)", ""};
  const std::string token = std::string("3f9c2a7be0d14c8e9a6f5b2d7c1e0a4f8b3d6e9c2a5f7b1d");

  auto r = start(spec, token + "\n", env());
  KillAtEnd guard{static_cast<pid_t>(r.pid)};
  ASSERT_EQ(r.outcome, StartResult::Outcome::ready) << last_output;
  ASSERT_TRUE(r.runtime.has_value());
  EXPECT_GT(r.pid, 1);
  EXPECT_EQ(r.runtime->pid, r.pid);
  EXPECT_EQ(r.runtime->token, token);
  EXPECT_EQ(r.runtime->port, 18888);
  EXPECT_EQ(r.runtime->hostname, "172.17.0.2");
  EXPECT_EQ(r.runtime->file, runtime + "/jpserver-" + std::to_string(r.pid) + ".json");

  // Jupyter got the documented arguments, in the requested directory (a lab: no NotebookApp
  // option, which jupyter_server's apps warn about).
  std::vector<std::string> expected = spec.extra_args;
  for (const char* a : {"--no-browser", "--ip=172.17.0.2", "--port=18888",
                        "--ServerApp.port_retries=0", "--allow-root"}) {
    expected.emplace_back(a);
  }
  EXPECT_EQ(split_nul(read_file(docker_dir + "/jupyter-args")), expected);
  EXPECT_EQ(read_file(docker_dir + "/jupyter-pwd"), work + "\n");

  // The log is private, and the token is in nobody's argv.
  EXPECT_EQ(r.log, state + "/jl/jupyter-18888.log");
  struct stat st {};
  ASSERT_EQ(::stat(r.log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0U);
  EXPECT_NE(read_file(r.log).find("is running"), std::string::npos);
  const auto cmdline = cmdline_of(static_cast<pid_t>(r.pid));
  EXPECT_NE(cmdline.find("jupyter-lab-fake"), std::string::npos) << cmdline;
  EXPECT_EQ(cmdline.find(token), std::string::npos);
  EXPECT_EQ(read_file(docker_dir + "/jupyter-args").find(token), std::string::npos);
  auto exec = docker_args("exec");
  ASSERT_GE(exec.size(), 3U);
  EXPECT_EQ(exec[1], "-i");
  EXPECT_EQ(exec[2], "box");
  for (const auto& a : exec) {
    EXPECT_EQ(a.find(token), std::string::npos);
  }

  // Stop it: not graceful, so TERM.
  write_file(runtime + "/jpserver-" + std::to_string(r.pid) + "-open.html", "<html/>");
  auto s = stop(r.pid, r.runtime->file, false);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_EQ(s.how, jl::probe::StopHow::term);
  EXPECT_FALSE(jl_test::process_alive(static_cast<pid_t>(r.pid)));
  EXPECT_FALSE(exists(r.runtime->file));
  EXPECT_FALSE(exists(runtime + "/jpserver-" + std::to_string(r.pid) + "-open.html"));
}

TEST_P(Scripts, StartWithAHomeThatCannotBeWrittenUsesADirectoryOfItsOwn) {
  // HOME=/ for a uid without a passwd entry; here a HOME under a read-only directory.
  const std::string ro = tmp / "ro";
  ASSERT_EQ(::mkdir(ro.c_str(), 0500), 0);
  auto e = env();
  e.erase("JUPYTER_RUNTIME_DIR");
  e.erase("XDG_STATE_HOME");
  e["HOME"] = ro + "/home";
  if (::access(ro.c_str(), W_OK) == 0) {
    // root writes anywhere: make the HOME a file instead, so nothing can be created under it.
    write_file(ro + "/home", "");
  }
  jl::probe::StartSpec spec;
  spec.container = "box";
  spec.ip = "172.17.0.2";
  spec.port = 18891;
  spec.timeout_s = 20;
  auto r = start(spec, "tok\n", e);
  KillAtEnd guard{static_cast<pid_t>(r.pid)};
  ASSERT_EQ(r.outcome, StartResult::Outcome::ready) << last_output;
  const std::string own = "/tmp/jl-" + std::to_string(::getuid());
  EXPECT_EQ(r.runtime_unwritable, ro + "/home/.local/share/jupyter/runtime");
  EXPECT_EQ(r.runtime_moved_to, own + "/runtime");
  EXPECT_EQ(r.runtime->file, own + "/runtime/jpserver-" + std::to_string(r.pid) + ".json");
  EXPECT_EQ(r.log, own + "/jupyter-18891.log");
  struct stat st {};
  ASSERT_EQ(::stat(own.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
  EXPECT_EQ(st.st_uid, ::getuid());
  // A later probe finds the server there.
  auto p = probe("box", e);
  bool found = false;
  for (const auto& server : p.servers) {
    found = found || server.pid == r.pid;
  }
  EXPECT_TRUE(found) << last_output;
  auto s = stop(r.pid, r.runtime->file, false);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_FALSE(exists(r.runtime->file));
  ::unlink(r.log.c_str());
  ::chmod(ro.c_str(), 0700);
}

TEST_P(Scripts, StartReportsADeathWithTheLogTail) {
  auto e = env();
  e["FAKE_JUPYTER_MODE"] = "died";
  jl::probe::StartSpec spec;
  spec.container = "box";
  spec.app = jl::jupyter::App::server;
  spec.ip = "0.0.0.0";
  spec.port = 18889;
  auto r = start(spec, "tok\n", e);
  EXPECT_EQ(r.outcome, StartResult::Outcome::died) << last_output;
  EXPECT_GT(r.pid, 1);
  EXPECT_NE(r.detail.find("Address already in use"), std::string::npos) << r.detail;
  EXPECT_FALSE(r.runtime.has_value());
}

TEST_P(Scripts, StartThatTakesTooLongIsSlow) {
  auto e = env();
  e["FAKE_JUPYTER_MODE"] = "slow";
  jl::probe::StartSpec spec;
  spec.container = "box";
  spec.ip = "0.0.0.0";
  spec.port = 18890;
  spec.timeout_s = 1;
  auto r = start(spec, "tok\n", e);
  KillAtEnd guard{static_cast<pid_t>(r.pid)};
  EXPECT_EQ(r.outcome, StartResult::Outcome::slow) << last_output;
  EXPECT_GT(r.pid, 1);
  EXPECT_TRUE(jl_test::process_alive(static_cast<pid_t>(r.pid)));
}

TEST_P(Scripts, StartFailures) {
  jl::probe::StartSpec spec;
  spec.container = "box";
  spec.ip = "0.0.0.0";
  spec.port = 18891;

  auto no_token = start(spec, "", env());
  EXPECT_EQ(no_token.outcome, StartResult::Outcome::failed);
  EXPECT_EQ(no_token.detail, "no-token") << last_output;
  auto empty_token = start(spec, "\n", env());
  EXPECT_EQ(empty_token.detail, "no-token") << last_output;

  spec.dir = tmp / "no such dir";
  auto no_dir = start(spec, "tok\n", env());
  EXPECT_EQ(no_dir.outcome, StartResult::Outcome::failed);
  EXPECT_EQ(no_dir.detail, "dir " + spec.dir) << last_output;

  auto e = env();
  e["PATH"] = nodocker;
  auto no_docker = start(spec, "tok\n", e);
  EXPECT_EQ(no_docker.outcome, StartResult::Outcome::failed);
  // Without docker the conversation ends at the probe, which says so.
  EXPECT_EQ(jl::probe::parse_probe(last_output, nonce).docker, Docker::missing) << last_output;
  EXPECT_FALSE(exists(docker_dir + "/jupyter-args"));
}

TEST_P(Scripts, StopTerminatesAJupyterProcess) {
  Child child({"bash", "-c", "exec -a jupyter-test sleep 30"});
  ASSERT_TRUE(child.wait_cmdline("jupyter-test"));
  const std::string file = runtime + "/jpserver-" + std::to_string(child.pid()) + ".json";
  write_file(file, "{}");
  auto s = stop(child.pid(), file, false);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_EQ(s.how, jl::probe::StopHow::term);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_FALSE(exists(file));
}

TEST_P(Scripts, StopRefusesToKillAProcessThatIsNotJupyter) {
  // The pid was reused by something else: leave it alone, and leave the file too.
  Child child({"sleep", "30"});
  ASSERT_TRUE(child.wait_cmdline("sleep"));
  const std::string file = runtime + "/jpserver-" + std::to_string(child.pid()) + ".json";
  write_file(file, "{}");
  auto s = stop(child.pid(), file, false);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_EQ(s.how, jl::probe::StopHow::already);
  EXPECT_TRUE(jl_test::process_alive(child.pid()));
  EXPECT_TRUE(exists(file));
}

TEST_P(Scripts, StopOfADeadProcessCleansUp) {
  const auto pid = dead_pid();
  const std::string file = runtime + "/jpserver-" + std::to_string(pid) + ".json";
  write_file(file, "{}");
  write_file(runtime + "/jpserver-" + std::to_string(pid) + "-open.html", "x");
  auto s = stop(pid, file, false);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_EQ(s.how, jl::probe::StopHow::already);
  EXPECT_FALSE(exists(file));
  EXPECT_FALSE(exists(runtime + "/jpserver-" + std::to_string(pid) + "-open.html"));
}

TEST_P(Scripts, StopAfterAShutdownRequestWaitsForTheServerToEnd) {
  Child child({"bash", "-c", "exec -a jupyter-test sleep 0.5"});
  ASSERT_TRUE(child.wait_cmdline("jupyter-test"));
  auto s = stop(child.pid(), "", true);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_EQ(s.how, jl::probe::StopHow::shutdown);
  int status = child.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_P(Scripts, StopKillsAServerThatIgnoresTerm) {
  Child child({"bash", "-c", "trap '' TERM; exec -a jupyter-test sleep 30"});
  ASSERT_TRUE(child.wait_cmdline("jupyter-test"));
  auto s = stop(child.pid(), "", false);
  EXPECT_TRUE(s.gone) << last_output;
  EXPECT_EQ(s.how, jl::probe::StopHow::kill);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

TEST_P(Scripts, StopThroughAFailingDocker) {
  write_file(docker_dir + "/fail", "Error response from daemon: No such container: box\n");
  auto s = stop(12345, "", false);
  EXPECT_FALSE(s.gone);
  EXPECT_EQ(s.how, jl::probe::StopHow::unknown);
  EXPECT_EQ(s.detail, "Error response from daemon: No such container: box");
}

INSTANTIATE_TEST_SUITE_P(Shells, Scripts, ::testing::Values("/bin/dash", "/bin/busybox"),
                         [](const ::testing::TestParamInfo<const char*>& shell) {
                           return std::string(shell.param).substr(5);
                         });

}  // namespace
