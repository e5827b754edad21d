// Fuzz the readers of what people write: config.json and host arguments (-H, $JL_HOST).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jl/core/config.hpp"
#include "jl/core/error.hpp"
#include "jl/core/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  try {
    auto cfg = jl::parse_config(input, "config.json");
    for (const auto& key : cfg.unknown_keys) {
      if (key == "host" || key == "ssh_config") {
        __builtin_trap();
      }
    }
  } catch (const jl::Error&) {
    // Not a config file: reported to the user.
  }

  try {
    auto spec = jl::parse_host_spec(input);
    if (spec.host.empty() || spec.host.front() == '-' || (spec.user && spec.user->empty()) ||
        (spec.port && (*spec.port < 1 || *spec.port > 65535))) {
      __builtin_trap();
    }
  } catch (const jl::Error&) {
    // Not a host: reported to the user.
  }
  if (auto d = jl::text::parse_duration(input)) {
    // What it reads is 1 s to 30 days, and what jl prints of it reads back as at most as long.
    if (*d < 1 || *d > 30 * 24 * 3600) {
      __builtin_trap();
    }
    auto back = jl::text::parse_duration(jl::text::format_duration(*d));
    if (!back || *back > *d) {
      __builtin_trap();
    }
  }
  return 0;
}
