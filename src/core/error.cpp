#include "jl/core/error.hpp"

#include <string_view>

namespace jl {

namespace {

// One line, whatever the message quotes: control characters are shown escaped, so that a name
// with a newline cannot forge a second "jl: error:" or "hint:" line.
std::string one_line(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string format_error(const Error& e) {
  std::string out = "jl: error: ";
  out += one_line(e.what());
  out += '\n';
  std::string_view detail = e.detail();
  while (!detail.empty()) {
    auto nl = detail.find('\n');
    out += "  | ";
    out += one_line(detail.substr(0, nl));
    out += '\n';
    detail = nl == std::string_view::npos ? std::string_view{} : detail.substr(nl + 1);
  }
  if (!e.hint().empty()) {
    out += "hint: ";
    out += one_line(e.hint());
    out += '\n';
  }
  return out;
}

}  // namespace jl
