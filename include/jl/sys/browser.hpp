#pragma once

#include <string>
#include <vector>

#include "jl/core/config.hpp"

namespace jl::sys {

// Open `url` in the user's browser: $BROWSER (the URL is its argument), else xdg-open on
// Linux, else open on macOS. Runs detached and never waits for the browser. Returns the
// command used, or an empty string when there is none (the caller then says so).
std::string open_browser(const std::string& url, const Env& env);

// Which command open_browser would run, without running it.
struct BrowserOpener {
  std::vector<std::string> candidates;  // what it would try, in order
  bool from_env = false;                // the candidates come from $BROWSER
  std::string command;                  // the first one found; empty when none is
  std::string path;                     // its full path
  bool needs_display = false;           // xdg-open: nothing opens without an X or Wayland display
};
BrowserOpener find_browser(const Env& env);

}  // namespace jl::sys
