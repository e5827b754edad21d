// Fuzz the reader of the Jupyter server's HTTP responses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jl/core/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto response = jl::http::parse_response(input);
  if (response && (response->status < 100 || response->status > 999)) {
    __builtin_trap();
  }
  // A reader stops reading once the response is complete, and then must be able to parse it.
  if (jl::http::response_complete(input) && !response) {
    __builtin_trap();
  }
  return 0;
}
