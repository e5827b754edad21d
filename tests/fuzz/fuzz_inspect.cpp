// Fuzz the reader of `docker inspect` output, and the choice of the server's address from it.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "jl/core/probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  jl::probe::ContainerInfo info;
  try {
    info = jl::probe::parse_inspect(input);
  } catch (const std::runtime_error&) {
    return 0;  // not a container object
  }
  if (info.id.empty() && info.name.empty()) {
    __builtin_trap();
  }
  for (const auto& [network, ip] : info.networks) {
    if (ip.empty()) {
      __builtin_trap();
    }
  }
  if (auto address = jl::probe::server_address(info); address && address->empty()) {
    __builtin_trap();
  }
  return 0;
}
