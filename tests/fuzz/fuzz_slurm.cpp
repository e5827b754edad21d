// Fuzz the readers of what Slurm prints on the login node: the job's state (squeue, scontrol
// show node, sacct, scontrol show job, divided by "@@NONCE KIND ARGS" marker lines), sbatch's
// and scancel's answers, the doctor's report; and the words built from them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jl/core/slurm.hpp"

namespace {

// The nonce the seed corpus is written with.
constexpr std::string_view kNonce = "0123456789ab";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::string_view id : {std::string_view("42"), std::string_view()}) {
    const auto job = jl::slurm::parse_job_state(input, kNonce, id);
    // A job is pending, running or ended, never two of them; an unknown one is none.
    const int kinds = int(job.pending()) + int(job.running()) + int(job.ended());
    if (kinds > 1 || (!job.known && kinds != 0)) {
      __builtin_trap();
    }
    if (job.known && !job.node.empty() && job.node_addr.empty()) {
      __builtin_trap();
    }
    static_cast<void>(jl::slurm::pending_words(job));
    if (jl::slurm::ended_words(job).empty()) {
      __builtin_trap();
    }
    static_cast<void>(jl::slurm::format_elapsed(job.elapsed));
  }
  const auto submitted = jl::slurm::parse_submit(input, kNonce);
  for (char c : submitted.job_id) {
    if (c < '0' || c > '9') {
      __builtin_trap();
    }
  }
  std::string error;
  static_cast<void>(jl::slurm::parse_cancel(input, kNonce, &error));
  static_cast<void>(jl::slurm::parse_doctor(input, kNonce));
  static_cast<void>(jl::slurm::parse_time_limit(input));
  return 0;
}
