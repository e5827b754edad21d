// Fuzz the reader of the state file, and check that whatever it accepts survives a round trip
// through the writer unchanged.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "jl/core/state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  jl::State state;
  try {
    state = jl::parse_state(input);
  } catch (const std::runtime_error&) {
    return 0;  // not a state file: jl says so and starts afresh
  }
  const std::string text = jl::serialize_state(state);
  jl::State again;
  try {
    again = jl::parse_state(text);
  } catch (const std::runtime_error&) {
    __builtin_trap();  // jl cannot read what it wrote
  }
  if (!(again.sessions == state.sessions) || !(again.forwards == state.forwards)) {
    __builtin_trap();
  }
  if (jl::serialize_state(again) != text) {
    __builtin_trap();
  }
  return 0;
}
