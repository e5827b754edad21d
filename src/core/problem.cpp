#include "jl/core/problem.hpp"

#include <fmt/format.h>

#include "jl/core/pull.hpp"
#include "jl/core/text.hpp"

namespace jl {

namespace {

std::string list_or_none(const std::vector<std::string>& names) {
  return names.empty() ? std::string("none") : text::join(names, ", ");
}

std::string last_line(const std::string& said) {
  return text::tail(said, 1);
}

// The docker command as the user would type it on the host.
std::string docker_of(const Subject& s) {
  return s.docker.empty() ? std::string("docker") : text::join(s.docker, " ");
}

constexpr const char* kInstallJupyter =
    "install JupyterLab in the image (e.g. pip install jupyterlab)";

}  // namespace

Words describe(Problem problem, const Subject& s) {
  switch (problem) {
    case Problem::docker_missing:
      return {Exit::remote,
              fmt::format("{} is not installed on {} (not on the PATH of the SSH user)",
                          s.docker.empty() ? "docker" : s.docker.front(), s.host),
              s.docker == std::vector<std::string>{"docker"}
                  ? "install Docker on the host, or add its directory to PATH for "
                    "non-interactive SSH sessions"
                  : fmt::format("check the docker command ({}): jl config show", docker_of(s))};
    case Problem::docker_permission_denied:
      return {
          Exit::remote,
          fmt::format("permission denied talking to docker on {}: {}", s.host, last_line(s.detail)),
          fmt::format("add {} to the docker group on the host (sudo usermod -aG docker {}), "
                      "then log in again",
                      s.user.empty() ? "the SSH user" : s.user, s.user.empty() ? "USER" : s.user)};
    case Problem::docker_daemon_down:
      return {
          Exit::remote,
          fmt::format("the docker daemon on {} is not running: {}", s.host, last_line(s.detail)),
          "start it on the host (e.g. sudo systemctl start docker)"};
    case Problem::docker_failed:
      return {
          Exit::remote, fmt::format("docker failed on {}: {}", s.host, last_line(s.detail)), {}};
    case Problem::no_such_container:
      return {Exit::remote,
              fmt::format("no container named '{}' on {}; running containers: {}", s.container,
                          s.host, list_or_none(s.names)),
              "check the name with `docker ps` on the host"};
    case Problem::container_gone:
      return {Exit::remote,
              fmt::format("there is no container '{}' on {} any more", s.container, s.host),
              fmt::format("forget the session with: jl stop {}", s.container)};
    case Problem::container_uninspectable:
      return {Exit::remote,
              fmt::format("could not inspect container '{}' on {}", s.container, s.host),
              last_line(s.detail)};
    case Problem::container_not_running:
      return {Exit::remote,
              fmt::format("container '{}' on {} is not running{}", s.container, s.host,
                          s.detail.empty() ? "" : " (status: " + s.detail + ")"),
              fmt::format("start it on the host: {} start {} (or have jl start it: jl up {} "
                          "--start-container)",
                          docker_of(s), s.container, s.container)};
    case Problem::container_stopped_midway:
      return {Exit::remote,
              fmt::format("container '{}' on {} stopped while jl was working in it", s.container,
                          s.host),
              fmt::format("start it again ({} start {}) and retry", docker_of(s), s.container)};
    case Problem::exec_failed:
      return {Exit::remote,
              fmt::format("cannot run a command in container '{}' on {}: {}", s.container, s.host,
                          s.detail.empty() ? "docker exec failed" : last_line(s.detail)),
              "check the container (docker ps -a): it may have stopped meanwhile"};
    case Problem::no_shell:
      return {Exit::remote,
              fmt::format("cannot run a command in container '{}' on {}: {}", s.container, s.host,
                          s.detail.empty() ? "docker exec failed" : last_line(s.detail)),
              "jl runs sh in the container: the image needs a POSIX shell"};
    case Problem::no_address:
      return {Exit::remote,
              fmt::format("container '{}' has no IP address the host can reach (network mode "
                          "'{}')",
                          s.container, s.detail),
              "run the container on a bridge network or with --network host"};
    case Problem::jupyter_missing:
      return {Exit::remote,
              fmt::format("Jupyter is not installed in container '{}' (no jupyter-lab, "
                          "jupyter-notebook or jupyter-server on its PATH)",
                          s.container),
              kInstallJupyter};
    case Problem::app_missing:
      return {Exit::remote,
              fmt::format("{} is not installed in container '{}'; it has: {}", s.app, s.container,
                          list_or_none(s.names)),
              s.names.empty() ? std::string(kInstallJupyter)
                              : fmt::format("use --app {} (or --app auto)", s.names.front())};
    case Problem::port_busy:
      return {Exit::remote,
              fmt::format("port {} is already in use inside container '{}'", s.port, s.container),
              "choose another with --port, or leave --port out and jl picks a free one"};
    case Problem::no_free_port:
      return {Exit::remote, fmt::format("no free port in container '{}'", s.container), {}};
    case Problem::dir_missing:
      return {Exit::remote,
              fmt::format("directory '{}' does not exist in container '{}'", s.dir, s.container),
              "pass an existing directory with --dir"};
    case Problem::foreign_stopped:
      return {Exit::remote,
              fmt::format("container '{}' on {} is not running (status: {}), and jl did not create "
                          "it",
                          s.container, s.host, s.detail.empty() ? "unknown" : s.detail),
              fmt::format("start it with --start-container, or on the host: {} start {}",
                          docker_of(s), s.container)};
    case Problem::image_missing:
      return {Exit::remote,
              fmt::format("image '{}' is not on {}, and --pull never forbids pulling it", s.app,
                          s.host),
              "leave out --pull never (or use --pull missing), or pull it on the host"};
    case Problem::pull_failed:
      return {Exit::remote,
              fmt::format("cannot pull image '{}' on {}: {}", s.app, s.host,
                          s.detail.empty() ? "docker pull failed" : last_line(s.detail)),
              "check the image's name and tag, and that the host reaches its registry (and is "
              "logged in to it: docker login REGISTRY)"};
    case Problem::image_unknown:
      return {Exit::remote,
              fmt::format("cannot pull image '{}' on {}: {} has no such image or tag ({})", s.app,
                          s.host, pull::registry_of(s.app), last_line(s.detail)),
              fmt::format("check the image's name and tag; the registry is the first part of "
                          "IMAGE ({}), Docker Hub when it names none",
                          pull::registry_of(s.app))};
    case Problem::registry_unreachable:
      return {Exit::remote,
              fmt::format("cannot pull image '{}' on {}: the registry {} cannot be reached from "
                          "there ({})",
                          s.app, s.host, pull::registry_of(s.app), last_line(s.detail)),
              fmt::format("check that {} runs and that {} reaches it (address, port, proxy, "
                          "TLS): {} pull {} on the host says the same",
                          pull::registry_of(s.app), s.host, docker_of(s), s.app)};
    case Problem::registry_login:
      return {Exit::remote,
              fmt::format("cannot pull image '{}' on {}: the registry {} wants a login ({})", s.app,
                          s.host, pull::registry_of(s.app), last_line(s.detail)),
              fmt::format("log in to it on the host, as the SSH user: {} login {}", docker_of(s),
                          pull::registry_of(s.app))};
    case Problem::no_gpu_runtime:
      return {Exit::remote,
              fmt::format("docker on {} cannot give the container GPUs: {}", s.host,
                          s.detail.empty() ? "no NVIDIA runtime" : last_line(s.detail)),
              "install the NVIDIA Container Toolkit on the host (nvidia-ctk runtime configure "
              "--runtime=docker, then restart docker), or leave out --gpus"};
    case Problem::create_failed:
      return {Exit::remote,
              fmt::format("cannot create container '{}' on {}: {}", s.container, s.host,
                          s.detail.empty() ? "docker run failed" : last_line(s.detail)),
              {}};
    case Problem::start_failed:
      return {
          Exit::remote,
          fmt::format("cannot start container '{}' on {}: {}", s.container, s.host,
                      s.detail.empty() ? "docker start failed" : last_line(s.detail)),
          fmt::format("look at the container on the host: {} logs {}", docker_of(s), s.container)};
    case Problem::no_gpu_driver:
      return {
          Exit::remote,
          fmt::format("no NVIDIA driver on {} (nvidia-smi is not on the SSH user's PATH)", s.host),
          s.app.empty()
              ? std::string("install the NVIDIA driver on the host (nvidia-smi comes with it)")
              : fmt::format("install the NVIDIA driver on the host, or leave out --gpus {}",
                            s.app)};
    case Problem::gpu_query_failed:
      return {Exit::remote,
              fmt::format("nvidia-smi fails on {}{}: {}", s.host,
                          s.port != 0 ? fmt::format(" (exit {})", s.port) : std::string{},
                          s.detail.empty() ? "no output" : last_line(s.detail)),
              "check the NVIDIA driver on the host: nvidia-smi there says more"};
    case Problem::gpus_busy:
      if (s.total == 0) {
        return {Exit::remote,
                fmt::format("{} has an NVIDIA driver but no GPU (nvidia-smi: No devices were "
                            "found), and --gpus free:{} asks for {}",
                            s.host, s.asked, s.asked),
                "check the GPUs on the host (nvidia-smi there), or leave out --gpus"};
      }
      return {
          Exit::remote,
          fmt::format("{} of {} GPU{} on {} {} free, and --gpus free:{} asks for {}{}", s.available,
                      s.total, s.total == 1 ? "" : "s", s.host, s.available == 1 ? "is" : "are",
                      s.asked, s.asked,
                      s.names.empty() ? std::string{} : "; in use: " + text::join(s.names, "; ")),
          s.available > 0 ? fmt::format("ask for fewer (--gpus free:{}), name the devices "
                                        "(--gpus 0,2), or wait; jl gpus shows who holds them",
                                        s.available)
                          : std::string("name the devices to share (--gpus 0,2), or wait; jl "
                                        "gpus shows who holds them")};
  }
  return {Exit::other, "unknown problem", {}};
}

Error to_error(Problem problem, const Subject& subject) {
  auto w = describe(problem, subject);
  return Error(w.exit, w.message, w.hint);
}

Problem classify_container_error(std::string_view said) {
  if (said.find("No such container") != std::string_view::npos ||
      said.find("No such object") != std::string_view::npos) {
    return Problem::no_such_container;
  }
  if (said.find("is not running") != std::string_view::npos) {
    return Problem::container_not_running;
  }
  return Problem::docker_failed;
}

}  // namespace jl
