#pragma once

#include <string>

#include "jl/core/config.hpp"

namespace jl::sys {

// Open `url` in the user's browser: $BROWSER (the URL is its argument), else xdg-open on
// Linux, else open on macOS. Runs detached and never waits for the browser. Returns the
// command used, or an empty string when there is none (the caller then says so).
std::string open_browser(const std::string& url, const Env& env);

}  // namespace jl::sys
