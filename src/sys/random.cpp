#include "jl/sys/random.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "jl/core/error.hpp"
#include "jl/sys/fd.hpp"
#include "os.hpp"

#if JL_SYS_LINUX || JL_SYS_MACOS
#include <sys/random.h>
#endif

namespace jl::sys {

namespace {

[[noreturn]] void fail(int err) {
  throw Error(Exit::other, std::string("cannot get random bytes: ") + std::strerror(err));
}

template <std::size_t N>
std::string random_hex() {
  std::array<unsigned char, N> bytes{};
  random_bytes(bytes.data(), bytes.size());
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

void random_bytes(unsigned char* out, std::size_t size) {
#if JL_SYS_LINUX
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::getrandom(out + got, size - got, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail(errno);
    }
    got += static_cast<std::size_t>(n);
  }
#elif JL_SYS_MACOS
  for (std::size_t done = 0; done < size;) {
    const std::size_t chunk = size - done < 256 ? size - done : 256;
    if (::getentropy(out + done, chunk) != 0) {
      fail(errno);
    }
    done += chunk;
  }
#else
  Fd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    fail(errno);
  }
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd.get(), out + got, size - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      fail(n < 0 ? errno : EIO);
    }
    got += static_cast<std::size_t>(n);
  }
#endif
}

std::string generate_token() {
  return random_hex<24>();
}

std::string generate_nonce() {
  return random_hex<6>();
}

}  // namespace jl::sys
