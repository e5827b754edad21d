#pragma once

// Output for people and scripts: results on stdout, progress and diagnostics on stderr. Colour
// and the progress spinner appear only on a terminal, never with --json or -q, and colour not
// at all when NO_COLOR is set.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace jl::cmd {

enum class Paint { bold, dim, red, green, yellow, cyan };

struct UiOptions {
  bool json = false;
  bool verbose = false;
  bool quiet = false;
  bool stdout_tty = false;
  bool stderr_tty = false;
  bool color = false;  // wanted on terminals (false when NO_COLOR is set or TERM=dumb)
};

class Ui {
 public:
  explicit Ui(UiOptions options);
  ~Ui();
  Ui(const Ui&) = delete;
  Ui& operator=(const Ui&) = delete;

  bool json() const { return m_options.json; }
  bool quiet() const { return m_options.quiet; }
  bool verbose() const { return m_options.verbose; }

  // A line of results on stdout.
  void out(std::string_view text) const;
  // A JSON document on stdout (`indent` as nlohmann's dump). Text that is not UTF-8 (a name or
  // a message from the host) is written with U+FFFD in place of the bad bytes, never refused.
  void out_json(const nlohmann::json& document, int indent = -1) const;
  // Progress for people on stderr; silent with -q or --json, or when stderr is not a terminal.
  void info(std::string_view text) const;
  // "jl: warning: ..." on stderr, always.
  void warn(std::string_view text) const;
  // Timed detail on stderr with -v.
  void trace(std::string_view text) const;

  // `text` in a colour or weight, for stdout (`for_stdout`) or stderr; plain when that stream
  // gets no colour.
  std::string paint(Paint p, std::string_view text, bool for_stdout = true) const;

  // While an Activity lives, stderr shows a spinner with its label (and a bar, when it says
  // how far it is) and the seconds elapsed, on one line cut to the terminal's width (only on a
  // terminal, never with -q or --json). Drawn by a thread of its own that touches
  // nothing but stderr. Nested activities show the innermost label. Every activity must end
  // before the process forks: the spinner thread would not exist in the child.
  class Activity {
   public:
    Activity(Activity&&) noexcept;
    Activity& operator=(Activity&&) = delete;
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;
    ~Activity();
    // Change the label (e.g. from "connecting" to "starting Jupyter").
    void relabel(std::string label);
    // Change the label and show a bar of how far the work is (0 to 1; nothing: no bar).
    void progress(std::string label, std::optional<double> fraction);

   private:
    friend class Ui;
    struct Shared;
    Activity(std::shared_ptr<Shared> shared, std::string label);
    std::shared_ptr<Shared> m_shared;
    std::string m_previous;
    bool m_active = false;
    bool m_owner = false;  // the outermost one: runs the spinner thread
  };
  [[nodiscard]] Activity activity(std::string label) const;

  // Hide the spinner while a prompt is on the terminal; show it again after.
  void pause() const;
  void resume() const;

 private:
  // Clear the spinner's line before other output.
  void clear_line() const;
  UiOptions m_options;
  std::chrono::steady_clock::time_point m_start;
  std::shared_ptr<Activity::Shared> m_shared;
};

// Whether colour is wanted, from the environment's NO_COLOR and TERM.
bool color_wanted(const char* no_color, const char* term);

}  // namespace jl::cmd
