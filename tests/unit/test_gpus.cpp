// The host's GPUs: nvidia-smi's CSV lines, the cgroup of a process, the script's report, who
// uses each GPU, the free GPUs --gpus free:N picks, and the script itself run under dash and
// busybox sh with a stand-in nvidia-smi and docker.
//
// The GPU lines are nvidia-smi's own: the values of a capture of eight GeForce GTX TITAN X
// (`--query-gpu=index,uuid,name,temperature.gpu,utilization.gpu,memory.used,memory.total
// --format=csv,noheader,nounits`, posted in wookayin/gpustat issue #5), in the order jl asks
// for them. "[N/A]" and "[Not Supported]" are as nvidia-smi prints them for values a GPU cannot
// give (RTX 3080 memory in plambe/zabbix-nvidia-smi-multi-gpu issue #17; GeForce GTX 650 and
// 770 utilization in Lurkki14/tuxclocker issue #15 and tutulino/Megaminer issue #235; a pid on
// driver 361 in wookayin/gpustat issue #6).

#include "jl/core/gpus.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "jl/core/problem.hpp"
#include "jl/core/text.hpp"
#include "support.hpp"

namespace {

using jl::gpus::ComputeApp;
using jl::gpus::ContainerGpu;
using jl::gpus::Gpu;
using jl::gpus::Holder;
using jl::gpus::Report;
using jl::gpus::Use;

constexpr const char* kUuid0 = "GPU-004f693d-767b-b215-b4a9-a18af0ffd643";
constexpr const char* kUuid1 = "GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7";
constexpr const char* kUuid2 = "GPU-2090c509-a97a-e2fe-68f4-cf9e874c36f2";
constexpr const char* kUuid3 = "GPU-f0e47078-b19f-a3ff-bf2e-03a4c5fe3c2a";
const std::string kId1(64, 'a');
const std::string kId2 = "5d19e0c4a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901234567890abcd";

Gpu gpu(int index, std::string uuid, std::string name, std::optional<long long> used,
        std::optional<long long> total, std::optional<int> util) {
  return Gpu{index, std::move(uuid), std::move(name), used, total, util};
}

struct GpuLine {
  const char* line;
  std::optional<Gpu> want;
};

const GpuLine kGpuLines[] = {
    {"0, GPU-004f693d-767b-b215-b4a9-a18af0ffd643, GeForce GTX TITAN X, 802, 12206, 0",
     gpu(0, kUuid0, "GeForce GTX TITAN X", 802, 12206, 0)},
    {"1, GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, GeForce GTX TITAN X, 10032, 12206, 86",
     gpu(1, kUuid1, "GeForce GTX TITAN X", 10032, 12206, 86)},
    // Values a GPU cannot give.
    {"0, GPU-8fe3a97d-51f6-a669-0d80-b4530b81b816, NVIDIA GeForce RTX 3080, [N/A], [N/A], [N/A]",
     gpu(0, "GPU-8fe3a97d-51f6-a669-0d80-b4530b81b816", "NVIDIA GeForce RTX 3080", std::nullopt,
         std::nullopt, std::nullopt)},
    {"3, GPU-f0e47078-b19f-a3ff-bf2e-03a4c5fe3c2a, GeForce GTX 770, 360, 2004, [Not Supported]",
     gpu(3, kUuid3, "GeForce GTX 770", 360, 2004, std::nullopt)},
    {"2, GPU-2090c509-a97a-e2fe-68f4-cf9e874c36f2, GeForce GTX 650, [Unknown Error], 2004, 5",
     gpu(2, kUuid2, "GeForce GTX 650", std::nullopt, 2004, 5)},
    // A name with a comma in it: the last three cells are the numbers.
    {"1, GPU-x, NVIDIA A100, Rev 2, 3, 81920, 7",
     gpu(1, "GPU-x", "NVIDIA A100, Rev 2", 3, 81920, 7)},
    // Spaces around cells do not matter; a carriage return neither.
    {"  4 ,GPU-y,  Tesla T4 ,0,15360,100\r", gpu(4, "GPU-y", "Tesla T4", 0, 15360, 100)},
    // Not a GPU line.
    {"", std::nullopt},
    {"No devices were found", std::nullopt},
    {"0, GPU-y, Tesla T4, 0, 15360", std::nullopt},                // a cell is missing
    {"x, GPU-y, Tesla T4, 0, 15360, 0", std::nullopt},             // the index is not a number
    {"-1, GPU-y, Tesla T4, 0, 15360, 0", std::nullopt},            // nor negative
    {"0, , Tesla T4, 0, 15360, 0", std::nullopt},                  // no uuid
    {"0, [N/A], Tesla T4, 0, 15360, 0", std::nullopt},             // no uuid
    {"0, GPU-y, Tesla T4, 12 MiB, 15360 MiB, 0 %", std::nullopt},  // units (not nounits)
    {"0, GPU-y, Tesla T4, 0, 15360, 101", std::nullopt},           // no such utilization
    {"0, GPU-y, Tesla T4, -5, 15360, 0", std::nullopt},
    {"Field \"uuid\" is not a valid field to query.", std::nullopt},
};

TEST(GpuLine, ParsesEachLine) {
  for (const auto& c : kGpuLines) {
    EXPECT_EQ(jl::gpus::parse_gpu_line(c.line), c.want) << c.line;
  }
}

struct AppLine {
  const char* line;
  std::optional<ComputeApp> want;
};

const AppLine kAppLines[] = {
    {"GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, 4242, 10000", ComputeApp{kUuid1, 4242, 10000}},
    {"GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, 77, [N/A]", ComputeApp{kUuid1, 77, std::nullopt}},
    {"GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, [Not Supported], [Not Supported]",
     ComputeApp{kUuid1, 0, std::nullopt}},
    {"", std::nullopt},
    {"GPU-x, 4242", std::nullopt},
    {"GPU-x, 4242, 10, python", std::nullopt},
    {"GPU-x, pid, 10", std::nullopt},
    {", 4242, 10", std::nullopt},
    {"GPU-x, 4242, 10 MiB", std::nullopt},
};

TEST(AppLine, ParsesEachLine) {
  for (const auto& c : kAppLines) {
    EXPECT_EQ(jl::gpus::parse_app_line(c.line), c.want) << c.line;
  }
}

struct CgroupCase {
  std::string cgroup;
  std::string want;
};

TEST(Cgroup, NamesTheContainerAProcessRunsIn) {
  const std::vector<CgroupCase> cases = {
      // docker on cgroup v1 (cgroupfs): every hierarchy names the container.
      {"12:pids:/docker/" + kId1 + "\n11:memory:/docker/" + kId1 + "\n1:name=systemd:/docker/" +
           kId1 + "\n0::/\n",
       kId1},
      // cgroup v2, cgroupfs driver.
      {"0::/docker/" + kId2 + "\n", kId2},
      // cgroup v2, systemd driver.
      {"0::/system.slice/docker-" + kId2 + ".scope\n", kId2},
      // podman, CRI-O and containerd under Kubernetes.
      {"0::/machine.slice/libpod-" + kId2 + ".scope/container\n", kId2},
      {"0::/kubepods.slice/kubepods-burstable.slice/crio-" + kId2 + ".scope\n", kId2},
      {"0::/kubepods/besteffort/pod1/cri-containerd-" + kId2 + ".scope\n", kId2},
      // Docker in docker: the innermost.
      {"0::/docker/" + kId1 + "/docker/" + kId2 + "\n", kId2},
      // Processes outside any container.
      {"0::/system.slice/sshd.service\n", ""},
      {"0::/user.slice/user-1000.slice/session-3.scope\n", ""},
      {"0::/\n", ""},
      {"12:pids:/\n4:memory:/process_api/2c511ad0b07c8809e719a905cc669304\n0::/\n", ""},
      {"", ""},
      // Not an id: 63 digits, upper case, a prefix jl does not know.
      {"0::/docker/" + kId1.substr(1) + "\n", ""},
      {"0::/docker/" + std::string(64, 'A') + "\n", ""},
      {"0::/system.slice/lxc-" + kId1 + ".scope\n", ""},
      {"garbage without colons\n", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jl::gpus::container_of_cgroup(c.cgroup), c.want) << c.cgroup;
  }
}

constexpr const char* kNonce = "N0NCE";

std::string marked(const std::string& body) {
  std::string out;
  for (auto line : jl::text::lines(body)) {
    out += line.starts_with("@@ ") ? "@@" + std::string(kNonce) + std::string(line.substr(2))
                                   : std::string(line);
    out += "\n";
  }
  return out;
}

TEST(Report, NoNvidiaSmi) {
  auto r = jl::gpus::parse(marked("@@ no-nvidia-smi\n@@ end\n"), kNonce);
  EXPECT_EQ(r.tool, Report::Tool::missing);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.gpus.empty());
}

TEST(Report, NvidiaSmiWithoutItsDriver) {
  auto r = jl::gpus::parse(
      marked("@@ gpus 9\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA "
             "driver. Make sure that the latest NVIDIA driver is installed and running.\n\n"
             "@@ end\n"),
      kNonce);
  EXPECT_EQ(r.tool, Report::Tool::failed);
  EXPECT_EQ(r.exit_status, 9);
  EXPECT_EQ(r.error,
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make "
            "sure that the latest NVIDIA driver is installed and running.");
}

TEST(Report, ADriverWithoutGpus) {
  auto r = jl::gpus::parse(marked("@@ gpus 6\nNo devices were found\n@@ end\n"), kNonce);
  EXPECT_EQ(r.tool, Report::Tool::ok);
  EXPECT_TRUE(r.gpus.empty());
  EXPECT_TRUE(r.unreadable.empty());
}

TEST(Report, AnUnknownFieldIsAFailure) {
  auto r = jl::gpus::parse(
      marked("@@ gpus 2\nField \"uuid\" is not a valid field to query.\n\n@@ end\n"), kNonce);
  EXPECT_EQ(r.tool, Report::Tool::failed);
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_EQ(r.error, "Field \"uuid\" is not a valid field to query.");
}

const std::string kFourGpus =
    "0, GPU-004f693d-767b-b215-b4a9-a18af0ffd643, GeForce GTX TITAN X, 802, 12206, 0\n"
    "1, GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, GeForce GTX TITAN X, 10032, 12206, 86\n"
    "2, GPU-2090c509-a97a-e2fe-68f4-cf9e874c36f2, GeForce GTX TITAN X, 6442, 12206, 85\n"
    "3, GPU-f0e47078-b19f-a3ff-bf2e-03a4c5fe3c2a, GeForce GTX TITAN X, 802, 12206, 60\n";

// GPU 1: two processes of container one; GPU 2: a host process; 0 and 3 are free.
Report busy_report() {
  return jl::gpus::parse(marked("@@ gpus 0\n" + kFourGpus +
                                "a line nvidia-smi never prints\n"
                                "@@ apps 0\n"
                                "GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, 4242, 6000\n"
                                "GPU-86fe97db-bf54-a056-4e8d-9b07e1a298e7, 4250, 4000\n"
                                "GPU-2090c509-a97a-e2fe-68f4-cf9e874c36f2, 77, 6400\n"
                                "@@ cgroup 4242\n12:pids:/docker/" +
                                kId1 + "\n0::/\n@@ cgroup 4250\n0::/docker/" + kId1 +
                                "\n@@ cgroup 77\n0::/system.slice/trainer.service\n"
                                "@@ containers 0\n" +
                                kId1 + " train\n" + kId2 + " idle\nnot a container line\n@@ end\n"),
                         kNonce);
}

TEST(Report, GpusProcessesCgroupsAndContainers) {
  auto r = busy_report();
  EXPECT_EQ(r.tool, Report::Tool::ok);
  EXPECT_TRUE(r.complete);
  ASSERT_EQ(r.gpus.size(), 4u);
  EXPECT_EQ(r.gpus[2], gpu(2, kUuid2, "GeForce GTX TITAN X", 6442, 12206, 85));
  EXPECT_EQ(r.apps.size(), 3u);
  EXPECT_EQ(r.cgroups.size(), 3u);
  ASSERT_TRUE(r.containers.has_value());
  EXPECT_EQ(r.containers->size(), 2u);
  EXPECT_EQ(r.unreadable, std::vector<std::string>{"a line nvidia-smi never prints"});
}

TEST(Usage, MapsProcessesToContainers) {
  auto uses = jl::gpus::usage(busy_report());
  ASSERT_EQ(uses.size(), 4u);
  EXPECT_TRUE(uses[0].holders.empty());
  EXPECT_EQ(uses[1].holders,
            (std::vector<Holder>{{4242, 6000, kId1, "train"}, {4250, 4000, kId1, "train"}}));
  EXPECT_EQ(uses[2].holders, (std::vector<Holder>{{77, 6400, "", ""}}));
  EXPECT_TRUE(uses[3].holders.empty());
  EXPECT_EQ(jl::gpus::free_count(uses), 2);
  EXPECT_EQ(
      jl::gpus::holders_words(uses),
      (std::vector<std::string>{"GPU 1: train (pid 4242, 6000 MiB), train (pid 4250, 4000 MiB)",
                                "GPU 2: host pid 77 (6400 MiB)"}));
}

TEST(Usage, AContainerDockerDidNotListAndAPidNvidiaSmiCannotName) {
  EXPECT_EQ(jl::gpus::describe(Holder{4242, std::nullopt, kId2, ""}),
            "container 5d19e0c4a1b2 (pid 4242, ? MiB)");
  EXPECT_EQ(jl::gpus::describe(Holder{0, std::nullopt, "", ""}), "host pid ? (? MiB)");
}

std::vector<Use> uses_of(const std::vector<std::pair<std::optional<long long>, bool>>& gpus) {
  std::vector<Use> out;
  int index = 0;
  for (const auto& [used, busy] : gpus) {
    Use u{gpu(index, "GPU-" + std::to_string(index), "T4", used, 15360, 0), {}};
    if (busy) {
      u.holders.push_back(Holder{100 + index, 1, "", ""});
    }
    out.push_back(u);
    ++index;
  }
  return out;
}

TEST(PickFree, LeastMemoryUsedFirstThenTheLowerIndex) {
  // GPU: 0 busy, 1 700 MiB, 2 5 MiB, 3 unknown, 4 5 MiB, 5 busy.
  auto uses =
      uses_of({{1, true}, {700, false}, {5, false}, {std::nullopt, false}, {5, false}, {0, true}});
  EXPECT_EQ(jl::gpus::pick_free(uses, 1), std::vector<int>{2});
  EXPECT_EQ(jl::gpus::pick_free(uses, 2), (std::vector<int>{2, 4}));
  EXPECT_EQ(jl::gpus::pick_free(uses, 3), (std::vector<int>{2, 4, 1}));
  EXPECT_EQ(jl::gpus::pick_free(uses, 4), (std::vector<int>{2, 4, 1, 3}));
  EXPECT_EQ(jl::gpus::pick_free(uses, 5), std::nullopt);
  EXPECT_EQ(jl::gpus::pick_free(uses, 0), std::nullopt);
  EXPECT_EQ(jl::gpus::pick_free({}, 1), std::nullopt);
  EXPECT_EQ(jl::gpus::free_count(uses), 4);
  // From the capture: 0 and 3 are free with 802 MiB each; 1 and 2 are held.
  EXPECT_EQ(jl::gpus::pick_free(jl::gpus::usage(busy_report()), 2), (std::vector<int>{0, 3}));
}

TEST(OfContainer, TheGpusOfOneContainerWithTheirMemory) {
  auto uses = jl::gpus::usage(busy_report());
  EXPECT_EQ(jl::gpus::of_container(uses, kId1, "train"), (std::vector<ContainerGpu>{{1, 10000}}));
  EXPECT_EQ(jl::gpus::of_container(uses, kId1.substr(0, 12), "other-name"),
            (std::vector<ContainerGpu>{{1, 10000}}));
  EXPECT_EQ(jl::gpus::of_container(uses, "", "train"), (std::vector<ContainerGpu>{{1, 10000}}));
  EXPECT_TRUE(jl::gpus::of_container(uses, kId2, "idle").empty());
  EXPECT_TRUE(jl::gpus::of_container(uses, "aaaa", "").empty());  // too short to be an id
  EXPECT_EQ(jl::gpus::words(jl::gpus::of_container(uses, kId1, "train")), "1 (10000 MiB)");
  EXPECT_EQ(jl::gpus::words({}), "-");
  EXPECT_EQ(jl::gpus::words({{0, 5}, {2, std::nullopt}}), "0 (5 MiB), 2 (? MiB)");
  EXPECT_EQ(jl::gpus::to_json(std::vector<ContainerGpu>{{1, 10000}, {2, std::nullopt}}).dump(),
            R"([{"index":1,"used_memory_mib":10000},{"index":2,"used_memory_mib":null}])");
}

TEST(OfContainer, AProcessWithUnknownMemoryMakesTheSumUnknown) {
  Use u{gpu(0, "GPU-0", "T4", 10, 100, 0), {{1, 5, kId1, "a"}, {2, std::nullopt, kId1, "a"}}};
  EXPECT_EQ(jl::gpus::of_container({u}, kId1, "a"), (std::vector<ContainerGpu>{{0, std::nullopt}}));
}

TEST(Table, OneLinePerGpu) {
  auto uses = jl::gpus::usage(busy_report());
  uses[3].gpu.utilization_percent.reset();
  uses[3].gpu.memory_used_mib.reset();
  EXPECT_EQ(jl::gpus::table(uses),
            "GPU  NAME                 MEMORY (MiB)   UTIL  USED BY\n"
            "0    GeForce GTX TITAN X  802 / 12206    0%    -\n"
            "1    GeForce GTX TITAN X  10032 / 12206  86%   train (pid 4242, 6000 MiB), train (pid "
            "4250, 4000 MiB)\n"
            "2    GeForce GTX TITAN X  6442 / 12206   85%   host pid 77 (6400 MiB)\n"
            "3    GeForce GTX TITAN X  ? / 12206      ?     -");
}

TEST(Json, EachGpuWithItsProcesses) {
  auto j = jl::gpus::to_json(jl::gpus::usage(busy_report()));
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(
      j[0].dump(),
      R"({"index":0,"memory_total_mib":12206,"memory_used_mib":802,"name":"GeForce GTX TITAN X","processes":[],"utilization_percent":0,"uuid":"GPU-004f693d-767b-b215-b4a9-a18af0ffd643"})");
  EXPECT_EQ(j[1]["processes"][0].dump(), R"({"container":"train","container_id":")" + kId1 +
                                             R"(","pid":4242,"used_memory_mib":6000})");
  EXPECT_EQ(j[2]["processes"][0].dump(),
            R"({"container":null,"container_id":null,"pid":77,"used_memory_mib":6400})");
}

TEST(Problems, TheirWords) {
  jl::Subject s;
  s.host = "gpubox";
  auto w = jl::describe(jl::Problem::no_gpu_driver, s);
  EXPECT_EQ(w.message, "no NVIDIA driver on gpubox (nvidia-smi is not on the SSH user's PATH)");
  EXPECT_EQ(w.hint, "install the NVIDIA driver on the host (nvidia-smi comes with it)");
  s.app = "free:2";
  EXPECT_EQ(jl::describe(jl::Problem::no_gpu_driver, s).hint,
            "install the NVIDIA driver on the host, or leave out --gpus free:2");
  s.asked = 2;
  s.available = 1;
  s.total = 4;
  s.names = jl::gpus::holders_words(jl::gpus::usage(busy_report()));
  w = jl::describe(jl::Problem::gpus_busy, s);
  EXPECT_EQ(w.message,
            "1 of 4 GPUs on gpubox is free, and --gpus free:2 asks for 2; in use: GPU 1: train "
            "(pid 4242, 6000 MiB), train (pid 4250, 4000 MiB); GPU 2: host pid 77 (6400 MiB)");
  EXPECT_EQ(w.hint,
            "ask for fewer (--gpus free:1), name the devices (--gpus 0,2), or wait; jl gpus shows "
            "who holds them");
  EXPECT_EQ(w.message.find('\n'), std::string::npos);
  s.available = 0;
  EXPECT_EQ(jl::describe(jl::Problem::gpus_busy, s).message.substr(0, 37),
            "0 of 4 GPUs on gpubox are free, and -");
  s.total = 0;
  EXPECT_EQ(jl::describe(jl::Problem::gpus_busy, s).message,
            "gpubox has an NVIDIA driver but no GPU (nvidia-smi: No devices were found), and "
            "--gpus free:2 asks for 2");
  s.detail = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
  s.port = 9;
  EXPECT_EQ(jl::describe(jl::Problem::gpu_query_failed, s).message,
            "nvidia-smi fails on gpubox (exit 9): NVIDIA-SMI has failed because it couldn't "
            "communicate with the NVIDIA driver.");
}

// The script, for real: a stand-in nvidia-smi prints the capture's lines and names this test's
// own process as a compute process (so its real /proc/PID/cgroup is read), and a stand-in
// docker lists containers and records its arguments.
class Script : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(bin.c_str(), 0700), 0);
    ASSERT_EQ(::symlink(GetParam(), (bin + "/sh").c_str()), 0);
  }
  std::map<std::string, std::string> env() const {
    return {{"PATH", bin + ":/usr/bin:/bin"}, {"FAKE_DIR", tmp.path()}};
  }
  void nvidia_smi(const std::string& gpus, const std::string& apps, int rc = 0) {
    jl_test::write_file(tmp.path() + "/gpus", gpus);
    jl_test::write_file(tmp.path() + "/apps", apps);
    jl_test::write_file(bin + "/nvidia-smi",
                        "#!/bin/sh\n"
                        "case $1 in\n"
                        "  --query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu) "
                        "cat \"$FAKE_DIR/gpus\"; exit " +
                            std::to_string(rc) +
                            ";;\n"
                            "  --query-compute-apps=gpu_uuid,pid,used_memory) cat "
                            "\"$FAKE_DIR/apps\";;\n"
                            "  *) echo \"Field \\\"$1\\\" is not a valid field to query.\"; echo; "
                            "exit 2;;\n"
                            "esac\n",
                        0755);
  }
  Report run(const std::vector<std::string>& docker = {"docker"}) {
    auto r = jl_test::run_sh(jl::gpus::command(kNonce, docker), {}, env());
    EXPECT_EQ(r.status, 0) << r.out;
    last = r.out;
    return jl::gpus::parse(r.out, kNonce);
  }
  jl_test::TempDir tmp;
  std::string bin = tmp.path() + "/bin";
  std::string last;
};

TEST_P(Script, WithoutNvidiaSmi) {
  auto r = run();
  EXPECT_EQ(r.tool, Report::Tool::missing) << last;
  EXPECT_TRUE(r.complete);
}

TEST_P(Script, NvidiaSmiFails) {
  nvidia_smi(
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
      "that the latest NVIDIA driver is installed and running.\n\n",
      "", 9);
  auto r = run();
  EXPECT_EQ(r.tool, Report::Tool::failed) << last;
  EXPECT_EQ(r.exit_status, 9);
  EXPECT_TRUE(r.complete);
}

TEST_P(Script, ProcessesWithTheirCgroupsAndTheContainers) {
  const std::string me = std::to_string(::getpid());
  nvidia_smi(kFourGpus, std::string(kUuid1) + ", " + me + ", 6000\n" + kUuid2 +
                            ", [Not Supported], [Not Supported]\n");
  jl_test::write_file(bin + "/docker",
                      "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$FAKE_DIR/docker-args\"\n"
                      "echo '" +
                          kId1 + " train'\n",
                      0755);
  auto r = run();
  EXPECT_EQ(r.tool, Report::Tool::ok) << last;
  EXPECT_EQ(r.gpus.size(), 4u);
  EXPECT_EQ(r.apps.size(), 2u);
  ASSERT_EQ(r.cgroups.count(::getpid()), 1u) << last;
  EXPECT_EQ(r.cgroups.at(::getpid()), jl_test::read_file("/proc/self/cgroup"));
  ASSERT_TRUE(r.containers.has_value()) << last;
  EXPECT_EQ(r.containers->size(), 1u);
  EXPECT_EQ(jl_test::split_nul(jl_test::read_file(tmp.path() + "/docker-args")),
            (std::vector<std::string>{"ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}"}));
  EXPECT_TRUE(r.complete);
}

TEST_P(Script, NoProcessesNoDockerCall) {
  nvidia_smi(kFourGpus, "");
  jl_test::write_file(bin + "/docker", "#!/bin/sh\ntouch \"$FAKE_DIR/docker-called\"\n", 0755);
  auto r = run();
  EXPECT_EQ(r.tool, Report::Tool::ok) << last;
  EXPECT_FALSE(r.containers.has_value());
  EXPECT_FALSE(jl_test::exists(tmp.path() + "/docker-called"));
}

TEST_P(Script, TheDockerCommandsWordsAreKept) {
  const std::string me = std::to_string(::getpid());
  nvidia_smi(kFourGpus, std::string(kUuid1) + ", " + me + ", 6000\n");
  jl_test::write_file(bin + "/sudo", "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$FAKE_DIR/sudo-args\"\n",
                      0755);
  auto r = run({"sudo", "-n", "docker"});
  EXPECT_TRUE(r.containers.has_value()) << last;
  EXPECT_EQ(jl_test::split_nul(jl_test::read_file(tmp.path() + "/sudo-args")),
            (std::vector<std::string>{"-n", "docker", "ps", "--no-trunc", "--format",
                                      "{{.ID}} {{.Names}}"}));
}

INSTANTIATE_TEST_SUITE_P(Shells, Script, ::testing::Values("/bin/dash", "/bin/busybox"),
                         [](const ::testing::TestParamInfo<const char*>& shell) {
                           return std::string(shell.param).substr(5);
                         });

}  // namespace
