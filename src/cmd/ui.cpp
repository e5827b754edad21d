#include "jl/cmd/ui.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

namespace jl::cmd {

// What the spinner thread and the printing thread share.
struct Ui::Activity::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::string label;  // empty: no activity
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
    // Signals belong to the main thread (it may turn them into events with a signalfd).
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
          fmt::print(stderr, "\r\033[K{} {} {:.1f}s", frames[frame++ % std::size(frames)], label,
                     secs);
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
  if (!m_active) {
    return;
  }
  std::lock_guard lock(m_shared->mutex);
  m_shared->label = std::move(label);
}

bool color_wanted(const char* no_color, const char* term) {
  if (no_color != nullptr && *no_color != '\0') {
    return false;  // https://no-color.org
  }
  return term == nullptr || std::string_view(term) != "dumb";
}

}  // namespace jl::cmd
