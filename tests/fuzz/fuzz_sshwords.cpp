// Fuzz the rewording of libssh's error texts (parts of which come from the server: reasons,
// disconnect messages, algorithm lists, banners).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jl/core/ssh_words.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const std::string words = jl::sshwords::describe(input);
  if (words.empty()) {
    __builtin_trap();
  }
  if (auto f = jl::sshwords::parse_channel_open_failure(input)) {
    // A channel failure is always reworded (the reason after it is the server's own text).
    if (!words.starts_with("the SSH server could not open the channel: ")) {
      __builtin_trap();
    }
    const std::string placed = jl::sshwords::describe_open_failure(*f, "10.0.0.1", 8888, "in c");
    if (placed.find("10.0.0.1:8888 in c") == std::string::npos) {
      __builtin_trap();
    }
  }
  return 0;
}
