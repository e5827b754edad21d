#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "jl/cmd/config.hpp"
#include "jl/core/text.hpp"

namespace jl::cmd {

namespace {

std::string_view source_name(Source s) {
  switch (s) {
    case Source::flag:
      return "flag";
    case Source::env:
      return "env";
    case Source::config:
      return "config";
    case Source::testbed:
      return "testbed";
    case Source::none:
      break;
  }
  return "default";
}

struct Row {
  std::string name;
  nlohmann::json value;  // for --json
  std::string text;      // for people
  Source source = Source::none;
  std::string origin;
};

template <typename T>
Row row(std::string name, const Setting<T>& s, nlohmann::json value, std::string text) {
  return Row{std::move(name), std::move(value), std::move(text), s.source, s.origin};
}

std::string where(const Row& r) {
  std::string from(to_string(r.source));
  return r.origin.empty() ? from : fmt::format("{} ({})", from, r.origin);
}

}  // namespace

int run_config_show(Context& ctx, const ConfigShowOptions& o) {
  const std::string path = ctx.config_path();
  const bool exists = ::access(path.c_str(), F_OK) == 0;
  const auto& file = ctx.file_config();  // warns about unknown keys

  std::vector<Row> rows;
  auto host = ctx.host_setting();
  rows.push_back(host ? row("host", *host, host->value, host->value)
                      : Row{"host", nullptr, "(none)", Source::none, ""});
  auto cfg = resolve_ssh_config(ctx.global().ssh_config, ctx.env(), file);
  if (cfg) {
    rows.push_back(row("ssh_config", *cfg, *ctx.ssh_config(), *ctx.ssh_config()));
  } else if (host && host->source == Source::testbed) {
    rows.push_back(Row{"ssh_config", *ctx.ssh_config(), *ctx.ssh_config(), Source::testbed, ""});
  } else {
    rows.push_back(Row{"ssh_config", nullptr, "~/.ssh/config", Source::none, ""});
  }
  std::optional<std::string> host_name;
  if (host) {
    host_name = host->value;
  }
  auto s = ctx.session_settings(host_name, o.container);
  rows.push_back(row("app", s.app, s.app.value, s.app.value));
  rows.push_back(s.port.value ? row("port", s.port, *s.port.value, std::to_string(*s.port.value))
                              : row("port", s.port, nullptr, "8888, or the next free one"));
  rows.push_back(s.dir.value ? row("dir", s.dir, *s.dir.value, *s.dir.value)
                             : row("dir", s.dir, nullptr, "the container's working directory"));
  rows.push_back(
      row("jupyter_args", s.jupyter_args, s.jupyter_args.value,
          s.jupyter_args.value.empty() ? "(none)" : text::join(s.jupyter_args.value, " ")));
  rows.push_back(row("docker", s.docker, s.docker.value, text::join(s.docker.value, " ")));
  rows.push_back(row("timeout", s.timeout, s.timeout.value, fmt::format("{} s", s.timeout.value)));
  rows.push_back(s.idle_timeout.value
                     ? row("idle_timeout", s.idle_timeout, *s.idle_timeout.value,
                           text::format_duration(*s.idle_timeout.value))
                     : row("idle_timeout", s.idle_timeout, nullptr, "none (Jupyter's own: never)"));
  // Making the container: what jl up does when it is not there.
  auto text_row = [&](const char* name, const Setting<std::optional<std::string>>& v,
                      const char* unset) {
    rows.push_back(v.value ? row(name, v, *v.value, *v.value) : row(name, v, nullptr, unset));
  };
  text_row("image", s.image, "none (jl up never creates the container)");
  const char* with_image = s.image.value ? "docker's default" : "(applies with an image)";
  text_row("gpus", s.gpus, s.image.value ? "none" : with_image);
  rows.push_back(row("volumes", s.volumes, s.volumes.value,
                     s.volumes.value.empty() ? "(none)" : text::join(s.volumes.value, " ")));
  text_row("shm_size", s.shm_size, with_image);
  text_row("ipc", s.ipc, with_image);
  text_row("user", s.user, s.image.value ? "the image's" : with_image);
  text_row("workdir", s.workdir, s.image.value ? "the image's" : with_image);
  rows.push_back(row("env", s.env, s.env.value,
                     s.env.value.empty() ? "(none)" : text::join(s.env.value, " ")));
  text_row("pull", s.pull, "missing");
  rows.push_back(row("start_container", s.start_container, s.start_container.value,
                     s.start_container.value ? "yes" : "no (only containers jl made)"));
  // A Slurm job instead of a container.
  rows.push_back(row("scheduler", s.scheduler, s.scheduler.value, s.scheduler.value));
  const char* slurm_default = "Slurm's default";
  text_row("partition", s.partition, slurm_default);
  text_row("gres", s.gres, "(none)");
  text_row("time", s.time, "the partition's default");
  rows.push_back(s.cpus_per_task.value
                     ? row("cpus_per_task", s.cpus_per_task, *s.cpus_per_task.value,
                           std::to_string(*s.cpus_per_task.value))
                     : row("cpus_per_task", s.cpus_per_task, nullptr, slurm_default));
  text_row("mem", s.mem, slurm_default);
  text_row("account", s.account, "your default account");
  text_row("qos", s.qos, slurm_default);
  rows.push_back(
      row("sbatch_args", s.sbatch_args, s.sbatch_args.value,
          s.sbatch_args.value.empty() ? "(none)" : text::join(s.sbatch_args.value, " ")));

  if (ctx.ui().json()) {
    nlohmann::json settings = nlohmann::json::object();
    for (const auto& r : rows) {
      settings[r.name] = {
          {"value", r.value},
          {"source", source_name(r.source)},
          {"origin", r.origin.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.origin)}};
    }
    nlohmann::json j = {
        {"config_file", path},
        {"config_file_exists", exists},
        {"container", o.container ? nlohmann::json(*o.container) : nlohmann::json(nullptr)},
        {"unknown_keys", file.unknown_keys},
        {"settings", settings},
    };
    ctx.ui().out_json(j);
    return 0;
  }
  if (ctx.ui().quiet()) {
    // NAME=VALUE, empty when unset (jl decides then), lists joined with spaces.
    for (const auto& r : rows) {
      std::string v;
      if (r.value.is_string()) {
        v = r.value.get<std::string>();
      } else if (r.value.is_boolean()) {
        v = r.value.get<bool>() ? "true" : "false";
      } else if (r.value.is_number()) {
        v = r.value.dump();
      } else if (r.value.is_array()) {
        v = text::join(r.value.get<std::vector<std::string>>(), " ");
      }
      ctx.ui().out(fmt::format("{}={}", r.name, v));
    }
    return 0;
  }
  ctx.ui().out(fmt::format("config file: {}{}", path, exists ? "" : " (not there)"));
  if (o.container) {
    ctx.ui().out(fmt::format("settings for container {}{}:", *o.container,
                             host ? " on " + host->value : std::string{}));
  }
  std::size_t name_w = 0;
  std::size_t value_w = 0;
  for (const auto& r : rows) {
    name_w = std::max(name_w, r.name.size());
    value_w = std::max(value_w, r.text.size());
  }
  for (const auto& r : rows) {
    ctx.ui().out(fmt::format("  {:<{}}  {:<{}}  {}", r.name, name_w, r.text, value_w, where(r)));
  }
  return 0;
}

int run_config_path(Context& ctx) {
  if (ctx.ui().json()) {
    ctx.ui().out_json({{"config_file", ctx.config_path()}});
  } else {
    ctx.ui().out(ctx.config_path());
  }
  return 0;
}

void setup_config(CLI::App& app, Dispatch& dispatch) {
  auto* sub = app.add_subcommand("config",
                                 "Show the settings in force and where each comes from\n"
                                 "  jl config show\n"
                                 "  jl -H gpubox config show cont1\n"
                                 "  jl config path");
  sub->require_subcommand(1);
  auto show_options = std::make_shared<ConfigShowOptions>();
  auto* show = sub->add_subcommand(
      "show",
      "The merged settings (flags > environment > config file > defaults) and their sources");
  show->add_option("CONTAINER", show_options->container,
                   "Show what this container's sessions would get");
  show->callback([show_options, &dispatch] {
    dispatch.run = [show_options](Context& ctx) { return run_config_show(ctx, *show_options); };
  });
  auto* path = sub->add_subcommand("path", "Print the config file's path");
  path->callback([&dispatch] { dispatch.run = [](Context& ctx) { return run_config_path(ctx); }; });
  sub->footer(
      "The config file is JSON: {\"host\": \"gpubox\", \"docker\": \"sudo -n docker\",\n"
      "  \"hosts\": {\"gpubox\": {\"port\": 9000}}, \"containers\": {\"cont1\": {\"dir\": "
      "\"/data\"}}}\n"
      "Keys: host, ssh_config, app, port, dir, jupyter_args, docker, timeout, idle_timeout,\n"
      "  hosts, containers; and for making a container: image (in a container's section only),\n"
      "  gpus, volumes, shm_size, ipc, user, workdir, env, pull, start_container; and for a Slurm\n"
      "  job: scheduler (\"slurm\"), partition, gres, gpus, time, cpus_per_task, mem, account,\n"
      "  qos, sbatch_args.");
}

}  // namespace jl::cmd
