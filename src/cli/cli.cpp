#include "jl/cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <unistd.h>
#include "jl/cmd/commands.hpp"
#include "jl/core/error.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/terminal.hpp"

#ifndef JL_VERSION
#define JL_VERSION "0.0.0"
#endif

namespace jl::cli {

namespace {

constexpr const char* kDescription =
    "jl runs JupyterLab inside a Docker container on a remote host and reaches it over SSH.\n"
    "\n"
    "Examples:\n"
    "  jl -H gpubox up cont1        start (or reuse) Jupyter in cont1 on gpubox, tunnel, browser\n"
    "  jl -H gpubox start cont1     only start (or reuse) Jupyter\n"
    "  jl open                      tunnel + browser for the session already started\n"
    "  jl status                    what runs where\n"
    "  jl close cont1               close the tunnel; Jupyter keeps running\n"
    "  jl stop cont1                stop Jupyter (and its tunnel), verify it is gone\n"
    "  jl doctor cont1              check everything jl needs, with fixes\n"
    "  jl logs -f cont1             follow Jupyter's log\n"
    "\n"
    "The host is -H, else $JL_HOST, else \"host\" in ~/.config/jl/config.json, else the local\n"
    "test bed (jl-testbed) when it has been brought up. It is anything `ssh` reaches: an alias\n"
    "from ~/.ssh/config, user@host, or host:port.\n"
    "Exit codes: 0 ok, 1 other, 2 usage, 3 SSH, 4 remote (docker, container, Jupyter), 5 timeout,\n"
    "130 interrupted (Ctrl-C, SIGTERM, SIGHUP).";

// Print an error; on a terminal (and without NO_COLOR) "jl: error:" is red and "hint:" cyan.
int print_error(const Error& e, bool color) {
  std::string text = format_error(e);
  if (color) {
    std::string painted;
    for (auto line : text::lines(text)) {
      if (line.starts_with("jl: error:")) {
        painted += fmt::format("\033[1;31mjl: error:\033[0m{}\n", line.substr(10));
      } else if (line.starts_with("hint:")) {
        painted += fmt::format("\033[36mhint:\033[0m{}\n", line.substr(5));
      } else {
        painted += fmt::format("{}\n", line);
      }
    }
    text = std::move(painted);
  }
  std::fputs(text.c_str(), stderr);
  return static_cast<int>(e.code());
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  const Env env = Env::from_process(envp);
  const bool color =
      sys::is_tty(STDERR_FILENO) &&
      cmd::color_wanted(env.get("NO_COLOR") ? "1" : nullptr, env.get("TERM").value_or("").c_str());
  auto print_error = [color](const Error& e) { return cli::print_error(e, color); };
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
  app.add_flag("--accept-changed-host-key", global.accept_changed_host_key,
               "Connect even though the host key changed (this run only; known_hosts is not "
               "changed)");

  cmd::StartOptions start;
  int port = 0;
  std::string dir;
  std::string app_name;
  int timeout = 0;
  auto* start_cmd = app.add_subcommand(
      "start",
      "Start JupyterLab detached in a running container (or reuse the one that runs)\n"
      "  jl start cont1\n"
      "  jl start cont1 --port 8890 --dir /workspace -- --ServerApp.terminals_enabled=False");
  auto add_start_options = [&](CLI::App* sub) {
    sub->add_option("CONTAINER", start.container, "Name of a running container")->required();
    sub->add_option("--port", port,
                    "Port inside the container (default: 8888, or the next free one)")
        ->check(CLI::Range(1, 65535))
        ->type_name("N");
    sub->add_option("--dir", dir, "Directory to serve (default: the container's working directory)")
        ->type_name("PATH");
    sub->add_option("--app", app_name,
                    "auto (lab, else notebook, else server; the default), lab, notebook or server")
        ->check(CLI::IsMember({"auto", "lab", "notebook", "server"}))
        ->type_name("APP");
    sub->add_option("--timeout", timeout, "Seconds to wait for Jupyter to start (default: 60)")
        ->check(CLI::Range(1, 3600))
        ->type_name("SECONDS");
    sub->footer(
        "Arguments after -- are passed to Jupyter. Defaults for every option can be set in the "
        "config file, per host and per container: see `jl config show`.");
  };
  add_start_options(start_cmd);

  cmd::OpenOptions open;
  int local_port = 0;
  auto add_open_options = [&](CLI::App* sub) {
    sub->add_flag("--no-browser", open.no_browser, "Do not open a browser; just print the URL");
    sub->add_option("--local-port", local_port,
                    "Local port (default: the session's last one, else the remote port, else the "
                    "next free one)")
        ->check(CLI::Range(1, 65535))
        ->type_name("N");
    sub->add_flag("--foreground", open.foreground, "Keep the tunnel in this process until Ctrl-C");
  };
  auto* open_cmd =
      app.add_subcommand("open",
                         "Make sure a tunnel runs to a started session, then open the browser\n"
                         "  jl open\n"
                         "  jl open cont1 --no-browser");
  open_cmd->add_option("CONTAINER", open.container, "Container of a known session");
  add_open_options(open_cmd);

  auto* up_cmd = app.add_subcommand(
      "up",
      "Start (or reuse) Jupyter, open the tunnel and the browser: start + open in one go\n"
      "  jl up cont1\n"
      "  jl up cont1 --no-browser --local-port 9999");
  add_start_options(up_cmd);
  add_open_options(up_cmd);

  cmd::ForwardOptions forward;
  auto* forward_cmd = app.add_subcommand(
      "forward",
      "Forward another port through the same engine\n"
      "  jl forward cont1:6006              TensorBoard in container cont1\n"
      "  jl forward -L 8080:127.0.0.1:80    like ssh -L; the address as the host sees it");
  forward_cmd->add_option("TARGET", forward.spec,
                          "CONTAINER:PORT (or with -L: [LOCAL_PORT:]ADDR:PORT)");
  std::string raw_spec;
  auto* raw_opt = forward_cmd->add_option("-L", raw_spec, "[LOCAL_PORT:]ADDR:PORT, as ssh -L")
                      ->type_name("SPEC");
  int forward_local_port = 0;
  auto* forward_port_opt = forward_cmd->add_option("--local-port", forward_local_port, "Local port")
                               ->check(CLI::Range(1, 65535))
                               ->type_name("N");
  forward_cmd->add_flag("--foreground", forward.foreground,
                        "Keep the forward in this process until Ctrl-C");

  cmd::CloseOptions close;
  auto* close_cmd =
      app.add_subcommand("close",
                         "Close the tunnel of a session; Jupyter keeps running\n"
                         "  jl close cont1\n"
                         "  jl close --all                     every tunnel and forward");
  close_cmd->add_option("CONTAINER", close.container, "Container of a known session");
  close_cmd->add_flag("--all", close.all, "Close every tunnel and forward");

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
  status_cmd->add_flag("--show-token", status.show_token,
                       "Show the whole token (it is masked otherwise)");

  cmd::DoctorOptions doctor;
  int doctor_port = 0;
  auto* doctor_cmd = app.add_subcommand(
      "doctor",
      "Check everything jl needs (ssh config, host key, login, docker, the container, Jupyter,\n"
      "ports, GPU, browser, known sessions); one line each, with a fix for what is wrong\n"
      "  jl doctor cont1\n"
      "  jl --json doctor cont1");
  doctor_cmd->add_option("CONTAINER", doctor.container, "Container to check");
  auto* doctor_port_opt =
      doctor_cmd->add_option("--port", doctor_port, "Container port to check (default: 8888)")
          ->check(CLI::Range(1, 65535))
          ->type_name("N");

  cmd::LogsOptions logs;
  auto* logs_cmd =
      app.add_subcommand("logs",
                         "Show the log of a Jupyter jl started (the last lines, or follow it)\n"
                         "  jl logs cont1 -n 100\n"
                         "  jl logs -f                  (until Ctrl-C)");
  logs_cmd->add_option("CONTAINER", logs.container, "Container of a known session");
  logs_cmd->add_flag("-f,--follow", logs.follow, "Keep printing new lines until Ctrl-C");
  logs_cmd->add_option("-n,--lines", logs.lines, "How many of the last lines to show")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str()
      ->type_name("N");

  cmd::ConfigShowOptions config_show;
  auto* config_cmd = app.add_subcommand("config",
                                        "Show the settings in force and where each comes from\n"
                                        "  jl config show\n"
                                        "  jl -H gpubox config show cont1\n"
                                        "  jl config path");
  config_cmd->require_subcommand(1);
  auto* config_show_cmd = config_cmd->add_subcommand(
      "show",
      "The merged settings (flags > environment > config file > defaults) and their sources");
  config_show_cmd->add_option("CONTAINER", config_show.container,
                              "Show what this container's sessions would get");
  auto* config_path_cmd = config_cmd->add_subcommand("path", "Print the config file's path");
  config_cmd->footer(
      "The config file is JSON: {\"host\": \"gpubox\", \"docker\": \"sudo -n docker\",\n"
      "  \"hosts\": {\"gpubox\": {\"port\": 9000}}, \"containers\": {\"cont1\": {\"dir\": "
      "\"/data\"}}}\n"
      "Keys: host, ssh_config, app, port, dir, jupyter_args, docker, timeout, hosts, containers.");
  cmd::CompletionOptions completion;
  auto* completion_cmd =
      app.add_subcommand("completion",
                         "Print the completion script for bash, zsh or fish\n"
                         "  source <(jl completion bash)\n"
                         "  jl completion zsh > \"${fpath[1]}/_jl\"\n"
                         "  jl completion fish > ~/.config/fish/completions/jl.fish");
  completion_cmd->add_option("SHELL", completion.shell, "bash, zsh or fish");
  // What the completion scripts ask jl for; hidden from help (an empty group).
  cmd::CompleteOptions complete;
  auto* complete_cmd = app.add_subcommand("__complete", "Candidates for shell completion");
  complete_cmd->group("");
  complete_cmd->add_option("KIND", complete.kind, "hosts, sessions or containers")
      ->required()
      ->check(CLI::IsMember({"hosts", "sessions", "containers"}));

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
    // Name an unknown option or command instead of whatever CLI11 noticed first (e.g. "CONTAINER
    // is required" for `jl start --bogus`).
    CLI::App* sub_seen = nullptr;
    for (const auto& a : args) {
      if (sub_seen == nullptr) {
        for (auto* sub : app.get_subcommands({})) {
          if (sub->check_name(a)) {
            sub_seen = sub;
          }
        }
        if (sub_seen != nullptr) {
          continue;
        }
      }
      if (a.size() < 2 || a.front() != '-' || a == "--") {
        continue;
      }
      std::string name = a.substr(0, a.find('='));
      if (name.size() > 2 && name[1] != '-') {
        name = name.substr(0, 2);  // -Hhost, -vq: the first letter names the option
      }
      bool known = app.get_option_no_throw(name) != nullptr ||
                   (sub_seen != nullptr && sub_seen->get_option_no_throw(name) != nullptr) ||
                   name == "-h" || name == "--help";
      if (!known) {
        message = fmt::format("unknown option '{}'", name);
        break;
      }
    }
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

  if ((global.host && global.host->empty()) || (global.ssh_config && global.ssh_config->empty())) {
    return print_error(Error(Exit::usage, "-H and -F need a non-empty value", "run `jl --help`"));
  }
  if (global.json && global.quiet) {
    global.quiet = false;  // --json output is what scripts need
  }
  if (saw_separator && !start_cmd->parsed() && !up_cmd->parsed()) {
    return print_error(Error(Exit::usage, "arguments after -- are only for `jl start` and `jl up`",
                             "run `jl --help`"));
  }

  try {
    cmd::Context ctx(global, env);
    if (start_cmd->parsed() || up_cmd->parsed()) {
      auto* sub = start_cmd->parsed() ? start_cmd : up_cmd;
      if (sub->get_option("--port")->count() > 0) {
        start.flags.port = port;
      }
      if (sub->get_option("--dir")->count() > 0) {
        start.flags.dir = dir;
      }
      if (sub->get_option("--app")->count() > 0) {
        start.flags.app = app_name;
      }
      if (sub->get_option("--timeout")->count() > 0) {
        start.flags.timeout = timeout;
      }
      if (saw_separator) {
        start.flags.jupyter_args = passthrough;
      }
      if (start_cmd->parsed()) {
        return cmd::run_start(ctx, start);
      }
      if (up_cmd->get_option("--local-port")->count() > 0) {
        open.local_port = local_port;
      }
      return cmd::run_up(ctx, cmd::UpOptions{start, open});
    }
    if (open_cmd->parsed()) {
      if (open_cmd->get_option("--local-port")->count() > 0) {
        open.local_port = local_port;
      }
      return cmd::run_open(ctx, open);
    }
    if (forward_cmd->parsed()) {
      if (raw_opt->count() > 0) {
        if (!forward.spec.empty()) {
          throw Error(Exit::usage, "give either -L SPEC or CONTAINER:PORT, not both");
        }
        forward.spec = raw_spec;
        forward.raw = true;
      }
      if (forward.spec.empty()) {
        throw Error(Exit::usage, "nothing to forward",
                    "use CONTAINER:PORT or -L [LOCAL_PORT:]ADDR:PORT");
      }
      if (forward_port_opt->count() > 0) {
        forward.local_port = forward_local_port;
      }
      return cmd::run_forward(ctx, forward);
    }
    if (close_cmd->parsed()) {
      return cmd::run_close(ctx, close);
    }
    if (stop_cmd->parsed()) {
      return cmd::run_stop(ctx, stop);
    }
    if (status_cmd->parsed()) {
      return cmd::run_status(ctx, status);
    }
    if (config_show_cmd->parsed()) {
      return cmd::run_config_show(ctx, config_show);
    }
    if (config_path_cmd->parsed()) {
      return cmd::run_config_path(ctx);
    }
    if (completion_cmd->parsed()) {
      return cmd::run_completion(ctx, completion);
    }
    if (complete_cmd->parsed()) {
      return cmd::run_complete(ctx, complete);
    }
    if (doctor_cmd->parsed()) {
      if (doctor_port_opt->count() > 0) {
        doctor.port = doctor_port;
      }
      return cmd::run_doctor(ctx, doctor);
    }
    if (logs_cmd->parsed()) {
      return cmd::run_logs(ctx, logs);
    }
    return print_error(Error(Exit::usage, "no command given", "run `jl --help`"));
  } catch (const Error& e) {
    return print_error(e);
  } catch (const std::exception& e) {
    return print_error(Error(Exit::other, fmt::format("unexpected failure: {}", e.what())));
  }
}

}  // namespace jl::cli
