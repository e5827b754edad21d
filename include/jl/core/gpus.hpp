#pragma once

// The host's GPUs as data: the command that asks nvidia-smi for them and for the compute
// processes on them (with each process's cgroup, and the running containers), the parser of its
// report, which container each process runs in, and what follows from it: who uses each GPU,
// which GPUs a container uses, and the free GPUs `--gpus free:N` picks. Nothing here talks to
// the network.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace jl::gpus {

// One line of `nvidia-smi --query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu
// --format=csv,noheader,nounits`. A value nvidia-smi cannot give ("[N/A]", "[Not Supported]",
// any other "[...]") is left unset.
struct Gpu {
  int index = -1;
  std::string uuid;
  std::string name;
  std::optional<long long> memory_used_mib;
  std::optional<long long> memory_total_mib;
  std::optional<int> utilization_percent;
  bool operator==(const Gpu&) const = default;
};
// Nothing for a line that is not one (too few fields, an index that is not a number, no uuid).
std::optional<Gpu> parse_gpu_line(std::string_view line);

// One line of `nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory
// --format=csv,noheader,nounits`. Old drivers print "[Not Supported]" for the pid: 0 then.
struct ComputeApp {
  std::string gpu_uuid;
  long long pid = 0;
  std::optional<long long> used_mib;
  bool operator==(const ComputeApp&) const = default;
};
std::optional<ComputeApp> parse_app_line(std::string_view line);

// The id (64 hex digits) of the container a process's /proc/PID/cgroup puts it in: docker's
// cgroup v1 and cgroupfs paths (/docker/ID), the systemd driver's (docker-ID.scope), podman's
// (libpod-ID.scope) and CRI runtimes' (crio-ID.scope, cri-containerd-ID.scope); the innermost
// when they nest. Empty for a process outside any container (/, /system.slice/..., /user.slice).
std::string container_of_cgroup(std::string_view cgroup);

struct RunningContainer {
  std::string id;  // the full id
  std::string name;
};

// What the script found.
struct Report {
  enum class Tool { unknown, missing, failed, ok } tool = Tool::unknown;
  int exit_status = 0;  // nvidia-smi's, when it failed
  std::string error;    // what it said then (its last line)
  std::vector<Gpu> gpus;
  std::vector<ComputeApp> apps;
  std::map<long long, std::string> cgroups;                 // pid -> its /proc/PID/cgroup
  std::optional<std::vector<RunningContainer>> containers;  // docker ps answered
  std::vector<std::string> unreadable;                      // nvidia-smi lines jl cannot read
  bool complete = false;                                    // the script got to its end
};

// The command (for the host's shell); `docker` is the docker command as words (may be empty:
// then no container gets a name).
std::string command(std::string_view nonce, const std::vector<std::string>& docker);
Report parse(std::string_view output, std::string_view nonce);

// A process on a GPU, and where it runs.
struct Holder {
  long long pid = 0;  // 0: nvidia-smi did not say
  std::optional<long long> used_mib;
  std::string container_id;    // empty: a process outside any container
  std::string container_name;  // empty when docker ps did not list the container
  bool operator==(const Holder&) const = default;
};
// In words: "cont1 (pid 4242, 512 MiB)", "host pid 77 (100 MiB)".
std::string describe(const Holder& holder);

struct Use {
  Gpu gpu;
  std::vector<Holder> holders;
};
// Each GPU with the processes on it, in nvidia-smi's order.
std::vector<Use> usage(const Report& report);

// The indices of `count` GPUs with no process on them, least memory used first (a GPU whose
// memory use is unknown last), lower index first among equals; nothing when fewer are free.
std::optional<std::vector<int>> pick_free(const std::vector<Use>& uses, int count);
// How many GPUs have no process.
int free_count(const std::vector<Use>& uses);
// Who holds the busy GPUs: "GPU 0: cont1 (pid 4242, 512 MiB); GPU 2: host pid 77 (100 MiB)".
std::vector<std::string> holders_words(const std::vector<Use>& uses);

// The GPUs the processes of one container use, with the memory they hold there.
struct ContainerGpu {
  int index = -1;
  std::optional<long long> used_mib;  // unknown when a process's is
  bool operator==(const ContainerGpu&) const = default;
};
// The container is matched by its id (full, or a prefix of 12 or more hex digits) or, when no
// id is known, by its name.
std::vector<ContainerGpu> of_container(const std::vector<Use>& uses, std::string_view id,
                                       std::string_view name);
// "1 (10000 MiB), 3 (? MiB)"; "-" for none.
std::string words(const std::vector<ContainerGpu>& gpus);
nlohmann::json to_json(const std::vector<ContainerGpu>& gpus);

// jl gpus: a table (one line per GPU) and its JSON.
std::string table(const std::vector<Use>& uses);
nlohmann::json to_json(const std::vector<Use>& uses);

}  // namespace jl::gpus
