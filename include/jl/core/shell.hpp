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

// Split a command line made by join() (or any line of plain, single-quoted and
// backslash-escaped words) back into its words. Nothing else of the shell's syntax is
// interpreted.
std::vector<std::string> split(std::string_view line);

// The command line for people (-v): words longer than `max_word` bytes, i.e. the scripts jl
// sends, are shown as "<script: N lines>".
std::string abbreviate(std::string_view line, std::size_t max_word = 80);

}  // namespace jl::shell
