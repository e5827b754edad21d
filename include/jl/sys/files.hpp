#pragma once

// Whole files and advisory locks: the one reader and the one flock wrapper every layer uses.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jl/sys/fd.hpp"

namespace jl::sys {

// Read an open file to its end (at most 16 MiB); false on a read error (errno says why).
bool read_all(int fd, std::string& text);

// A whole file, or nothing when it cannot be opened or read.
std::optional<std::string> read_file(const std::string& path);

// Try to take an flock on `fd` without waiting. busy: another open file description holds it.
enum class LockTry { locked, busy, failed };
LockTry try_flock(int fd, bool exclusive);

// A pipe, both ends close-on-exec (Linux: pipe2; elsewhere pipe, then fcntl): {read, write},
// or invalid Fds with errno set.
std::pair<Fd, Fd> make_pipe();

// The descriptors open in this process from `first` on. Called first thing, it lists what the
// process inherited (a caller's lock, the write end of a pipe someone reads to its end), which
// a background tunnel must not keep open.
std::vector<int> open_descriptors(int first);

}  // namespace jl::sys
