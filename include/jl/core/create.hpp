#pragma once

// Making sure a container exists and runs, as data: the command that looks for it, starts it
// when stopped (if asked), else creates it from an image (or says that the pull policy wants the
// image pulled first: jl pulls it as a step of its own, core/pull, then runs the command again
// with Pull::never), and the parser of its report. Nothing here talks to the network.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/container_spec.hpp"

namespace jl::container {

struct EnsureReport {
  bool docker_missing = false;
  // It exists already:
  bool exists = false;
  std::string status;           // running, exited, created, paused, ...
  bool made_by_jl = false;      // it carries jl's label
  std::string spec_label;       // the spec jl made it from (empty when not jl's)
  std::optional<int> start_rc;  // it was stopped and `docker start` ran
  std::string start_output;
  // docker inspect failed otherwise (not "No such container"):
  std::optional<int> inspect_rc;
  std::string inspect_output;
  // It did not exist:
  bool missing = false;
  std::optional<bool> image_present;  // whether the image is there
  bool pull_needed = false;           // the pull policy wants a pull first (nothing was created)
  std::optional<int> run_rc;          // `docker run` ran
  std::string run_output;             // the new container's id, or docker's complaint
  bool complete = false;              // the script got to its end
};

// The command (for the host's shell) that makes sure container `name` exists and runs. `image`
// empty: never create. `start_stopped`: start it when it exists and is stopped. `run_args` are
// what follows the docker command to create it (run_arguments: `run` and its arguments; empty:
// a missing container is only reported, nothing is pulled or created, so that the caller can
// choose how to create it and ask again);
// `docker` the docker command as words (not empty: std::invalid_argument).
// A stopped container is started when `start_stopped`, or when jl made it and `image` is given.
std::string ensure_command(std::string_view nonce, const std::string& name,
                           const std::string& image, Pull pull, bool start_stopped,
                           const std::vector<std::string>& docker,
                           const std::vector<std::string>& run_args);
EnsureReport parse_ensure(std::string_view output, std::string_view nonce);

// `docker inspect` of `name` printing the value of jl's made-by label ("jl" for a container jl
// made), and `docker rm -f` of it (never -v: its volumes stay). `docker` as words, not empty.
std::string made_by_command(const std::string& name, const std::vector<std::string>& docker);
std::string remove_command(const std::string& name, const std::vector<std::string>& docker);

// Whether docker's words say that it has no NVIDIA runtime for --gpus (as `docker run --gpus`
// answers on a host without the NVIDIA Container Toolkit).
bool no_gpu_runtime(std::string_view docker_said);

// Whether docker's words say that the host refused to raise a resource limit (a host or a
// rootless docker without CAP_SYS_RESOURCE cannot give `--ulimit memlock=-1`).
bool rlimit_refused(std::string_view docker_said);

// The same arguments without the unlimited memlock (for such a host).
std::vector<std::string> without_memlock(const std::vector<std::string>& run_args);

}  // namespace jl::container
