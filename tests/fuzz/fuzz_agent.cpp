// Fuzz what jl reads from other programs at the SSH layer: the ssh-agent protocol (the user's
// agent's answers pass through jl's filter), certificate and base64 blobs, and the stream a
// login shell prints before the bootstrap's marker.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/agent.hpp"
#include "jl/core/shell.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t step = size == 0 ? 1 : 1 + static_cast<std::uint8_t>(input[0]) % 17;

  // Agent messages, fed in pieces.
  jl::agent::Reader reader;
  std::vector<jl::agent::Message> got;
  for (std::size_t at = 0; at < size; at += step) {
    if (!reader.feed(input.substr(at, step))) {
      break;
    }
    while (auto m = reader.next()) {
      if (m->payload.size() + 1 > jl::agent::kMaxMessage) {
        __builtin_trap();
      }
      got.push_back(std::move(*m));
    }
  }
  std::vector<std::string> wanted;
  for (const auto& m : got) {
    if (auto ids = jl::agent::parse_identities(m.payload)) {
      // A well-formed answer is rebuilt byte for byte.
      if (jl::agent::identities_payload(*ids) != m.payload) {
        __builtin_trap();
      }
      if (!ids->empty()) {
        wanted.push_back(jl::agent::base64(ids->front().blob));
      }
      const auto only = jl::agent::choose(*ids, wanted, true);
      const auto all = jl::agent::choose(*ids, wanted, false);
      if (only.size() > all.size() || all.size() > ids->size()) {
        __builtin_trap();
      }
    }
    (void)jl::agent::sign_request_key(m.payload);
  }

  // Base64: what decodes re-encodes to a canonical form that decodes to the same bytes.
  if (auto bytes = jl::agent::unbase64(input)) {
    if (jl::agent::unbase64(jl::agent::base64(*bytes)) != bytes) {
      __builtin_trap();
    }
  }
  const std::size_t half = size / 2;
  (void)jl::agent::certifies(input.substr(0, half), input.substr(half));

  // The login's noise and the bootstrap's marker.
  jl::shell::BootFilter filter;
  std::string passed;
  for (std::size_t at = 0; at < size; at += step) {
    passed += filter.feed(input.substr(at, step));
  }
  const bool has_marker = input.find(jl::shell::kBootMarker) != std::string_view::npos;
  if (filter.started() != has_marker) {
    __builtin_trap();
  }
  if (filter.started()) {
    // What passes is exactly what follows the first marker.
    const auto first = input.find(jl::shell::kBootMarker);
    if (passed != input.substr(first + jl::shell::kBootMarker.size())) {
      __builtin_trap();
    }
  } else if (!passed.empty()) {
    __builtin_trap();
  }
  return 0;
}
