// Fuzz the readers of a container jl creates: the spec label read back from `docker inspect`
// (anyone who can run docker can write a container's labels), the values of jl up's creation
// options, and what the ensure script reports.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jl/core/container_spec.hpp"
#include "jl/core/create.hpp"

namespace c = jl::container;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // A label jl accepts says the same when written again and read back.
  if (auto spec = c::from_label(input)) {
    auto again = c::from_label(c::to_label(*spec));
    if (!again || !(*again == *spec) || !c::differences(*spec, *again).empty()) {
      __builtin_trap();
    }
  }

  std::string error;
  if (auto gpus = c::parse_gpus(input, &error)) {
    auto back = c::parse_gpus(c::to_string(*gpus), &error);
    if (!back || !(*back == *gpus)) {
      __builtin_trap();
    }
  } else if (error.empty()) {
    __builtin_trap();  // a refusal always says why
  }
  error.clear();
  if (auto volume = c::parse_volume(input, &error)) {
    auto back = c::parse_volume(c::to_string(*volume), &error);
    if (!back || !(*back == *volume) || volume->container.empty() ||
        volume->container.front() != '/') {
      __builtin_trap();
    }
  } else if (error.empty()) {
    __builtin_trap();
  }
  error.clear();
  if (auto user = c::parse_user(input, &error)) {
    auto back = c::parse_user(c::to_string(*user), &error);
    if (!back || !(*back == *user)) {
      __builtin_trap();
    }
  }
  if (auto bytes = c::parse_size(input, &error); bytes && (*bytes < (1LL << 20))) {
    __builtin_trap();
  }
  if (auto kv = c::parse_env(input, &error);
      kv && (kv->first.empty() || kv->second.find('\n') != std::string::npos)) {
    __builtin_trap();
  }
  (void)c::parse_pull(input, &error);
  (void)c::valid_image(input);

  (void)c::parse_ensure(input, "0123456789ab");
  (void)c::no_gpu_runtime(input);
  (void)c::rlimit_refused(input);
  return 0;
}
