#pragma once

// Random strings from the OS's CSPRNG:
//   - Linux: getrandom;
//   - macOS: getentropy (at most 256 bytes a call);
//   - elsewhere: /dev/urandom.

#include <cstddef>
#include <string>

namespace jl::sys {

// Fill `out` with `size` random bytes. Throws jl::Error if the OS cannot supply them.
void random_bytes(unsigned char* out, std::size_t size);

// A new Jupyter token: 24 random bytes as 48 hex digits. Throws jl::Error as above.
std::string generate_token();

// A short random string for marking lines in remote output (not a secret).
std::string generate_nonce();

}  // namespace jl::sys
