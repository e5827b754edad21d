#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl::text {

// Split on '\n'; a trailing newline does not produce an empty last element.
std::vector<std::string_view> lines(std::string_view s);

// Split on runs of ASCII whitespace; never returns empty fields.
std::vector<std::string_view> fields(std::string_view s);

std::string_view trim(std::string_view s);

// Parse a base-10 integer in [lo, hi]; the whole string must be digits (an optional '-').
std::optional<long long> parse_int(std::string_view s, long long lo, long long hi);

// The last `n` lines of `s`, joined with '\n'.
std::string tail(std::string_view s, std::size_t n);

// The current UTC time in a strftime format, e.g. "%Y-%m-%dT%H:%M:%SZ".
std::string utc_now(const char* format);

// ASCII lower case.
std::string lower(std::string_view s);

// Join with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// A duration as --idle-timeout and the config file take it: whole seconds, or numbers with a
// unit each, largest first ("90", "30m", "1h30m", "2d"), from 1 s to 30 days. Nothing for
// anything else.
std::optional<int> parse_duration(std::string_view s);
// A duration as jl prints it: "45s", "12m", "1h30m", "2d3h" (the two largest units, rounded
// down).
std::string format_duration(long long seconds);

// Rows of cells as aligned columns, two spaces apart, one line each (no final newline); a line
// ends without trailing blanks (an empty last cell).
std::string table(const std::vector<std::vector<std::string>>& rows);

}  // namespace jl::text
