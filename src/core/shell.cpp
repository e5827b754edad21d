#include "jl/core/shell.hpp"

namespace jl::shell {

namespace {

bool is_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ':' || c == '@' || c == '%' || c == '+' ||
         c == ',' || c == '=';
}

}  // namespace

std::string quote(std::string_view word) {
  if (word.empty()) {
    return "''";
  }
  bool safe = true;
  for (char c : word) {
    safe = safe && is_safe(c);
  }
  // A leading '=' or '%' is harmless in sh, but a leading '~' is not and is not in the safe set.
  if (safe) {
    return std::string(word);
  }
  std::string out;
  out.reserve(word.size() + 2);
  out += '\'';
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string join(std::span<const std::string> words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) {
      out += ' ';
    }
    out += quote(w);
  }
  return out;
}

}  // namespace jl::shell
