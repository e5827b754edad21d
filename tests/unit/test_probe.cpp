#include "jl/core/probe.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using jl::probe::ContainerInfo;
using jl::probe::Docker;
using jl::probe::parse_inspect;
using jl::probe::parse_probe;
using jl::probe::parse_start;
using jl::probe::parse_stop;
using jl::probe::Section;
using jl::probe::split_sections;
using jl::probe::StartResult;

constexpr const char* kNonce = "a1b2c3d4e5f6";

// A marker line as the scripts print it.
std::string mark(const std::string& kind, const std::string& args = {}) {
  std::string line = std::string("@@") + kNonce + " " + kind;
  if (!args.empty()) {
    line += " " + args;
  }
  return line + "\n";
}

// What `docker inspect` printed for a jupyter/base-notebook container on Docker 20.10 (ids
// shortened where they do not matter).
constexpr const char* kInspect = R"({
  "Id": "5d1918fcea8c0e6a2b6a4f9a4d4e1f9b0b8c2f3e4d5c6b7a8f9e0d1c2b3a4f5e",
  "Created": "2024-05-01T12:00:00.123456789Z",
  "Path": "tini",
  "Args": ["-g", "--", "start-notebook.sh"],
  "State": {
    "Status": "running",
    "Running": true,
    "Paused": false,
    "Restarting": false,
    "OOMKilled": false,
    "Dead": false,
    "Pid": 12345,
    "ExitCode": 0,
    "Error": "",
    "StartedAt": "2024-05-01T12:00:01.5Z",
    "FinishedAt": "0001-01-01T00:00:00Z"
  },
  "Image": "sha256:3c1a8e5f",
  "ResolvConfPath": "/var/lib/docker/containers/5d1918fcea8c/resolv.conf",
  "HostnamePath": "/var/lib/docker/containers/5d1918fcea8c/hostname",
  "LogPath": "/var/lib/docker/containers/5d1918fcea8c/5d1918fcea8c-json.log",
  "Name": "/torch-dev",
  "RestartCount": 0,
  "Driver": "overlay2",
  "Platform": "linux",
  "MountLabel": "",
  "ProcessLabel": "",
  "AppArmorProfile": "docker-default",
  "ExecIDs": null,
  "HostConfig": {
    "Binds": ["/home/ann/work:/home/jovyan/work"],
    "ContainerIDFile": "",
    "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default",
    "PortBindings": {},
    "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": false,
    "Privileged": false,
    "ShmSize": 67108864
  },
  "Mounts": [
    {"Type": "bind", "Source": "/home/ann/work", "Destination": "/home/jovyan/work",
     "Mode": "", "RW": true, "Propagation": "rprivate"}
  ],
  "Config": {
    "Hostname": "5d1918fcea8c",
    "Domainname": "",
    "User": "1000",
    "AttachStdin": false,
    "ExposedPorts": {"8888/tcp": {}},
    "Tty": false,
    "Env": ["PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NB_USER=jovyan", "NB_UID=1000", "HOME=/home/jovyan"],
    "Cmd": ["start-notebook.sh"],
    "Image": "jupyter/base-notebook:2023-05-01",
    "Volumes": null,
    "WorkingDir": "/home/jovyan",
    "Entrypoint": ["tini", "-g", "--"],
    "OnBuild": null,
    "Labels": {"maintainer": "Jupyter Project <jupyter@googlegroups.com>"}
  },
  "NetworkSettings": {
    "Bridge": "",
    "SandboxID": "8b0b2a4b",
    "HairpinMode": false,
    "Ports": {"8888/tcp": null},
    "SandboxKey": "/var/run/docker/netns/8b0b2a4b",
    "EndpointID": "1d4f",
    "Gateway": "172.17.0.1",
    "GlobalIPv6Address": "",
    "IPAddress": "172.17.0.2",
    "IPPrefixLen": 16,
    "MacAddress": "02:42:ac:11:00:02",
    "Networks": {
      "bridge": {
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": "a9e5",
        "EndpointID": "1d4f",
        "Gateway": "172.17.0.1",
        "IPAddress": "172.17.0.2",
        "IPPrefixLen": 16,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "02:42:ac:11:00:02",
        "DriverOpts": null
      }
    }
  }
})";

// kInspect with changes, on one line as `docker inspect --format '{{json .}}'` prints it.
std::string inspect_json(const nlohmann::json& patch = nlohmann::json::object()) {
  auto j = nlohmann::json::parse(kInspect);
  j.merge_patch(patch);
  return j.dump();
}

constexpr const char* kRuntime14 =
    R"({"base_url": "/", "hostname": "0.0.0.0", "password": false, "pid": 14, "port": 8888, )"
    R"("root_dir": "/", "secure": false, "sock": "", "token": "abc123", )"
    R"("url": "http://5d1918fcea8c:8888/", "version": "1.23.3"})";

// ---------------------------------------------------------------------------------------------
// split_sections

TEST(SplitSections, JunkMarkersArgsAndBodies) {
  const std::string out =
      "Welcome to Ubuntu 22.04\n"
      "motd line\n" +
      mark("runtime", "/home/a b/rt/jpserver-14.json") +
      "{\"pid\": 14}\n"
      "@@ffffffffffff end\n"
      "@@a1b2c3d4e5f6\n"
      "x @@a1b2c3d4e5f6 end\n" +
      mark("tcp") + mark("end");
  auto s = split_sections(out, kNonce);
  ASSERT_EQ(s.size(), 4U);
  EXPECT_EQ(s[0].kind, "");
  EXPECT_EQ(s[0].body, "Welcome to Ubuntu 22.04\nmotd line\n");
  EXPECT_EQ(s[1].kind, "runtime");
  EXPECT_EQ(s[1].rest, "/home/a b/rt/jpserver-14.json");
  EXPECT_EQ(s[1].args, (std::vector<std::string>{"/home/a", "b/rt/jpserver-14.json"}));
  // Another nonce's marker, a bare "@@NONCE" and a marker not at the line start are body.
  EXPECT_EQ(s[1].body, "{\"pid\": 14}\n@@ffffffffffff end\n@@a1b2c3d4e5f6\nx @@a1b2c3d4e5f6 end\n");
  EXPECT_EQ(s[2].kind, "tcp");
  EXPECT_TRUE(s[2].args.empty());
  EXPECT_EQ(s[2].rest, "");
  EXPECT_EQ(s[2].body, "");
  EXPECT_EQ(s[3].kind, "end");
}

TEST(SplitSections, NoJunkMeansNoEmptyFirstSection) {
  auto s = split_sections(mark("id", "1000 jovyan") + mark("end"), kNonce);
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0].kind, "id");
  EXPECT_EQ(s[0].args, (std::vector<std::string>{"1000", "jovyan"}));
  EXPECT_EQ(s[1].kind, "end");
}

TEST(SplitSections, EdgeCases) {
  EXPECT_TRUE(split_sections("", kNonce).empty());
  auto only_text = split_sections("a\nb", kNonce);
  ASSERT_EQ(only_text.size(), 1U);
  EXPECT_EQ(only_text[0].kind, "");
  EXPECT_EQ(only_text[0].body, "a\nb\n");
  // A nonce that is a prefix of another does not match it.
  auto prefix = split_sections("@@a1b2c3d4e5f6ff end\n", kNonce);
  ASSERT_EQ(prefix.size(), 1U);
  EXPECT_EQ(prefix[0].kind, "");
  // The last body line may lack its newline; empty body lines are kept.
  auto tail = split_sections(mark("died") + "one\n\nlast", kNonce);
  ASSERT_EQ(tail.size(), 1U);
  EXPECT_EQ(tail[0].body, "one\n\nlast\n");
  // Runs of spaces in args are not empty words, but rest keeps them.
  auto spaced = split_sections(mark("home", "/home/x  y "), kNonce);
  ASSERT_EQ(spaced.size(), 1U);
  EXPECT_EQ(spaced[0].rest, "/home/x  y ");
  EXPECT_EQ(spaced[0].args, (std::vector<std::string>{"/home/x", "y"}));
}

// ---------------------------------------------------------------------------------------------
// docker inspect

TEST(ParseInspect, Docker2010Object) {
  auto info = parse_inspect(kInspect);
  EXPECT_EQ(info.name, "torch-dev");
  EXPECT_EQ(info.id, "5d1918fcea8c0e6a2b6a4f9a4d4e1f9b0b8c2f3e4d5c6b7a8f9e0d1c2b3a4f5e");
  EXPECT_EQ(info.status, "running");
  EXPECT_TRUE(info.running);
  EXPECT_EQ(info.user, "1000");
  EXPECT_EQ(info.network_mode, "default");
  ASSERT_EQ(info.networks.size(), 1U);
  EXPECT_EQ(info.networks[0], (std::pair<std::string, std::string>{"bridge", "172.17.0.2"}));
  EXPECT_EQ(jl::probe::server_address(info), "172.17.0.2");
}

TEST(ParseInspect, ArrayOfOneAsPrintedWithoutFormat) {
  auto info = parse_inspect("[" + inspect_json() + "]");
  EXPECT_EQ(info.name, "torch-dev");
}

TEST(ParseInspect, ExitedContainer) {
  auto info = parse_inspect(
      inspect_json({{"State", {{"Status", "exited"}, {"Running", false}, {"ExitCode", 137}}},
                    {"NetworkSettings", {{"Networks", {{"bridge", {{"IPAddress", ""}}}}}}}}));
  EXPECT_EQ(info.status, "exited");
  EXPECT_FALSE(info.running);
  EXPECT_TRUE(info.networks.empty());
  EXPECT_EQ(jl::probe::server_address(info), std::nullopt);
}

TEST(ParseInspect, MissingOrOddlyTypedPartsAreEmpty) {
  auto info = parse_inspect(R"({"Id": "abc", "State": {"Running": "true"}, "Config": null,
                                "HostConfig": [], "NetworkSettings": {"Networks": 5}})");
  EXPECT_EQ(info.id, "abc");
  EXPECT_EQ(info.name, "");
  EXPECT_FALSE(info.running);
  EXPECT_EQ(info.user, "");
  EXPECT_EQ(info.network_mode, "");
  EXPECT_TRUE(info.networks.empty());
}

TEST(ParseInspect, NotAContainerObjectThrows) {
  for (const char* bad : {"", "[]", "{}", "null", "[{\"Id\": \"a\"}, {\"Id\": \"b\"}]",
                          "Error: No such object: x", "{\"Name\": 5, \"Id\": []}", "\"Id\""}) {
    EXPECT_THROW(parse_inspect(bad), std::runtime_error) << bad;
  }
}

TEST(ServerAddress, ByNetworkMode) {
  struct Case {
    std::string mode;
    std::vector<std::pair<std::string, std::string>> networks;
    std::optional<std::string> address;
  };
  const std::vector<Case> cases = {
      {"default", {{"bridge", "172.17.0.2"}}, "172.17.0.2"},
      {"bridge", {{"bridge", "172.17.0.3"}}, "172.17.0.3"},
      {"host", {}, "127.0.0.1"},
      {"host", {{"host", ""}}, "127.0.0.1"},
      {"none", {}, std::nullopt},
      {"labnet", {{"labnet", "172.20.0.3"}}, "172.20.0.3"},
      // The network it was started on wins over others it was connected to later.
      {"labnet", {{"bridge", "172.17.0.5"}, {"labnet", "172.20.0.3"}}, "172.20.0.3"},
      {"default", {{"a-net", "10.1.0.2"}, {"bridge", "172.17.0.9"}}, "172.17.0.9"},
      // Otherwise any network with an address.
      {"container:5d1918fcea8c", {}, std::nullopt},
      {"gone-net", {{"other", "10.9.0.2"}}, "10.9.0.2"},
  };
  for (const auto& c : cases) {
    ContainerInfo info;
    info.network_mode = c.mode;
    info.networks = c.networks;
    EXPECT_EQ(jl::probe::server_address(info), c.address) << c.mode;
  }
}

TEST(ServerAddress, FromInspectOfHostAndCustomNetworks) {
  auto host = parse_inspect(inspect_json(
      {{"HostConfig", {{"NetworkMode", "host"}}},
       {"NetworkSettings",
        {{"IPAddress", ""}, {"Networks", {{"bridge", nullptr}, {"host", {{"IPAddress", ""}}}}}}}}));
  EXPECT_EQ(jl::probe::server_address(host), "127.0.0.1");

  auto none = parse_inspect(inspect_json(
      {{"HostConfig", {{"NetworkMode", "none"}}},
       {"NetworkSettings", {{"Networks", {{"bridge", nullptr}, {"none", {{"IPAddress", ""}}}}}}}}));
  EXPECT_EQ(jl::probe::server_address(none), std::nullopt);

  auto custom = parse_inspect(inspect_json(
      {{"HostConfig", {{"NetworkMode", "labnet"}}},
       {"NetworkSettings",
        {{"Networks", {{"bridge", nullptr}, {"labnet", {{"IPAddress", "172.20.0.3"}}}}}}}}));
  EXPECT_EQ(custom.network_mode, "labnet");
  EXPECT_EQ(jl::probe::server_address(custom), "172.20.0.3");
}

// ---------------------------------------------------------------------------------------------
// parse_probe

TEST(ParseProbe, DockerMissing) {
  auto r = parse_probe(mark("docker-missing"), kNonce);
  EXPECT_EQ(r.docker, Docker::missing);
  EXPECT_FALSE(r.container.has_value());
}

TEST(ParseProbe, PermissionDenied) {
  const std::string msg =
      "Got permission denied while trying to connect to the Docker daemon socket at "
      "unix:///var/run/docker.sock: Get "
      "\"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/containers/torch-dev/json\": dial unix "
      "/var/run/docker.sock: connect: permission denied";
  auto r = parse_probe(mark("inspect", "1") + msg + "\n" + mark("ps") + msg + "\n", kNonce);
  EXPECT_EQ(r.docker, Docker::permission_denied);
  EXPECT_NE(r.docker_message.find("permission denied while trying to connect"), std::string::npos)
      << r.docker_message;
  EXPECT_FALSE(r.no_such_container);
  EXPECT_FALSE(r.container.has_value());
}

TEST(ParseProbe, DaemonDown) {
  for (const char* msg :
       {"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker "
        "daemon running?",
        "error during connect: Get \"http://10.0.0.9:2375/v1.24/containers/x/json\": dial tcp "
        "10.0.0.9:2375: connect: connection refused"}) {
    auto r = parse_probe(mark("inspect", "1") + msg + "\n" + mark("ps") + msg + "\n", kNonce);
    EXPECT_EQ(r.docker, Docker::daemon_down) << msg;
    EXPECT_EQ(r.docker_message, msg);
  }
}

TEST(ParseProbe, OtherDockerErrorKeepsTheLastLines) {
  auto r = parse_probe(mark("inspect", "125") + "line 1\nline 2\nline 3\nError: template: bad\n",
                       kNonce);
  EXPECT_EQ(r.docker, Docker::error);
  EXPECT_EQ(r.docker_message, "line 2\nline 3\nError: template: bad");
}

TEST(ParseProbe, NoSuchContainerListsRunningOnes) {
  for (const char* msg : {"Error: No such container: torch", "Error: No such object: torch"}) {
    auto r = parse_probe(
        mark("inspect", "1") + msg + "\n" + mark("ps") + "web\n  db  \n\njupyter-1\n", kNonce);
    EXPECT_EQ(r.docker, Docker::ok) << msg;
    EXPECT_TRUE(r.no_such_container) << msg;
    EXPECT_EQ(r.running_containers, (std::vector<std::string>{"web", "db", "jupyter-1"}));
    EXPECT_FALSE(r.container.has_value());
  }
  auto none =
      parse_probe(mark("inspect", "1") + "Error: No such container: x\n" + mark("ps"), kNonce);
  EXPECT_TRUE(none.no_such_container);
  EXPECT_TRUE(none.running_containers.empty());
}

TEST(ParseProbe, ContainerNotRunning) {
  auto json = inspect_json({{"State", {{"Status", "exited"}, {"Running", false}}}});
  auto r = parse_probe(mark("inspect", "0") + "false " + json + "\n", kNonce);
  EXPECT_EQ(r.docker, Docker::ok);
  ASSERT_TRUE(r.container.has_value());
  EXPECT_FALSE(r.container->running);
  EXPECT_EQ(r.container->status, "exited");
  EXPECT_FALSE(r.exec_ok);
  EXPECT_TRUE(r.servers.empty());
}

TEST(ParseProbe, InspectOutputThatIsNotAnObject) {
  auto no_space = parse_probe(mark("inspect", "0") + "true\n", kNonce);
  EXPECT_EQ(no_space.docker, Docker::error);
  EXPECT_FALSE(no_space.container.has_value());
  auto bad_json = parse_probe(mark("inspect", "0") + "true {not json\n", kNonce);
  EXPECT_EQ(bad_json.docker, Docker::error);
  EXPECT_FALSE(bad_json.docker_message.empty());
  EXPECT_FALSE(bad_json.container.has_value());
}

TEST(ParseProbe, ExecFailure) {
  const std::string msg =
      "OCI runtime exec failed: exec failed: unable to start container process: exec: \"sh\": "
      "executable file not found in $PATH: unknown";
  auto r = parse_probe(mark("inspect", "0") + "true " + inspect_json() + "\n" + mark("exec") + msg +
                           "\n" + mark("exec-rc", "126"),
                       kNonce);
  ASSERT_TRUE(r.container.has_value());
  EXPECT_FALSE(r.exec_ok);
  EXPECT_EQ(r.exec_error, msg);
}

std::string full_probe_output(const std::string& runtime_sections) {
  const std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        "
      "0 2471590 1 0000000000000000 100 0 0 10 0\n"
      "   1: 020011AC:1F91 010011AC:D3F4 01 00000000:00000000 02:000A7D1B 00000000  1000        "
      "0 2471612 2 0000000000000000 20 4 30 10 -1\n"
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000000000000:22B9 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000  1000        0 2471600 1 0000000000000000 100 0 0 "
      "10 0\n";
  return "Welcome!\n" + mark("inspect", "0") + "true " + inspect_json() + "\n" + mark("exec") +
         mark("id", "1000 jovyan") + mark("home", "/home/jovyan") +
         mark("app", "jupyter-lab /opt/conda/bin/jupyter-lab") +
         mark("app", "jupyter-server /opt/conda/bin/jupyter-server") +
         mark("runtime-dir", "/home/jovyan/.local/share/jupyter/runtime") + runtime_sections +
         mark("tcp") + tcp + mark("end") + mark("exec-rc", "0");
}

TEST(ParseProbe, FullSuccessfulProbe) {
  const std::string rt = "/home/jovyan/.local/share/jupyter/runtime";
  auto r = parse_probe(
      full_probe_output(mark("runtime", rt + "/jpserver-14.json") + kRuntime14 + "\n"), kNonce);
  EXPECT_EQ(r.docker, Docker::ok);
  ASSERT_TRUE(r.container.has_value());
  EXPECT_TRUE(r.container->running);
  EXPECT_EQ(r.container->name, "torch-dev");
  EXPECT_TRUE(r.exec_ok);
  EXPECT_EQ(r.exec_error, "");
  EXPECT_EQ(r.uid, 1000);
  EXPECT_EQ(r.user, "jovyan");
  EXPECT_EQ(r.home, "/home/jovyan");
  EXPECT_EQ(r.apps, (std::set<jl::jupyter::App>{jl::jupyter::App::lab, jl::jupyter::App::server}));
  EXPECT_EQ(r.runtime_dir, rt);
  ASSERT_EQ(r.servers.size(), 1U);
  EXPECT_EQ(r.servers[0].pid, 14);
  EXPECT_EQ(r.servers[0].port, 8888);
  EXPECT_EQ(r.servers[0].token, "abc123");
  EXPECT_EQ(r.servers[0].file, rt + "/jpserver-14.json");
  EXPECT_TRUE(r.bad_runtime_files.empty());
  EXPECT_EQ(r.busy_ports, (std::set<int>{8888, 8889}));
  EXPECT_FALSE(r.no_such_container);
}

TEST(ParseProbe, BrokenRuntimeFileIsReportedNotFatal) {
  const std::string rt = "/home/jovyan/.local/share/jupyter/runtime";
  auto r = parse_probe(
      full_probe_output(mark("runtime", rt + "/jpserver-20.json") + "{\"pid\": 20, \"port\": 88\n" +
                        mark("runtime", rt + "/jpserver-14.json") + kRuntime14 + "\n" +
                        mark("runtime", rt + "/nbserver-31.json") + "{\"pid\": 31}\n"),
      kNonce);
  EXPECT_TRUE(r.exec_ok);
  ASSERT_EQ(r.servers.size(), 1U);
  EXPECT_EQ(r.servers[0].pid, 14);
  ASSERT_EQ(r.bad_runtime_files.size(), 2U);
  EXPECT_TRUE(r.bad_runtime_files[0].starts_with(rt + "/jpserver-20.json: "))
      << r.bad_runtime_files[0];
  EXPECT_TRUE(r.bad_runtime_files[1].starts_with(rt + "/nbserver-31.json: "))
      << r.bad_runtime_files[1];
}

TEST(ParseProbe, UserWithoutNameAndHomeWithSpaces) {
  auto r = parse_probe(mark("inspect", "0") + "true " + inspect_json() + "\n" + mark("exec") +
                           mark("id", "4242 ") + mark("home", "/home/my user") +
                           mark("runtime-dir", "/home/my user/rt dir") + mark("end") +
                           mark("exec-rc", "0"),
                       kNonce);
  EXPECT_EQ(r.uid, 4242);
  EXPECT_EQ(r.user, "");
  EXPECT_EQ(r.home, "/home/my user");
  EXPECT_EQ(r.runtime_dir, "/home/my user/rt dir");
  EXPECT_TRUE(r.apps.empty());
}

// ---------------------------------------------------------------------------------------------
// parse_start

TEST(ParseStart, Ready) {
  const std::string log = "/home/jovyan/.local/state/jl/jupyter-8888.log";
  auto r = parse_start(
      mark("started", "14 " + log) +
          mark("new-runtime", "/home/jovyan/.local/share/jupyter/runtime/jpserver-14.json") +
          kRuntime14 + "\n" + mark("end"),
      kNonce);
  EXPECT_EQ(r.outcome, StartResult::Outcome::ready);
  EXPECT_EQ(r.pid, 14);
  EXPECT_EQ(r.log, log);
  ASSERT_TRUE(r.runtime.has_value());
  EXPECT_EQ(r.runtime->token, "abc123");
  EXPECT_EQ(r.runtime->port, 8888);
}

TEST(ParseStart, WhatTheServerAnsweredFromInsideTheContainer) {
  const std::string ready = mark("started", "14 /l.log") +
                            mark("new-runtime", "/rt/jpserver-14.json") + kRuntime14 + "\n";
  auto ok = parse_start(ready + mark("answer", "200 6.4.12") + mark("end"), kNonce);
  EXPECT_EQ(ok.outcome, StartResult::Outcome::ready);
  EXPECT_EQ(ok.answered, 200);
  EXPECT_EQ(ok.answered_version, "6.4.12");
  auto refused = parse_start(ready + mark("answer", "403 -") + mark("end"), kNonce);
  EXPECT_EQ(refused.answered, 403);
  EXPECT_EQ(refused.answered_version, "");
  auto none = parse_start(ready + mark("answer", "0 -") + mark("end"), kNonce);
  EXPECT_EQ(none.answered, 0);
  // No Python in the container: no answer line, and jl asks through the host.
  EXPECT_FALSE(parse_start(ready + mark("end"), kNonce).answered);
  EXPECT_FALSE(parse_start(ready + mark("answer", "lots -") + mark("end"), kNonce).answered);
}

TEST(ParseStart, ServersFoundByTheProbeAreNotTheNewOne) {
  // In one conversation the probe's runtime sections come first; only new-runtime counts.
  auto r = parse_start(mark("runtime", "/rt/jpserver-14.json") + kRuntime14 + "\n" + mark("plan?") +
                           mark("started", "99 /l.log") + mark("died") + "boom\n" + mark("end"),
                       kNonce);
  EXPECT_EQ(r.outcome, StartResult::Outcome::died);
  EXPECT_EQ(r.pid, 99);
  EXPECT_FALSE(r.runtime.has_value());
}

TEST(ParseStart, LogPathWithSpaces) {
  auto r = parse_start(
      mark("started", "99 /home/my user/.local/state/jl/jupyter-9000.log") + mark("slow"), kNonce);
  EXPECT_EQ(r.pid, 99);
  EXPECT_EQ(r.log, "/home/my user/.local/state/jl/jupyter-9000.log");
}

TEST(ParseStart, DiedWithLogTail) {
  const std::string tail =
      "[I 2024-05-01 12:00:00.000 ServerApp] jupyter_server | extension was successfully linked.\n"
      "Traceback (most recent call last):\n"
      "  File \"/opt/conda/bin/jupyter-lab\", line 10, in <module>\n"
      "OSError: [Errno 98] Address already in use\n";
  auto r = parse_start(
      mark("started", "51 /tmp/jl-1000/jupyter-8888.log") + mark("died") + tail + mark("end"),
      kNonce);
  EXPECT_EQ(r.outcome, StartResult::Outcome::died);
  EXPECT_EQ(r.pid, 51);
  EXPECT_EQ(r.log, "/tmp/jl-1000/jupyter-8888.log");
  EXPECT_FALSE(r.runtime.has_value());
  EXPECT_TRUE(r.detail.ends_with("OSError: [Errno 98] Address already in use")) << r.detail;
  EXPECT_NE(r.detail.find("Traceback"), std::string::npos);
}

TEST(ParseStart, Slow) {
  auto r = parse_start(
      mark("started", "60 /l.log") + mark("slow") + "[I ServerApp] still loading\n" + mark("end"),
      kNonce);
  EXPECT_EQ(r.outcome, StartResult::Outcome::slow);
  EXPECT_EQ(r.detail, "[I ServerApp] still loading");
}

TEST(ParseStart, Failures) {
  struct Case {
    std::string output;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {mark("fail", "dir /no/such dir"), "dir /no/such dir"},
      {mark("fail", "docker-missing"), "docker-missing"},
      {mark("fail", "no-token"), "no-token"},
      {mark("fail", "log-dir /tmp/jl-1000"), "log-dir /tmp/jl-1000"},
      // docker's own complaint before any marker
      {"Error response from daemon: Container 5d19 is not running\n",
       "Error response from daemon: Container 5d19 is not running"},
      {"", "no output from the start script"},
  };
  for (const auto& c : cases) {
    auto r = parse_start(c.output, kNonce);
    EXPECT_EQ(r.outcome, StartResult::Outcome::failed) << c.output;
    EXPECT_EQ(r.detail, c.detail) << c.output;
    EXPECT_FALSE(r.runtime.has_value());
  }
}

TEST(ParseStart, UnreadableRuntimeFileFails) {
  auto r = parse_start(mark("started", "14 /l.log") + mark("new-runtime", "/rt/jpserver-14.json") +
                           "{\"pid\": 14,\n" + mark("end"),
                       kNonce);
  EXPECT_EQ(r.outcome, StartResult::Outcome::failed);
  EXPECT_NE(r.detail.find("/rt/jpserver-14.json"), std::string::npos) << r.detail;
  EXPECT_FALSE(r.runtime.has_value());
}

// ---------------------------------------------------------------------------------------------
// parse_stop

TEST(ParseStop, Table) {
  struct Case {
    std::string output;
    bool gone;
    jl::probe::StopHow how;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {mark("gone", "already"), true, jl::probe::StopHow::already, ""},
      {mark("gone", "shutdown"), true, jl::probe::StopHow::shutdown, ""},
      {mark("gone", "term"), true, jl::probe::StopHow::term, ""},
      {mark("gone", "kill"), true, jl::probe::StopHow::kill, ""},
      {mark("alive"), false, jl::probe::StopHow::alive, ""},
      {"Error response from daemon: No such container: torch\n", false, jl::probe::StopHow::unknown,
       "Error response from daemon: No such container: torch"},
      {"Error response from daemon: Container 5d19 is not running\n", false,
       jl::probe::StopHow::unknown, "Error response from daemon: Container 5d19 is not running"},
      {"", false, jl::probe::StopHow::unknown, ""},
      {"@@ffffffffffff gone term\n", false, jl::probe::StopHow::unknown,
       "@@ffffffffffff gone term"},
  };
  for (const auto& c : cases) {
    auto r = parse_stop(c.output, kNonce);
    EXPECT_EQ(r.gone, c.gone) << c.output;
    EXPECT_EQ(r.how, c.how) << c.output;
    EXPECT_EQ(r.detail, c.detail) << c.output;
  }
}

// ---------------------------------------------------------------------------------------------
// Container identity

constexpr const char* kOldId = "5d19e0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";
constexpr const char* kNewId = "9f00aa11bb22cc33dd44ee55ff66007788990011aabbccddeeff001122334455";

TEST(ContainerId, CommandQuotesTheNameAndAsksForTheIdOnly) {
  EXPECT_EQ(jl::probe::container_id_command("cont 1"),
            "docker inspect --type container --format '{{.Id}}' 'cont 1' 2>&1");
  EXPECT_EQ(jl::probe::container_id_command("c", {"sudo", "-n", "docker"}),
            "sudo -n docker inspect --type container --format '{{.Id}}' c 2>&1");
}

TEST(ContainerId, ParseTable) {
  using jl::probe::Identity;
  struct Case {
    int status;
    std::string output;
    std::string recorded;
    Identity identity;
    std::string now;
  };
  const std::vector<Case> cases = {
      {0, std::string(kOldId) + "\n", kOldId, Identity::same, kOldId},
      {0, std::string(kNewId) + "\n", kOldId, Identity::recreated, kNewId},
      {0, std::string(kNewId) + "\n", "", Identity::unknown, kNewId},
      {1, "Error: No such container: cont1\n", kOldId, Identity::removed, ""},
      {1, "Error response from daemon: No such object: cont1\n", kOldId, Identity::removed, ""},
      {1, "permission denied while trying to connect to the Docker daemon socket\n", kOldId,
       Identity::unknown, ""},
      {127, "sh: docker: not found\n", kOldId, Identity::unknown, ""},
      {0, "template: :1: function \"Id\" not defined\n", kOldId, Identity::unknown, ""},
      {0, "", kOldId, Identity::unknown, ""},
  };
  for (const auto& c : cases) {
    std::string now;
    EXPECT_EQ(jl::probe::parse_container_id(c.status, c.output, c.recorded, &now), c.identity)
        << c.output;
    EXPECT_EQ(now, c.now) << c.output;
  }
}

TEST(ContainerId, Validity) {
  EXPECT_TRUE(jl::probe::valid_container_id(kOldId));
  EXPECT_TRUE(jl::probe::valid_container_id("5d19e0c1a2b3"));
  EXPECT_FALSE(jl::probe::valid_container_id("5d19e0c1a2b"));
  EXPECT_FALSE(jl::probe::valid_container_id(std::string(kOldId) + "0"));
  EXPECT_FALSE(jl::probe::valid_container_id("5D19E0C1A2B3"));
  EXPECT_FALSE(jl::probe::valid_container_id("5d19e0c1a2b3 "));
  EXPECT_EQ(jl::probe::short_id(kOldId), "5d19e0c1a2b3");
}

TEST(ContainerId, WordsSayWhatHappenedAndWhatToDo) {
  using jl::probe::Identity;
  auto re = jl::probe::identity_words(Identity::recreated, "cont1", "gpu", kOldId, kNewId);
  EXPECT_EQ(re.message,
            "container 'cont1' on gpu was re-created since jl started Jupyter in it (it was "
            "5d19e0c1a2b3, it is now 9f00aa11bb22): that server is gone with the old container");
  EXPECT_EQ(re.hint, "start Jupyter in the new container with: jl -H gpu up cont1");
  auto gone = jl::probe::identity_words(Identity::removed, "cont1", "gpu", kOldId, "");
  EXPECT_EQ(gone.message,
            "container 'cont1' on gpu no longer exists (jl started Jupyter in 5d19e0c1a2b3): that "
            "server is gone with it");
  EXPECT_EQ(gone.hint, "forget the session with: jl -H gpu stop cont1");
  EXPECT_TRUE(jl::probe::identity_words(Identity::same, "c", "h", kOldId, kOldId).message.empty());
  EXPECT_TRUE(jl::probe::identity_words(Identity::unknown, "c", "h", kOldId, "").message.empty());
}

}  // namespace

namespace {

TEST(StartProgress, TheLatestReportAndTheVerdict) {
  const std::string n = "abc123";
  std::string out = "@@abc123 id 0 root\n@@abc123 end\n@@abc123 plan?\n@@abc123 started 42 /l\n";
  int count = -1;
  EXPECT_FALSE(jl::probe::last_progress(out, n, &count).has_value());
  EXPECT_EQ(count, 0);
  // The probe's own "end" comes before the plan: it is not the start's verdict.
  EXPECT_FALSE(jl::probe::start_finished(out, n));
  out += "@@abc123 waiting 1 [I 12:00 ServerApp] loading\n";
  out += "@@abc123 waiting 2 [I 12:01 ServerApp] jltb_slow: warming up, this takes 20 s\n";
  out += "@@other waiting 9 not ours\n";
  auto p = jl::probe::last_progress(out, n, &count);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(count, 2);
  EXPECT_EQ(p->seconds, 2);
  EXPECT_EQ(p->last_log, "[I 12:01 ServerApp] jltb_slow: warming up, this takes 20 s");
  EXPECT_FALSE(jl::probe::start_finished(out, n));
  EXPECT_TRUE(jl::probe::start_finished(out + "@@abc123 slow\nlog\n@@abc123 end\n", n));
  EXPECT_TRUE(jl::probe::start_finished(out + "@@abc123 fail dir /x\n", n));
  // A report without a log line yet.
  p = jl::probe::last_progress("@@abc123 waiting 3 \n", n);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->seconds, 3);
  EXPECT_EQ(p->last_log, "");
  // Progress lines do not disturb the verdict.
  auto r = jl::probe::parse_start(out +
                                      "@@abc123 runtime-moved //.local/share/jupyter/runtime "
                                      "/tmp/jl-4242/runtime\n@@abc123 died\nboom\n@@abc123 end\n",
                                  n);
  EXPECT_EQ(r.outcome, jl::probe::StartResult::Outcome::died);
  EXPECT_EQ(r.detail, "boom");
  EXPECT_EQ(r.runtime_unwritable, "//.local/share/jupyter/runtime");
  EXPECT_EQ(r.runtime_moved_to, "/tmp/jl-4242/runtime");
}

}  // namespace
