#include "jl/cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "jl/cmd/commands.hpp"
#include "jl/core/error.hpp"

#ifndef JL_VERSION
#define JL_VERSION "0.0.0"
#endif

namespace jl::cli {

namespace {

constexpr const char* kDescription =
    "jl runs JupyterLab inside a Docker container on a remote host and reaches it over SSH.\n"
    "\n"
    "Examples:\n"
    "  jl -H gpubox start cont1     start (or reuse) Jupyter in container cont1 on gpubox\n"
    "  jl status                    what runs where\n"
    "  jl stop cont1                stop it and verify it is gone\n"
    "\n"
    "The host is -H, else $JL_HOST, else \"host\" in ~/.config/jl/config.json. It is anything\n"
    "`ssh` reaches: an alias from ~/.ssh/config, user@host, or host:port.\n"
    "Exit codes: 0 ok, 1 other, 2 usage, 3 SSH, 4 remote (docker, container, Jupyter), 5 timeout.";

int print_error(const Error& e) {
  std::fputs(format_error(e).c_str(), stderr);
  return static_cast<int>(e.code());
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  // A reader that goes away (e.g. `jl status | head`) must not kill jl with SIGPIPE mid-write.
  std::signal(SIGPIPE, SIG_IGN);

  // Everything after the first "--" is passed to Jupyter untouched.
  std::vector<std::string> args;
  std::vector<std::string> passthrough;
  bool saw_separator = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!saw_separator && a == "--") {
      saw_separator = true;
      continue;
    }
    (saw_separator ? passthrough : args).push_back(std::move(a));
  }

  CLI::App app{kDescription, "jl"};
  app.set_version_flag("--version", std::string("jl ") + JL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.get_formatter()->column_width(34);

  cmd::GlobalOptions global;
  app.add_option("-H,--host", global.host, "Host to use: ssh alias, user@host or host:port")
      ->envname("")
      ->type_name("HOST");
  app.add_option("-F,--ssh-config", global.ssh_config, "ssh config file to read (as ssh -F)")
      ->type_name("FILE");
  app.add_flag("--json", global.json, "Print results as JSON");
  app.add_flag("-v,--verbose", global.verbose, "Show each step and its timing on stderr");
  app.add_flag("-q,--quiet", global.quiet, "Print only what scripts need");

  cmd::StartOptions start;
  auto* start_cmd = app.add_subcommand(
      "start",
      "Start JupyterLab detached in a running container (or reuse the one that runs)\n"
      "  jl start cont1\n"
      "  jl start cont1 --port 8890 --dir /workspace -- --ServerApp.terminals_enabled=False");
  start_cmd->add_option("CONTAINER", start.container, "Name of a running container")->required();
  int port = 0;
  auto* port_opt = start_cmd
                       ->add_option("--port", port,
                                    "Port inside the container (default: "
                                    "8888, or the next free one)")
                       ->check(CLI::Range(1, 65535))
                       ->type_name("N");
  std::string dir;
  auto* dir_opt = start_cmd
                      ->add_option("--dir", dir,
                                   "Directory to serve (default: the "
                                   "container's working directory)")
                      ->type_name("PATH");
  start_cmd
      ->add_option("--app", start.app,
                   "auto (lab, else notebook, else server), lab, "
                   "notebook or server")
      ->check(CLI::IsMember({"auto", "lab", "notebook", "server"}))
      ->capture_default_str();
  start_cmd->add_option("--timeout", start.timeout_s, "Seconds to wait for Jupyter to start")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str()
      ->type_name("SECONDS");
  start_cmd->footer("Arguments after -- are passed to Jupyter.");

  cmd::StopOptions stop;
  auto* stop_cmd =
      app.add_subcommand("stop",
                         "Shut Jupyter down, verify it is gone, and forget the session\n"
                         "  jl stop            (the only known session)\n"
                         "  jl stop cont1\n"
                         "  jl stop --all");
  stop_cmd->add_option("CONTAINER", stop.container, "Container of a known session");
  stop_cmd->add_flag("--all", stop.all, "Stop every known session");

  cmd::StatusOptions status;
  auto* status_cmd =
      app.add_subcommand("status",
                         "Show known sessions: where they run and whether they answer\n"
                         "  jl status\n"
                         "  jl --json status cont1");
  status_cmd->alias("ls");
  status_cmd->add_option("CONTAINER", status.container, "Show only this container");

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    // Name an unknown command instead of CLI11's "A subcommand is required".
    for (std::size_t i = 0; i < args.size(); ++i) {
      const auto& a = args[i];
      if (a == "-H" || a == "--host" || a == "-F" || a == "--ssh-config") {
        ++i;  // skip the option's value
        continue;
      }
      if (a.empty() || a.front() == '-') {
        continue;
      }
      bool known = false;
      for (const auto* sub : app.get_subcommands({})) {
        known = known || sub->check_name(a);
      }
      if (!known) {
        message = fmt::format("unknown command '{}'", a);
      }
      break;
    }
    if (message.size() > 1 && std::isupper(static_cast<unsigned char>(message[0])) != 0 &&
        (std::islower(static_cast<unsigned char>(message[1])) != 0 || message[1] == ' ')) {
      message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
    }
    if (message.empty()) {
      message = "invalid command line";
    }
    return print_error(Error(Exit::usage, message, "run `jl --help` (or `jl COMMAND --help`)"));
  }

  if (global.json && global.quiet) {
    global.quiet = false;  // --json output is what scripts need
  }
  if (!passthrough.empty() && !start_cmd->parsed()) {
    return print_error(
        Error(Exit::usage, "arguments after -- are only for `jl start`", "run `jl --help`"));
  }

  try {
    cmd::Context ctx(global, Env::from_process(envp));
    if (start_cmd->parsed()) {
      if (port_opt->count() > 0) {
        start.port = port;
      }
      if (dir_opt->count() > 0) {
        start.dir = dir;
      }
      start.extra_args = passthrough;
      return cmd::run_start(ctx, start);
    }
    if (stop_cmd->parsed()) {
      return cmd::run_stop(ctx, stop);
    }
    if (status_cmd->parsed()) {
      return cmd::run_status(ctx, status);
    }
    return print_error(Error(Exit::usage, "no command given", "run `jl --help`"));
  } catch (const Error& e) {
    return print_error(e);
  } catch (const std::exception& e) {
    return print_error(Error(Exit::other, fmt::format("unexpected failure: {}", e.what())));
  }
}

}  // namespace jl::cli
