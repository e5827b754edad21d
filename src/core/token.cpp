#include "jl/core/token.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "jl/core/error.hpp"

namespace jl {

namespace {

template <std::size_t N>
std::string random_hex() {
  std::array<unsigned char, N> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(Exit::other, std::string("cannot get random bytes: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(N * 2);
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

}  // namespace

std::string generate_token() {
  return random_hex<24>();
}
std::string generate_nonce() {
  return random_hex<6>();
}

}  // namespace jl
