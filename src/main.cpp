#include "jl/cli/cli.hpp"

int main(int argc, char** argv, char** envp) {
  return jl::cli::main(argc, argv, envp);
}
