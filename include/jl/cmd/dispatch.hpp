#pragma once

// How a command reaches cli::main. Each command's file has a setup function that declares the
// command and its options on the CLI11 App, into an options object its parse callback owns.
// When that command is the one on the command line, the callback stores here how to run it:
// cli::main builds the Context (it needs the global options, known only after parsing) and
// calls what was stored.

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace jl::cmd {

class Context;

struct Dispatch {
  // The arguments after the first "--", when there is one (set before parsing).
  std::optional<std::vector<std::string>> passthrough;
  // The command given, set by its parse callback: runs it and returns the exit code.
  std::function<int(Context&)> run;
  // Whether that command takes the arguments after "--" (start and up do).
  bool takes_passthrough = false;
};

}  // namespace jl::cmd
