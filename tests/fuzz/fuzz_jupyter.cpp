// Fuzz the readers of what Jupyter and the kernel leave in a container: runtime files
// (jpserver-PID.json, nbserver-PID.json) and the text of /proc/net/tcp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jl/core/jupyter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The file name decides only whether the file is notebook 6's; let the input's length pick.
  const std::string_view path = size % 2 == 0
                                    ? "/root/.local/share/jupyter/runtime/jpserver-14.json"
                                    : "/home/jovyan/.local/share/jupyter/runtime/nbserver-7.json";
  std::string why;
  if (auto info = jl::jupyter::parse_runtime_file(input, path, &why)) {
    if (info->pid <= 0 || info->port < 0 || info->port > 65535 ||
        (info->port == 0 && info->sock.empty()) || info->base_url.empty() ||
        info->base_url.front() != '/' || info->base_url.back() != '/' || info->file != path) {
      __builtin_trap();
    }
  } else if (why.empty()) {
    __builtin_trap();  // a refusal always says why
  }

  for (int port : jl::jupyter::listening_ports(input)) {
    if (port < 1 || port > 65535) {
      __builtin_trap();
    }
  }
  return 0;
}
