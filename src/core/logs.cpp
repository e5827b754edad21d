#include "jl/core/logs.hpp"

#include <stdexcept>

#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::logs {

std::string command(std::string_view nonce, std::string_view container, std::string_view log_file,
                    int lines, bool follow, const std::vector<std::string>& docker) {
  if (lines < 0) {
    throw std::invalid_argument("a negative number of lines");
  }
  std::vector<std::string> words = probe::docker_words(docker);
  for (std::string w :
       {std::string("exec"), std::string("-i"), std::string(container), std::string("sh"),
        std::string("-c"), std::string(scripts::logs()), std::string("jl"), std::string(nonce),
        std::string(log_file), std::to_string(lines), std::string(follow ? "1" : "0")}) {
    words.push_back(std::move(w));
  }
  return shell::join(words) + " 2>&1";
}

void Reader::line(std::string_view l, std::vector<std::string>& out) {
  auto at = l.find(m_marker);
  if (at != std::string_view::npos) {
    // A log whose last line has no newline runs into the end marker.
    if (at > 0 && m_outcome == Outcome::streaming) {
      out.emplace_back(l.substr(0, at));
    }
    auto rest = l.substr(at + m_marker.size());
    auto kind = rest.substr(0, rest.find(' '));
    if (kind == "begin") {
      m_outcome = Outcome::streaming;
    } else if (kind == "end") {
      m_outcome = Outcome::ended;
    } else if (kind == "missing") {
      m_outcome = Outcome::missing;
    } else if (kind == "unreadable") {
      m_outcome = Outcome::unreadable;
      m_user = kind.size() < rest.size() ? std::string(rest.substr(kind.size() + 1)) : "";
    }
    return;
  }
  if (m_outcome == Outcome::streaming) {
    out.emplace_back(l);
  } else if (m_outcome == Outcome::pending) {
    m_before.append(l);
    m_before += '\n';
  }
}

std::vector<std::string> Reader::feed(std::string_view chunk) {
  std::vector<std::string> out;
  m_partial.append(chunk);
  std::size_t start = 0;
  while (true) {
    auto nl = m_partial.find('\n', start);
    if (nl == std::string::npos) {
      break;
    }
    line(std::string_view(m_partial).substr(start, nl - start), out);
    start = nl + 1;
  }
  m_partial.erase(0, start);
  return out;
}

std::optional<std::string> Reader::finish() {
  if (m_partial.empty()) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  line(m_partial, out);
  m_partial.clear();
  if (out.empty()) {
    return std::nullopt;
  }
  return out.front();
}

}  // namespace jl::logs
