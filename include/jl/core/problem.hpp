#pragma once

// What can be wrong on the remote side, as data, and its words in one table: every command that
// meets a problem (start, doctor, logs, stop, open) says it the same way, with the same fix.
// Modelled on a failure type that carries a statistic: the code decides by the enum, and only
// describe() turns it into text.

#include <string>
#include <string_view>
#include <vector>

#include "jl/core/error.hpp"

namespace jl {

enum class Problem {
  // docker on the host
  docker_missing,            // the docker command is not on the SSH user's PATH
  docker_permission_denied,  // the socket refuses the SSH user
  docker_daemon_down,        // the daemon does not run
  docker_failed,             // any other docker failure (detail: docker's words)
  // the container
  no_such_container,         // nothing by that name (names: the running containers)
  container_gone,            // a container a session was recorded in has gone since
  container_uninspectable,   // docker inspect gave nothing usable (detail)
  container_not_running,     // it exists and is stopped (detail: its status)
  container_stopped_midway,  // it stopped while jl was working in it
  exec_failed,               // docker exec failed (detail: its words)
  no_shell,                  // docker exec found no sh in the image
  no_address,                // the host cannot reach it (detail: the network mode)
  // Jupyter in the container
  jupyter_missing,  // none of jupyter-lab, jupyter-notebook, jupyter-server
  app_missing,      // the app asked for is not there (app; names: what is)
  port_busy,        // the port asked for is taken in the container (port)
  no_free_port,     // none free from 8888 on
  dir_missing,      // --dir does not exist (dir)
  // creating the container (jl up NAME --image IMAGE)
  foreign_stopped,       // it exists, stopped, and jl did not make it (detail: its status)
  image_missing,         // the image is not on the host and --pull never (app: the image)
  pull_failed,           // docker pull failed otherwise (app: the image; detail: docker's words)
  image_unknown,         // the registry has no such image or tag (app, detail)
  registry_unreachable,  // the host cannot reach the image's registry (app, detail)
  registry_login,        // the image's registry wants a login (app, detail)
  no_gpu_runtime,        // docker has no NVIDIA runtime for --gpus (detail: docker's words)
  create_failed,         // docker run failed otherwise (detail: docker's words)
  start_failed,          // docker start of a stopped container failed (detail)
  // the host's GPUs (jl gpus, --gpus free:N)
  no_gpu_driver,     // no nvidia-smi on the host (app: the --gpus value asked for, if any)
  gpu_query_failed,  // nvidia-smi fails (detail: its words; port: its exit status)
  gpus_busy,         // fewer GPUs free than asked (asked, available, total; names: who holds)
};

// What the words of a problem name; each problem reads the fields it needs.
struct Subject {
  std::string host;
  std::string container;
  std::vector<std::string> docker = {"docker"};  // the docker command as configured
  std::string user;                              // the SSH user, when known
  std::string detail;                            // docker's own words, a status, a mode
  std::vector<std::string> names;                // running containers, or installed apps
  std::string app;                               // the executable asked for
  std::string dir;
  int port = 0;
  int asked = 0;      // how many GPUs were asked for
  int available = 0;  // how many are free
  int total = 0;      // how many there are
};

struct Words {
  Exit exit = Exit::remote;
  std::string message;
  std::string hint;
};

// The one table from problem to message, hint and exit code.
Words describe(Problem problem, const Subject& subject);

// The same, as the error a command throws.
Error to_error(Problem problem, const Subject& subject);

// Which problem a failed docker command's words report about its container, if one: none of
// that name (no_such_container), stopped (container_not_running), else docker_failed.
Problem classify_container_error(std::string_view said);

}  // namespace jl
