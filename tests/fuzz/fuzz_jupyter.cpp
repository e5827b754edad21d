// Fuzz the readers of what Jupyter and the kernel leave in a container: runtime files
// (jpserver-PID.json, nbserver-PID.json), the text of /proc/net/tcp, the answer of GET
// api/status with its Date header, and the end of Jupyter's log.
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

  // The first line as the Date header, the rest as the body.
  const auto nl = input.find('\n');
  const auto date = input.substr(0, nl == std::string_view::npos ? 0 : nl);
  const auto body = nl == std::string_view::npos ? input : input.substr(nl + 1);
  const auto activity = jl::jupyter::parse_activity(body, date, 1'700'000'000);
  if ((activity.idle_s && *activity.idle_s < 0) || activity.kernels < -1 ||
      activity.connections < -1) {
    __builtin_trap();
  }
  if (auto t = jl::jupyter::parse_iso8601(input); t && *t < 0) {
    __builtin_trap();
  }
  if (auto t = jl::jupyter::parse_http_date(input); t && (*t < 0 || input.size() != 29)) {
    __builtin_trap();
  }
  if (auto idle = jl::jupyter::idle_shutdown(input);
      idle && (*idle < 0 || input.find("; shutting down.") == std::string_view::npos)) {
    __builtin_trap();
  }
  return 0;
}
