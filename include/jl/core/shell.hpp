#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jl::shell {

// Quote one word for a POSIX shell so that it reaches the command as exactly this word.
// Words made only of safe characters are returned unchanged; everything else is
// single-quoted, with embedded single quotes written as '\''.
std::string quote(std::string_view word);

// Quote every word and join them with single spaces into one command line.
std::string join(std::span<const std::string> words);

}  // namespace jl::shell
