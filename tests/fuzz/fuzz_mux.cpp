// Fuzz what a master reads from a command and a command from a master (connection sharing):
// whatever a request or reply line says, the readers answer or refuse, and whatever they
// accept survives a round trip through the writers unchanged. Lines fed in any chunks come out
// the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/mux.hpp"

namespace {

bool same(const jl::mux::Request& a, const jl::mux::Request& b) {
  return a.op == b.op && a.command == b.command && a.pty == b.pty && a.host == b.host &&
         a.port == b.port && a.keep == b.keep && a.lock == b.lock &&
         a.forward.kind == b.forward.kind && a.forward.host == b.forward.host &&
         a.forward.name == b.forward.name && a.forward.lock == b.forward.lock &&
         a.forward.log == b.forward.log && a.forward.target_host == b.forward.target_host &&
         a.forward.target_port == b.forward.target_port &&
         a.forward.base_url == b.forward.base_url && a.forward.token == b.forward.token;
}

bool valid_utf8(std::string_view s) {
  // The writer replaces what is not UTF-8, so only such input must survive unchanged.
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) {
        return false;
      }
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::string why;
  if (auto r = jl::mux::decode_request(input, &why)) {
    const std::string line = jl::mux::encode(*r);
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) {
      __builtin_trap();  // a request is one line
    }
    auto again = jl::mux::decode_request(std::string_view(line).substr(0, line.size() - 1), &why);
    if (!again || (valid_utf8(input) && !same(*r, *again))) {
      __builtin_trap();
    }
  } else if (why.empty()) {
    __builtin_trap();  // a refusal says why
  }

  if (auto reply = jl::mux::decode_reply(input, &why)) {
    const std::string line = jl::mux::encode(*reply);
    auto again = jl::mux::decode_reply(std::string_view(line).substr(0, line.size() - 1), &why);
    if (!again || again->ended != reply->ended || again->exit_status != reply->exit_status ||
        again->pong != reply->pong) {
      __builtin_trap();
    }
  }

  // The same bytes in one piece and in pieces of every size give the same lines.
  jl::mux::LineReader whole;
  const bool whole_ok = whole.feed(input);
  std::vector<std::string> lines;
  while (auto l = whole.next()) {
    lines.push_back(*l);
  }
  const std::size_t step = size == 0 ? 1 : (data[0] % 7) + 1;
  jl::mux::LineReader pieces;
  bool pieces_ok = true;
  std::vector<std::string> got;
  for (std::size_t i = 0; i < size; i += step) {
    pieces_ok = pieces.feed(input.substr(i, step)) && pieces_ok;
    while (auto l = pieces.next()) {
      got.push_back(*l);
    }
  }
  if (whole_ok && pieces_ok && got != lines) {
    __builtin_trap();
  }
  return 0;
}
