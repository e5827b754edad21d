#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "jl/sys/fd.hpp"

namespace jl::sys {

// The controlling terminal, for questions only a person can answer (host keys, passphrases,
// passwords). jl asks only when standard input is a terminal; otherwise it never prompts.
class Terminal {
 public:
  // Open /dev/tty when stdin is a terminal and `allow` is set; otherwise a terminal that cannot
  // ask anything.
  static Terminal open(bool allow);

  bool interactive() const { return m_fd.valid(); }

  // Print `prompt` and read one line; without echo for secrets. Nothing on EOF or when not
  // interactive.
  std::optional<std::string> ask(std::string_view prompt, bool echo);

  // Print text on the terminal (not stdout, which may be a pipe).
  void say(std::string_view text);

  // Called around every use of the terminal, e.g. to hide a progress spinner meanwhile.
  void set_hooks(std::function<void()> before, std::function<void()> after) {
    m_before = std::move(before);
    m_after = std::move(after);
  }

 private:
  explicit Terminal(Fd fd) : m_fd(std::move(fd)) {}
  void write_all(std::string_view text);
  Fd m_fd;
  std::function<void()> m_before;
  std::function<void()> m_after;
};

// True when the stream is a terminal.
bool is_tty(int fd);

}  // namespace jl::sys
