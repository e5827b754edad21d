// Fuzz the reader of what `docker pull` prints on a terminal (its progress lines, redrawn with
// cursor escapes, and whatever a host's shell or sudo says around them), fed whole and in
// chunks split at every place the input's first byte picks, and the size and error readers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jl/core/pull.hpp"

namespace {

void check(const jl::pull::Progress& p) {
  if (p.layers < 0 || p.layers_done < 0 || p.layers_done > p.layers || p.bytes_done < 0 ||
      p.bytes_total < 0) {
    __builtin_trap();
  }
  if (auto f = jl::pull::fraction(p); f && (*f < 0 || *f > 1)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Whole, then in chunks: the same report either way.
  jl::pull::Reader whole("0123456789ab");
  whole.feed(input);
  whole.finish();
  check(whole.report().progress);
  (void)jl::pull::describe(whole.report().progress);
  (void)whole.report().reason();

  const std::size_t step = size == 0 ? 1 : 1 + static_cast<unsigned char>(input[0]) % 64;
  jl::pull::Reader chunks("0123456789ab");
  int changes = 0;
  for (std::size_t at = 0; at < size; at += step) {
    chunks.feed(input.substr(at, step));
    check(chunks.report().progress);
    if (chunks.changes() < changes) {
      __builtin_trap();  // the count of changes only grows
    }
    changes = chunks.changes();
  }
  chunks.finish();
  const auto& a = whole.report();
  const auto& b = chunks.report();
  if (!(a.progress == b.progress) || a.rc != b.rc || a.digest != b.digest ||
      a.started != b.started || a.layers.size() != b.layers.size()) {
    __builtin_trap();
  }

  if (auto bytes = jl::pull::parse_size(input); bytes && *bytes < 0) {
    __builtin_trap();
  }
  (void)jl::pull::classify(input);
  (void)jl::pull::registry_of(input);
  return 0;
}
