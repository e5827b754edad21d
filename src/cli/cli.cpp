#include "jl/cli/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <unistd.h>
#include "jl/cmd/close.hpp"
#include "jl/cmd/complete.hpp"
#include "jl/cmd/completion.hpp"
#include "jl/cmd/config.hpp"
#include "jl/cmd/dispatch.hpp"
#include "jl/cmd/doctor.hpp"
#include "jl/cmd/forward.hpp"
#include "jl/cmd/gpus.hpp"
#include "jl/cmd/logs.hpp"
#include "jl/cmd/open.hpp"
#include "jl/cmd/rm.hpp"
#include "jl/cmd/start.hpp"
#include "jl/cmd/status.hpp"
#include "jl/cmd/stop.hpp"
#include "jl/cmd/up.hpp"
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
    "  jl gpus                      the host's GPUs and which containers use them\n"
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

// The arguments before the first "--"; everything after it is passed to Jupyter untouched.
std::vector<std::string> split_passthrough(int argc, char** argv, cmd::Dispatch& dispatch) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!dispatch.passthrough && a == "--") {
      dispatch.passthrough.emplace();
      continue;
    }
    (dispatch.passthrough ? *dispatch.passthrough : args).push_back(std::move(a));
  }
  return args;
}

// Every command (src/cmd, a file each), in the order `jl --help` lists them.
void setup_commands(CLI::App& app, cmd::Dispatch& dispatch) {
  cmd::setup_start(app, dispatch);
  cmd::setup_open(app, dispatch);
  cmd::setup_up(app, dispatch);
  cmd::setup_forward(app, dispatch);
  cmd::setup_close(app, dispatch);
  cmd::setup_stop(app, dispatch);
  cmd::setup_rm(app, dispatch);
  cmd::setup_status(app, dispatch);
  cmd::setup_gpus(app, dispatch);
  cmd::setup_doctor(app, dispatch);
  cmd::setup_logs(app, dispatch);
  cmd::setup_config(app, dispatch);
  cmd::setup_completion(app, dispatch);
  cmd::setup_complete(app, dispatch);
}

void add_global_options(CLI::App& app, cmd::GlobalOptions& global) {
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
}

// What a parse error says to the user. Names an unknown option or command instead of whatever
// CLI11 noticed first (e.g. "CONTAINER is required" for `jl start --bogus`).
std::string parse_error_message(const CLI::ParseError& e, CLI::App& app,
                                const std::vector<std::string>& args) {
  std::string message = e.what();
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
  return message;
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

  cmd::Dispatch dispatch;
  const std::vector<std::string> args = split_passthrough(argc, argv, dispatch);

  CLI::App app{kDescription, "jl"};
  app.set_version_flag("--version", std::string("jl ") + JL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.get_formatter()->column_width(34);
  cmd::GlobalOptions global;
  add_global_options(app, global);
  setup_commands(app, dispatch);

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
    return print_error(Error(Exit::usage, parse_error_message(e, app, args),
                             "run `jl --help` (or `jl COMMAND --help`)"));
  }

  if ((global.host && global.host->empty()) || (global.ssh_config && global.ssh_config->empty())) {
    return print_error(Error(Exit::usage, "-H and -F need a non-empty value", "run `jl --help`"));
  }
  if (global.json && global.quiet) {
    global.quiet = false;  // --json output is what scripts need
  }
  if (dispatch.passthrough && !dispatch.takes_passthrough) {
    return print_error(Error(Exit::usage, "arguments after -- are only for `jl start` and `jl up`",
                             "run `jl --help`"));
  }

  try {
    cmd::Context ctx(global, env);
    if (!dispatch.run) {
      return print_error(Error(Exit::usage, "no command given", "run `jl --help`"));
    }
    return dispatch.run(ctx);
  } catch (const Error& e) {
    return print_error(e);
  } catch (const std::exception& e) {
    return print_error(Error(Exit::other, fmt::format("unexpected failure: {}", e.what())));
  }
}

}  // namespace jl::cli
