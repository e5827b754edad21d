#pragma once

namespace jl::cli {

// Parse the command line, run the command, and return the process exit code. Prints errors as
// "jl: error: ..." (plus a hint) on stderr; never throws.
int main(int argc, char** argv, char** envp);

}  // namespace jl::cli
