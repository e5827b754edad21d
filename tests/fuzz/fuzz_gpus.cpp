// Fuzz the reader of the GPU script's report: nvidia-smi's CSV lines, /proc/PID/cgroup files
// and docker ps, divided by "@@NONCE KIND ARGS" marker lines; and what is built from it.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>
#include <vector>

#include "jl/core/gpus.hpp"

namespace {

// The nonce the seed corpus is written with.
constexpr std::string_view kNonce = "0123456789ab";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto report = jl::gpus::parse(input, kNonce);
  for (const auto& g : report.gpus) {
    if (g.index < 0 || g.uuid.empty() ||
        (g.utilization_percent && (*g.utilization_percent < 0 || *g.utilization_percent > 100))) {
      __builtin_trap();
    }
  }
  for (const auto& [pid, cgroup] : report.cgroups) {
    const auto id = jl::gpus::container_of_cgroup(cgroup);
    if (!id.empty() && id.size() != 64) {
      __builtin_trap();
    }
  }
  static_cast<void>(jl::gpus::container_of_cgroup(input));
  const auto uses = jl::gpus::usage(report);
  if (uses.size() != report.gpus.size()) {
    __builtin_trap();
  }
  const int free = jl::gpus::free_count(uses);
  std::set<int> free_indices;
  for (const auto& u : uses) {
    if (u.holders.empty()) {
      free_indices.insert(u.gpu.index);
    }
  }
  for (int n = 1; n <= 3; ++n) {
    const auto picked = jl::gpus::pick_free(uses, n);
    if (picked.has_value() != (n <= free)) {
      __builtin_trap();
    }
    for (int index : picked.value_or(std::vector<int>{})) {
      if (free_indices.count(index) == 0) {
        __builtin_trap();  // only GPUs without a process are picked
      }
    }
  }
  static_cast<void>(jl::gpus::holders_words(uses));
  static_cast<void>(jl::gpus::table(uses));
  // As jl prints it (Ui::out_json): a name that is not UTF-8 is replaced, never refused.
  static_cast<void>(
      jl::gpus::to_json(uses).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!uses.empty()) {
    static_cast<void>(jl::gpus::of_container(uses, uses.front().gpu.uuid, "x"));
  }
  return 0;
}
