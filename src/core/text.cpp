#include "jl/core/text.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace jl::text {

std::vector<std::string_view> lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto nl = s.find('\n');
    if (nl == std::string_view::npos) {
      out.push_back(s);
      break;
    }
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  return out;
}

namespace {
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
}  // namespace

std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
    std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) {
      ++i;
    }
    if (i > start) {
      out.push_back(s.substr(start, i - start));
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<long long> parse_int(std::string_view s, long long lo, long long hi) {
  if (s.empty()) {
    return std::nullopt;
  }
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

std::string tail(std::string_view s, std::size_t n) {
  auto all = lines(s);
  std::size_t first = all.size() > n ? all.size() - n : 0;
  std::string out;
  for (std::size_t i = first; i < all.size(); ++i) {
    if (i > first) {
      out += '\n';
    }
    out += all[i];
  }
  return out;
}

std::string utc_now(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += sep;
    }
    out += parts[i];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::optional<int> parse_duration(std::string_view s) {
  constexpr long long kMax = 30LL * 24 * 3600;
  if (s.empty()) {
    return std::nullopt;
  }
  if (auto plain = parse_int(s, 1, kMax); plain && s.front() != '-') {
    return static_cast<int>(*plain);
  }
  // Units in order, each at most once: d, h, m, s.
  constexpr std::string_view kUnits = "dhms";
  constexpr long long kScale[] = {24 * 3600, 3600, 60, 1};
  std::size_t next_unit = 0;
  long long total = 0;
  while (!s.empty()) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') {
      ++digits;
    }
    if (digits == 0 || digits > 7 || digits == s.size()) {
      return std::nullopt;
    }
    const auto unit = kUnits.find(s[digits], next_unit);
    if (unit == std::string_view::npos) {
      return std::nullopt;
    }
    total += *parse_int(s.substr(0, digits), 0, 9'999'999) * kScale[unit];
    if (total > kMax) {
      return std::nullopt;
    }
    next_unit = unit + 1;
    s.remove_prefix(digits + 1);
  }
  if (total < 1) {
    return std::nullopt;
  }
  return static_cast<int>(total);
}

std::string format_duration(long long seconds) {
  if (seconds < 0) {
    seconds = 0;
  }
  constexpr std::string_view kUnits = "dhms";
  constexpr long long kScale[] = {24 * 3600, 3600, 60, 1};
  std::string out;
  int shown = 0;
  for (std::size_t i = 0; i < kUnits.size() && shown < 2; ++i) {
    const long long n = seconds / kScale[i];
    seconds %= kScale[i];
    if (n > 0 || shown > 0) {
      if (n > 0) {
        out += std::to_string(n);
        out += kUnits[i];
      }
      ++shown;
    }
  }
  return out.empty() ? "0s" : out;
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) {
        line += std::string(width[i] - r[i].size() + 2, ' ');
      }
    }
    while (line.ends_with(' ')) {
      line.pop_back();  // an empty last cell
    }
    out += line;
    out += '\n';
  }
  if (!out.empty()) {
    out.pop_back();
  }
  return out;
}

}  // namespace jl::text
