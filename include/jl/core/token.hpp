#pragma once

#include <string>

namespace jl {

// A new Jupyter token: 24 bytes from the kernel's CSPRNG (getrandom), as 48 hex digits.
// Throws jl::Error if the kernel cannot supply random bytes.
std::string generate_token();

// A short random string for marking lines in remote output (not a secret).
std::string generate_nonce();

}  // namespace jl
