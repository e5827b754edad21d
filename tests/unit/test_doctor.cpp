// jl doctor's pure parts: the report's text and JSON, the /proc/net/tcp reader, and the remote
// script run for real by /bin/sh with a stand-in `docker` that runs `exec` locally.

#include "jl/core/doctor.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace {

using jl::doctor::Status;
using jl_test::inspect_line;
using jl_test::kFakeDocker;
using jl_test::read_file;
using jl_test::run_sh;
using jl_test::split_nul;
using jl_test::write_file;

TEST(DoctorReport, TextHasOneLinePerCheckAFixLineAndASummary) {
  jl::doctor::Report r;
  r.host = "gpubox";
  r.add("ssh-config", Status::ok, "gpubox -> me@10.0.0.1:22");
  r.add("container", Status::fail, "'c' is not running", "docker start c");
  r.add("gpu", Status::info, "no GPU");
  r.add("browser", Status::warn, "no opener", "use --no-browser");
  r.add("jupyter", Status::skip, "the container cannot be checked");
  r.seconds = 1.25;
  EXPECT_FALSE(r.ok());
  const auto text = jl::doctor::render_text(r, false);
  EXPECT_EQ(text,
            "ok    ssh config      gpubox -> me@10.0.0.1:22\n"
            "FAIL  container       'c' is not running\n"
            "                      fix: docker start c\n"
            "info  gpu             no GPU\n"
            "warn  browser         no opener\n"
            "                      fix: use --no-browser\n"
            "skip  jupyter         the container cannot be checked\n"
            "doctor: 1 failed, 1 warning (1.2 s)\n");
  // -q: only the problems, no summary.
  EXPECT_EQ(jl::doctor::render_text(r, true),
            "FAIL  container       'c' is not running\n"
            "                      fix: docker start c\n"
            "warn  browser         no opener\n"
            "                      fix: use --no-browser\n");
}

TEST(DoctorReport, JsonSchema) {
  jl::doctor::Report r;
  r.host = "h";
  r.container = "c";
  r.add("docker", Status::ok, "Docker 24 answers");
  r.add("gpu", Status::warn, "nvidia-smi fails", "--gpus all");
  r.seconds = 0.5;
  auto j = jl::doctor::to_json(r);
  EXPECT_EQ(j["ok"], true);  // a warning is not a failure
  EXPECT_EQ(j["host"], "h");
  EXPECT_EQ(j["container"], "c");
  EXPECT_DOUBLE_EQ(j["seconds"].get<double>(), 0.5);
  ASSERT_EQ(j["checks"].size(), 2U);
  EXPECT_EQ(j["checks"][0]["name"], "docker");
  EXPECT_EQ(j["checks"][0]["status"], "ok");
  EXPECT_TRUE(j["checks"][0]["fix"].is_null());
  EXPECT_EQ(j["checks"][1]["status"], "warn");
  EXPECT_EQ(j["checks"][1]["fix"], "--gpus all");
  r.add("auth", Status::fail, "denied");
  EXPECT_EQ(jl::doctor::to_json(r)["ok"], false);
  r.container.reset();
  EXPECT_TRUE(jl::doctor::to_json(r)["container"].is_null());
  EXPECT_EQ(jl::doctor::render_summary(jl::doctor::Report{}),
            "doctor: all checks passed (0.0 s)\n");
}

TEST(DoctorProcNet, ListeningInodesOfOnePort) {
  const std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "4242 1 0000000000000000 100 0 0 10 0\n"
      "   1: 0100007F:22B8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 "
      "5151 1 0000000000000000 20 4 30 10 -1\n"
      "   2: 0100007F:22B9 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "6161 1 0000000000000000 100 0 0 10 0\n"
      "   0: 00000000000000000000000000000000:22B8 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 7272 1\n"
      "garbage\n";
  EXPECT_EQ(jl::doctor::listening_inodes(tcp, 8888), (std::set<unsigned long long>{4242, 7272}));
  EXPECT_EQ(jl::doctor::listening_inodes(tcp, 8889), (std::set<unsigned long long>{6161}));
  EXPECT_TRUE(jl::doctor::listening_inodes(tcp, 80).empty());
  EXPECT_TRUE(jl::doctor::listening_inodes("", 8888).empty());
}

class DoctorScript : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& d : {bin, docker_dir, home, runtime, nodocker}) {
      ASSERT_EQ(::mkdir(d.c_str(), 0700), 0) << d;
    }
    write_file(bin + "/docker", kFakeDocker, 0755);
    write_file(docker_dir + "/ps", "box\nweb\n");
    ASSERT_EQ(::symlink("/bin/sh", (nodocker + "/sh").c_str()), 0);
  }

  std::map<std::string, std::string> env() const {
    return {{"PATH", bin + ":/usr/bin:/bin"},
            {"HOME", home},
            {"JUPYTER_RUNTIME_DIR", runtime},
            {"FAKE_DOCKER_DIR", docker_dir}};
  }

  jl::doctor::Remote run(const std::optional<std::string>& container, int port,
                         std::map<std::string, std::string> e,
                         const std::vector<std::string>& docker = jl::probe::kDefaultDocker) {
    auto r = run_sh(jl::doctor::command(nonce, container, port, docker), {}, e);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 0) << r.out;
    last_output = r.out;
    return jl::doctor::parse(r.out, nonce);
  }

  jl_test::TempDir tmp;
  std::string bin = tmp / "bin";
  std::string nodocker = tmp / "nodocker";
  std::string docker_dir = tmp / "docker";
  std::string home = tmp / "home dir";
  std::string runtime = tmp / "rt 'dir'";
  std::string nonce = std::string("5b9e2c7a1f3d");
  std::string last_output;
};

TEST_F(DoctorScript, EverythingFine) {
  write_file(docker_dir + "/inspect", inspect_line(true));
  // An app whose interpreter is not Python answers --version; another prints noise first.
  write_file(bin + "/jupyter-server", "#!/bin/sh\necho 2.14.0\n", 0755);
  write_file(bin + "/jupyter-notebook", "#!/bin/sh\necho 'a warning'\necho 7.2.1\n", 0755);
  write_file(bin + "/nvidia-smi",
             "#!/bin/sh\n[ \"$1\" = -L ] || exit 9\n"
             "echo 'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)'\n"
             "echo 'GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2)'\n",
             0755);
  // A live server, and a runtime file of a dead one.
  const auto me = ::getpid();
  write_file(runtime + "/jpserver-" + std::to_string(me) + ".json",
             R"({"pid": )" + std::to_string(me) + R"(, "port": 8890, "token": "t"})");
  write_file(runtime + "/jpserver-999999999.json", R"({"pid": 999999999, "port": 8891})");

  auto r = run("box", 8888, env());
  EXPECT_TRUE(r.complete) << last_output;
  EXPECT_EQ(r.facts.docker, jl::probe::Docker::ok);
  EXPECT_TRUE(r.docker_listed);
  EXPECT_EQ(r.docker_version, "24.0.7");
  EXPECT_EQ(r.facts.running_containers, (std::vector<std::string>{"box", "web"}));
  ASSERT_TRUE(r.facts.container.has_value()) << last_output;
  EXPECT_TRUE(r.facts.container->running);
  EXPECT_TRUE(r.exec_started) << last_output;
  EXPECT_EQ(r.facts.uid, static_cast<long long>(::getuid()));
  ASSERT_EQ(r.apps.size(), 2U) << last_output;
  EXPECT_EQ(r.apps[0].executable, "jupyter-notebook");
  EXPECT_EQ(r.apps[0].version, "7.2.1");
  EXPECT_EQ(r.apps[0].path, bin + "/jupyter-notebook");
  EXPECT_EQ(r.apps[1].executable, "jupyter-server");
  EXPECT_EQ(r.apps[1].version, "2.14.0");
  ASSERT_EQ(r.facts.servers.size(), 1U) << last_output;
  EXPECT_EQ(r.facts.servers[0].port, 8890);
  EXPECT_TRUE(r.port_checked);
  EXPECT_EQ(r.gpu, jl::doctor::Remote::Gpu::listed);
  ASSERT_EQ(r.gpus.size(), 2U);
  EXPECT_EQ(r.gpus[1], "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2)");
  // docker got the container and the script's arguments as single words.
  auto exec = split_nul(read_file(docker_dir + "/args-exec"));
  ASSERT_GE(exec.size(), 7U);
  EXPECT_EQ(exec[1], "box");
  EXPECT_EQ(exec[2], "sh");
  EXPECT_EQ(exec[5], "jl");
  EXPECT_EQ(exec[6], nonce);
  EXPECT_EQ(exec[7], "8888");
}

TEST_F(DoctorScript, PythonAppsAskTheirInterpreterForTheVersion) {
  // The interpreter named in the shebang gets `-c CODE DIST`; a stand-in records that.
  write_file(bin + "/fakepython", "#!/bin/sh\nshift 2\necho \"v-of-$1\"\n", 0755);
  write_file(bin + "/jupyter-lab", "#!" + bin + "/fakepython\nexit 3\n", 0755);
  write_file(docker_dir + "/inspect", inspect_line(true));
  auto r = run("box", 8888, env());
  ASSERT_EQ(r.apps.size(), 1U) << last_output;
  EXPECT_EQ(r.apps[0].version, "v-of-jupyterlab");
}

TEST_F(DoctorScript, NamesWhoHoldsTheBusyPort) {
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
  write_file(docker_dir + "/inspect", inspect_line(true));

  auto r = run("box", port, env());
  ::close(sock);
  EXPECT_TRUE(r.facts.busy_ports.contains(port));
  ASSERT_FALSE(r.port_holders.empty()) << last_output;
  EXPECT_EQ(r.port_holders.front().pid, ::getpid());
  EXPECT_FALSE(r.port_holders.front().command.empty());
  EXPECT_EQ(r.gpu, jl::doctor::Remote::Gpu::none);  // no nvidia-smi here
  EXPECT_TRUE(r.apps.empty());
}

TEST_F(DoctorScript, FailingNvidiaSmi) {
  write_file(docker_dir + "/inspect", inspect_line(true));
  write_file(bin + "/nvidia-smi",
             "#!/bin/sh\necho 'NVIDIA-SMI has failed because it couldn'\\''t communicate with "
             "the NVIDIA driver.'\nexit 9\n",
             0755);
  auto r = run("box", 8888, env());
  EXPECT_EQ(r.gpu, jl::doctor::Remote::Gpu::failed);
  EXPECT_NE(r.gpu_error.find("NVIDIA driver"), std::string::npos) << r.gpu_error;
}

TEST_F(DoctorScript, StoppedMissingAndNoContainer) {
  write_file(docker_dir + "/inspect", inspect_line(false));
  auto stopped = run("box", 8888, env());
  ASSERT_TRUE(stopped.facts.container.has_value()) << last_output;
  EXPECT_FALSE(stopped.facts.container->running);
  EXPECT_FALSE(stopped.exec_started);
  EXPECT_FALSE(jl_test::exists(docker_dir + "/args-exec"));
  EXPECT_TRUE(stopped.complete);

  ::unlink((docker_dir + "/inspect").c_str());
  auto missing = run("nope", 8888, env());
  EXPECT_TRUE(missing.facts.no_such_container) << last_output;

  ::unlink((docker_dir + "/args-inspect").c_str());
  auto none = run(std::nullopt, 8888, env());
  EXPECT_FALSE(none.inspected);
  EXPECT_FALSE(jl_test::exists(docker_dir + "/args-inspect"));
  EXPECT_EQ(none.facts.running_containers.size(), 2U);
}

TEST_F(DoctorScript, DockerProblems) {
  auto e = env();
  e["PATH"] = nodocker;
  auto missing = run("box", 8888, e);
  EXPECT_EQ(missing.facts.docker, jl::probe::Docker::missing) << last_output;

  write_file(docker_dir + "/fail",
             "permission denied while trying to connect to the Docker daemon socket at "
             "unix:///var/run/docker.sock: connect: permission denied\n");
  auto denied = run("box", 8888, env());
  EXPECT_EQ(denied.facts.docker, jl::probe::Docker::permission_denied) << last_output;
  EXPECT_FALSE(denied.docker_listed);
  EXPECT_FALSE(denied.inspected);

  write_file(docker_dir + "/fail",
             "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker "
             "daemon running?\n");
  EXPECT_EQ(run("box", 8888, env()).facts.docker, jl::probe::Docker::daemon_down);
}

TEST_F(DoctorScript, ConfiguredDockerWordsArePassedAsWords) {
  write_file(bin + "/wrap",
             "#!/bin/sh\nprintf '%s\\n' \"$1\" >\"$FAKE_DOCKER_DIR/wrapped\"\nshift\nexec \"$@\"\n",
             0755);
  write_file(docker_dir + "/inspect", inspect_line(true));
  auto r = run("box", 8888, env(), {"wrap", "it's a $word", "docker"});
  EXPECT_TRUE(r.exec_started) << last_output;
  EXPECT_EQ(read_file(docker_dir + "/wrapped"), "it's a $word\n");
  EXPECT_THROW((void)jl::doctor::command(nonce, "box", 8888, {}), std::invalid_argument);
}

}  // namespace
