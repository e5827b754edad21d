#include "jl/cmd/ui.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

namespace jl::cmd {

namespace {

// The width of the terminal on stderr (80 when it does not say).
std::size_t terminal_width() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  return 80;
}

// Columns `text` takes (one per character; UTF-8 continuation bytes take none).
std::size_t columns(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

// The first `n` columns of `text`.
std::string_view head_columns(std::string_view text, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == n) {
      return text.substr(0, i);
    }
  }
  return text;
}

// The last `n` columns of `text`.
std::string_view tail_columns(std::string_view text, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++seen == n) {
      return text.substr(i);
    }
  }
  return text;
}

// The spinner's line: frame, label, bar and seconds, in less than `width` columns, so that it
// never wraps (a wrapped line could not be cleared). A label too long loses its middle: its
// start says what runs, its end how far it is.
std::string fit(std::string_view frame, std::string_view label, const std::string& bar,
                const std::string& secs, std::size_t width) {
  const std::size_t room = width > 1 ? width - 1 : 1;
  const std::string rest = (bar.empty() ? "" : " " + bar) + " " + secs;
  const std::size_t fixed = columns(frame) + 1 + columns(rest);
  std::string shown(label);
  if (fixed + columns(label) > room) {
    const std::size_t keep = room > fixed + 1 ? room - fixed - 1 : 0;  // 1: the ellipsis
    if (keep >= 20) {
      const std::size_t front = std::min<std::size_t>(keep / 3, 24);
      shown = std::string(head_columns(label, front)) + "…" +
              std::string(tail_columns(label, keep - front));
    } else {
      shown = std::string(head_columns(label, keep)) + "…";
    }
  }
  std::string line = std::string(frame) + " " + shown + rest;
  return columns(line) > room ? std::string(head_columns(line, room)) : line;
}

// "[=======>            ]", 20 wide.
std::string bar(double fraction) {
  constexpr int kWidth = 20;
  const int done = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kWidth);
  std::string out = "[";
  for (int i = 0; i < kWidth; ++i) {
    out += i < done ? '=' : i == done ? '>' : ' ';
  }
  return out + "]";
}

}  // namespace

// What the spinner thread and the printing thread share.
struct Ui::Activity::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::string label;               // empty: no activity
  std::optional<double> fraction;  // how far it is, for a bar
  std::chrono::steady_clock::time_point since;
  int paused = 0;
  bool shown = false;  // the spinner's line is on the terminal
  bool stop = false;
  bool enabled = false;
  std::thread thread;

  // With the mutex held.
  void clear() {
    if (shown) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
      shown = false;
    }
  }

  void run() {
    // Signals belong to the main thread (sys::Interrupts may turn them into events).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    static constexpr std::string_view frames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    std::size_t frame = 0;
    std::unique_lock lock(mutex);
    while (!stop) {
      if (!label.empty() && paused == 0) {
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
        // Show nothing for the first moment: quick steps should not flicker.
        if (secs >= 0.3) {
          fmt::print(stderr, "\r\033[K{}",
                     fit(frames[frame++ % std::size(frames)], label,
                         fraction ? bar(*fraction) : std::string{}, fmt::format("{:.1f}s", secs),
                         terminal_width()));
          std::fflush(stderr);
          shown = true;
        }
      }
      wake.wait_for(lock, std::chrono::milliseconds(100));
    }
    clear();
  }
};

Ui::Ui(UiOptions options)
    : m_options(options),
      m_start(std::chrono::steady_clock::now()),
      m_shared(std::make_shared<Activity::Shared>()) {
  m_shared->enabled = options.stderr_tty && !options.json && !options.quiet;
}

Ui::~Ui() = default;

void Ui::clear_line() const {
  if (!m_shared->enabled) {
    return;
  }
  std::lock_guard lock(m_shared->mutex);
  m_shared->clear();
}

void Ui::out(std::string_view text) const {
  clear_line();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Ui::out_json(const nlohmann::json& document, int indent) const {
  out(document.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Ui::info(std::string_view text) const {
  // Progress is for a person watching; scripts and logs get only results and errors.
  if (m_options.quiet || m_options.json || !m_options.stderr_tty) {
    return;
  }
  clear_line();
  fmt::print(stderr, "{}\n", text);
}

void Ui::warn(std::string_view text) const {
  clear_line();
  fmt::print(stderr, "{} {}\n", paint(Paint::yellow, "jl: warning:", false), text);
}

void Ui::trace(std::string_view text) const {
  if (!m_options.verbose) {
    return;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  m_start)
                .count();
  clear_line();
  fmt::print(
      stderr, "{} {}\n",
      paint(Paint::dim, fmt::format("jl: [{:>6.3f}s]", static_cast<double>(ms) / 1000.0), false),
      text);
}

std::string Ui::paint(Paint p, std::string_view text, bool for_stdout) const {
  const bool tty = for_stdout ? m_options.stdout_tty : m_options.stderr_tty;
  if (!m_options.color || !tty || (for_stdout && m_options.json)) {
    return std::string(text);
  }
  std::string_view code;
  switch (p) {
    case Paint::bold:
      code = "1";
      break;
    case Paint::dim:
      code = "2";
      break;
    case Paint::red:
      code = "1;31";
      break;
    case Paint::green:
      code = "32";
      break;
    case Paint::yellow:
      code = "33";
      break;
    case Paint::cyan:
      code = "36";
      break;
  }
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

Ui::Activity Ui::activity(std::string label) const {
  return Activity(m_shared, std::move(label));
}

void Ui::pause() const {
  std::lock_guard lock(m_shared->mutex);
  ++m_shared->paused;
  m_shared->clear();
}

void Ui::resume() const {
  {
    std::lock_guard lock(m_shared->mutex);
    if (m_shared->paused > 0) {
      --m_shared->paused;
    }
  }
  m_shared->wake.notify_all();
}

Ui::Activity::Activity(std::shared_ptr<Shared> shared, std::string label)
    : m_shared(std::move(shared)) {
  if (!m_shared->enabled) {
    return;
  }
  std::lock_guard lock(m_shared->mutex);
  m_previous = std::move(m_shared->label);
  m_shared->label = std::move(label);
  m_active = true;
  if (m_previous.empty()) {
    // The outermost activity owns the spinner thread, so that no thread outlives the work
    // (jl forks into a background tunnel afterwards).
    m_shared->since = std::chrono::steady_clock::now();
    m_shared->stop = false;
    m_owner = true;
    m_shared->thread = std::thread([shared = m_shared.get()] { shared->run(); });
  }
}

Ui::Activity::Activity(Activity&& other) noexcept
    : m_shared(std::move(other.m_shared)),
      m_previous(std::move(other.m_previous)),
      m_active(other.m_active),
      m_owner(other.m_owner) {
  other.m_active = false;
  other.m_owner = false;
}

Ui::Activity::~Activity() {
  if (!m_active) {
    return;
  }
  {
    std::lock_guard lock(m_shared->mutex);
    m_shared->label = std::move(m_previous);
    m_shared->fraction.reset();
    if (m_owner) {
      m_shared->stop = true;
    }
  }
  if (m_owner) {
    m_shared->wake.notify_all();
    m_shared->thread.join();
  }
}

void Ui::Activity::relabel(std::string label) {
  progress(std::move(label), std::nullopt);
}

void Ui::Activity::progress(std::string label, std::optional<double> fraction) {
  if (!m_active) {
    return;
  }
  std::lock_guard lock(m_shared->mutex);
  m_shared->label = std::move(label);
  m_shared->fraction = fraction;
}

bool color_wanted(const char* no_color, const char* term) {
  if (no_color != nullptr && *no_color != '\0') {
    return false;  // https://no-color.org
  }
  return term == nullptr || std::string_view(term) != "dumb";
}

}  // namespace jl::cmd
