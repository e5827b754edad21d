// jl gpus [HOST]: one exec on the host asks nvidia-smi for the GPUs and their compute
// processes, reads each process's cgroup and lists the running containers; core/gpus maps the
// processes to containers.

#include "jl/cmd/gpus.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/core/error.hpp"
#include "jl/core/gpus.hpp"
#include "jl/remote/host.hpp"

namespace jl::cmd {

using namespace std::chrono_literals;

int run_gpus(Context& ctx, const GpusOptions& o) {
  if (o.host && o.host->empty()) {
    throw Error(Exit::usage, "the host is empty", "jl gpus [HOST]");
  }
  const std::string host_name = o.host ? *o.host : ctx.require_host();
  const auto ssh_config = ctx.ssh_config();
  auto session = ctx.connect(host_name, ssh_config);
  remote::Host host(session, host_name, ctx.docker_command(host_name, ""));
  std::vector<gpus::Use> uses;
  {
    auto busy = ctx.ui().activity(fmt::format("asking nvidia-smi on {}", host_name));
    uses = host.gpu_usage(ssh::deadline_in(45s));
  }
  if (ctx.ui().json()) {
    ctx.ui().out_json(nlohmann::json{{"host", host_name}, {"gpus", gpus::to_json(uses)}}, 2);
    return 0;
  }
  if (ctx.ui().quiet()) {
    // For scripts: INDEX FREE(yes/no) MEMORY_USED MEMORY_TOTAL, tab-separated.
    for (const auto& u : uses) {
      auto mib = [](const std::optional<long long>& v) {
        return v ? std::to_string(*v) : std::string("-");
      };
      ctx.ui().out(fmt::format("{}\t{}\t{}\t{}", u.gpu.index, u.holders.empty() ? "yes" : "no",
                               mib(u.gpu.memory_used_mib), mib(u.gpu.memory_total_mib)));
    }
    return 0;
  }
  if (uses.empty()) {
    ctx.ui().out(
        fmt::format("{} has an NVIDIA driver but no GPU (nvidia-smi: No devices were "
                    "found)",
                    host_name));
    return 0;
  }
  ctx.ui().out(gpus::table(uses));
  return 0;
}

void setup_gpus(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<GpusOptions>();
  auto* sub = app.add_subcommand("gpus",
                                 "List the host's GPUs: memory, utilization, and which containers "
                                 "use them\n"
                                 "  jl gpus\n"
                                 "  jl --json gpus gpubox");
  sub->add_option("HOST", options->host, "Host to ask (default: -H, $JL_HOST or the config file)");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_gpus(ctx, *options); };
  });
}

}  // namespace jl::cmd
