// `jl completion SHELL`: the shell completion scripts, embedded at build time.

#include "jl/cmd/completion.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "jl/completion_scripts.hpp"
#include "jl/core/error.hpp"

namespace jl::cmd {

int run_completion(Context& /*ctx*/, const CompletionOptions& o) {
  struct Script {
    const char* shell;
    const unsigned char* data;
    std::size_t size;
  };
  static constexpr Script scripts[] = {
      {"bash", embedded::bash_script, embedded::bash_script_size},
      {"zsh", embedded::zsh_script, embedded::zsh_script_size},
      {"fish", embedded::fish_script, embedded::fish_script_size},
  };
  if (o.shell.empty()) {
    throw Error(Exit::usage, "name a shell: bash, zsh or fish",
                "e.g. source <(jl completion bash)");
  }
  for (const auto& s : scripts) {
    if (o.shell == s.shell) {
      if (std::fwrite(s.data, 1, s.size, stdout) != s.size || std::fflush(stdout) != 0) {
        throw Error(Exit::other, "cannot write the completion script to standard output");
      }
      return 0;
    }
  }
  throw Error(Exit::usage,
              fmt::format("unknown shell '{}'; jl completes bash, zsh and fish", o.shell),
              "jl completion bash, jl completion zsh or jl completion fish");
}

void setup_completion(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<CompletionOptions>();
  auto* sub = app.add_subcommand("completion",
                                 "Print the completion script for bash, zsh or fish\n"
                                 "  source <(jl completion bash)\n"
                                 "  jl completion zsh > \"${fpath[1]}/_jl\"\n"
                                 "  jl completion fish > ~/.config/fish/completions/jl.fish");
  sub->add_option("SHELL", options->shell, "bash, zsh or fish");
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_completion(ctx, *options); };
  });
}

}  // namespace jl::cmd
