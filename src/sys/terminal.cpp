#include "jl/sys/terminal.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace jl::sys {

bool is_tty(int fd) {
  return ::isatty(fd) == 1;
}

Terminal Terminal::open(bool allow) {
  if (!allow || !is_tty(STDIN_FILENO)) {
    return Terminal(Fd{});
  }
  return Terminal(Fd(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)));
}

namespace {

// Runs the hooks around a use of the terminal.
class HookGuard {
 public:
  HookGuard(const std::function<void()>& before, const std::function<void()>& after)
      : m_after(after) {
    if (before) {
      before();
    }
  }
  ~HookGuard() {
    if (m_after) {
      m_after();
    }
  }
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;

 private:
  const std::function<void()>& m_after;
};

}  // namespace

void Terminal::say(std::string_view text) {
  if (!m_fd.valid()) {
    return;
  }
  HookGuard guard(m_before, m_after);
  write_all(text);
}

void Terminal::write_all(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(m_fd.get(), text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::optional<std::string> Terminal::ask(std::string_view prompt, bool echo) {
  if (!m_fd.valid()) {
    return std::nullopt;
  }
  HookGuard guard(m_before, m_after);
  // Echo goes off before the prompt appears: an answer typed as soon as it shows must neither be
  // echoed nor flushed away (TCSAFLUSH drops only what was typed before the prompt).
  termios saved{};
  bool restore = false;
  if (!echo && ::tcgetattr(m_fd.get(), &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    restore = ::tcsetattr(m_fd.get(), TCSAFLUSH, &quiet) == 0;
  }
  write_all(prompt);
  std::string line;
  bool got_any = false;
  while (true) {
    char c = 0;
    ssize_t n = ::read(m_fd.get(), &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got_any = true;
    if (c == '\n') {
      break;
    }
    line += c;
  }
  if (restore) {
    // Keep what was typed ahead for the next prompt.
    ::tcsetattr(m_fd.get(), TCSADRAIN, &saved);
  }
  if (!got_any) {
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

}  // namespace jl::sys
