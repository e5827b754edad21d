#include "jl/core/shell.hpp"

namespace jl::shell {

namespace {

bool is_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ':' || c == '@' || c == '%' || c == '+' ||
         c == ',' || c == '=';
}

// Words a shell treats specially in command position even though every character is plain.
bool is_reserved(std::string_view w) {
  static constexpr std::string_view words[] = {
      "if",    "then", "else", "elif", "fi",       "case",   "esac", "for",   "while",
      "until", "do",   "done", "in",   "function", "select", "time", "coproc"};
  for (auto r : words) {
    if (w == r) {
      return true;
    }
  }
  return false;
}

// NAME=... with NAME a shell variable name.
bool looks_like_assignment(std::string_view w) {
  auto eq = w.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return false;
  }
  for (std::size_t i = 0; i < eq; ++i) {
    char c = w[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
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
  // NAME=value would be an assignment, and a reserved word a keyword, in command position.
  if (safe && (is_reserved(word) || looks_like_assignment(word))) {
    safe = false;
  }
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

std::string sh_c(std::string_view script, std::span<const std::string> args) {
  std::string cmd = "sh -c " + quote(script) + " jl";
  for (const auto& a : args) {
    cmd += ' ';
    cmd += quote(a);
  }
  return cmd;
}

std::vector<std::string> split(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '\'') {
      auto close = line.find('\'', i + 1);
      if (close == std::string_view::npos) {
        close = line.size();
      }
      word.append(line.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

std::string abbreviate(std::string_view line, std::size_t max_word) {
  std::string out;
  for (const auto& w : split(line)) {
    if (!out.empty()) {
      out += ' ';
    }
    if (w.size() > max_word) {
      std::size_t lines = 1;
      for (char c : w) {
        lines += c == '\n' ? 1 : 0;
      }
      out += "<script: " + std::to_string(lines) + " lines>";
    } else {
      out += quote(w);
    }
  }
  return out;
}

std::string_view boot_line() {
  // `read -r` and dd with bs=1 read stdin one byte at a time, so what follows the command
  // stays on stdin for it. A command cut short lacks the trailer that boot_payload() ends it
  // with, and is not run at all.
  return "exec /bin/sh -c 'echo @@jl-boot-1; read -r n || exit 97; "
         "s=$(dd bs=1 count=\"$n\" 2>/dev/null); "
         "case $s in *\"#jl-end\") eval \"$s\";; *) exit 97;; esac'";
}

std::string boot_payload(std::string_view command) {
  std::string body(command);
  body += "\n#jl-end";
  std::string out = std::to_string(body.size());
  out += '\n';
  out += body;
  return out;
}

bool fits_terminal(std::string_view command) {
  std::size_t line = 0;
  for (char c : command) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      line = 0;
      continue;
    }
    if ((u < 0x20 && c != '\t') || u == 0x7f || ++line > 4000) {
      return false;
    }
  }
  return true;
}

std::string_view BootFilter::feed(std::string_view chunk) {
  if (m_started) {
    return chunk;
  }
  // The marker may arrive split over chunks, and after noise without a final newline (a
  // .bashrc that prints "hello" without one): match it byte by byte, moving what can no
  // longer be part of it to the noise.
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    while (m_matched > 0 && c != m_marker[m_matched]) {
      // The longest shorter prefix of the marker that ends what was matched.
      std::size_t k = m_matched - 1;
      while (k > 0 && m_marker.substr(0, k) != m_marker.substr(m_matched - k, k)) {
        --k;
      }
      m_noise.append(m_marker.substr(0, m_matched - k));
      m_matched = k;
    }
    if (c == m_marker[m_matched]) {
      ++m_matched;
    } else {
      m_noise += c;
    }
    if (m_matched == m_marker.size()) {
      m_started = true;
      m_matched = 0;
      if (m_noise.size() > kNoiseLimit) {
        m_noise.erase(0, m_noise.size() - kNoiseLimit);
      }
      return chunk.substr(i + 1);
    }
    if (m_noise.size() > 2 * kNoiseLimit) {
      m_noise.erase(0, m_noise.size() - kNoiseLimit);
    }
  }
  return {};
}

}  // namespace jl::shell
