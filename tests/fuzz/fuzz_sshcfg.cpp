// Fuzz jl's reader of the user's ssh config (ssh_config(5) syntax, Host and Match blocks,
// Include), the Host pattern matcher, and the Host names offered for completion. Includes are
// served from the input itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jl/core/ssh_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> keys = {
      "hostname",           "port", "user", "stricthostkeychecking", "serveraliveinterval",
      "serveralivecountmax"};
  // Every Include reads the same text again: the depth limit must stop the recursion.
  int reads = 0;
  auto reader = [&](const std::string&) -> std::optional<std::string> {
    ++reads;
    return text;
  };
  auto globber = [](const std::string& p) { return std::vector<std::string>{p, p}; };
  for (const char* alias : {"gpubox", "a.b-c", "x"}) {
    auto r = jl::sshcfg::evaluate(text, alias, keys, reader, globber);
    for (const auto& [key, value] : r.values) {
      bool asked = false;
      for (const auto& k : keys) {
        asked = asked || k == key;
      }
      if (!asked) {
        __builtin_trap();  // only what was asked for comes back
      }
    }
    auto ka = jl::sshcfg::parse_keepalive(r);
    if (ka.interval_s < 1 || ka.count_max < 1) {
      __builtin_trap();  // a tunnel always keeps a dead-peer check
    }
    jl::sshcfg::parse_host_key_policy(r.get("stricthostkeychecking").value_or(""));
  }
  if (reads > 3 * 64) {
    __builtin_trap();  // Include recursion is bounded
  }
  jl::sshcfg::host_matches(text, "gpubox");
  // Completion's host list: plain names only, each once, and Include bounded the same way.
  reads = 0;
  auto names = jl::sshcfg::host_names(text, reader, globber);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty() || names[i].find_first_of("*?!,") != std::string::npos) {
      __builtin_trap();
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) {
        __builtin_trap();
      }
    }
  }
  if (reads > 64) {
    __builtin_trap();
  }
  return 0;
}
