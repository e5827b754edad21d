#include "jl/core/error.hpp"

#include <string_view>

namespace jl {

std::string format_error(const Error& e) {
  std::string out = "jl: error: ";
  out += e.what();
  out += '\n';
  std::string_view detail = e.detail();
  while (!detail.empty()) {
    auto nl = detail.find('\n');
    out += "  | ";
    out += detail.substr(0, nl);
    out += '\n';
    detail = nl == std::string_view::npos ? std::string_view{} : detail.substr(nl + 1);
  }
  if (!e.hint().empty()) {
    out += "hint: ";
    out += e.hint();
    out += '\n';
  }
  return out;
}

}  // namespace jl
