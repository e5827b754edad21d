// Fuzz the reader of what the master's shell helper on the host says (and a batch's answers):
// whatever the channel brings, the reader takes it or calls the stream broken, never more than
// it was given comes out, and the same bytes in any chunks give the same pieces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/helper.hpp"

namespace {

struct Outcome {
  bool ok = true;
  std::string flat;  // the pieces, each with its kind, id and status
  std::size_t bytes = 0;
};

Outcome read(std::string_view data, std::size_t chunk, bool ready_first) {
  jl::helper::Reader reader(ready_first);
  std::vector<jl::helper::Piece> pieces;
  Outcome o;
  for (std::size_t at = 0; at < data.size() && o.ok; at += chunk) {
    o.ok = reader.feed(data.substr(at, chunk), pieces);
  }
  // Consecutive bytes of one part are one stream, however they were cut.
  char last = 0;
  for (const auto& p : pieces) {
    const char kind = "roed"[static_cast<int>(p.kind)];
    if (kind != last || kind == 'r' || kind == 'd') {
      o.flat += '|';
      o.flat += kind;
      o.flat += std::to_string(p.id) + ":" + std::to_string(p.status) + ":";
    }
    last = kind;
    o.flat += p.bytes;
    o.bytes += p.bytes.size();
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  const bool ready_first = (data[0] & 1) != 0;
  const std::size_t chunk = 1 + (data[0] >> 1);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto whole = read(text, text.size() + 1, ready_first);
  const auto cut = read(text, chunk, ready_first);
  if (whole.bytes > text.size()) {
    __builtin_trap();  // more out than in
  }
  if (whole.ok && cut.ok && whole.flat != cut.flat) {
    __builtin_trap();  // chunks changed what was read
  }
  if (whole.ok != cut.ok) {
    __builtin_trap();
  }
  (void)jl::helper::parse_batch(text, data[0] % 8);
  return 0;
}
