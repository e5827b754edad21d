// Fuzz the readers of what jl's remote scripts print: the output of docker, the shell and
// Jupyter, divided by "@@NONCE KIND ARGS" marker lines.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jl/core/probe.hpp"

namespace {

// The nonce the seed corpus and the dictionary are written with.
constexpr std::string_view kNonce = "0123456789ab";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  for (const auto& section : jl::probe::split_sections(input, kNonce)) {
    if (!section.body.empty() && section.body.back() != '\n') {
      __builtin_trap();
    }
    if (section.rest.empty() && !section.args.empty()) {
      __builtin_trap();  // the words come from rest
    }
  }

  auto probe = jl::probe::parse_probe(input, kNonce);
  for (int port : probe.busy_ports) {
    if (port < 1 || port > 65535) {
      __builtin_trap();
    }
  }
  auto start = jl::probe::parse_start(input, kNonce);
  if (start.outcome == jl::probe::StartResult::Outcome::ready && !start.runtime) {
    __builtin_trap();
  }
  auto stop = jl::probe::parse_stop(input, kNonce);
  static_cast<void>(stop);
  static_cast<void>(jl::probe::waiting_for_plan(input, kNonce));
  return 0;
}
