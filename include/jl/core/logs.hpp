#pragma once

// `jl logs` as data: the command that shows (or follows) Jupyter's log inside the container, and
// a streaming reader of what it prints. Nothing here talks to the network.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/probe.hpp"

namespace jl::logs {

// `docker exec -i CONTAINER sh -c SCRIPT jl NONCE LOG LINES FOLLOW`, every word quoted. The script
// prints the last `lines` lines of `log_file`; with `follow` it keeps printing what is appended
// (tail -f in the background) until its standard input ends, then stops tail and exits, so that
// closing the channel leaves nothing running in the container. `docker` is the docker command as
// words (not empty: std::invalid_argument).
std::string command(std::string_view nonce, std::string_view container, std::string_view log_file,
                    int lines, bool follow,
                    const std::vector<std::string>& docker = probe::kDefaultDocker);

// Reads the command's output as it arrives and hands back whole log lines.
class Reader {
 public:
  explicit Reader(std::string nonce) : m_marker("@@" + std::move(nonce) + " ") {}

  // Feed a chunk; returns the log lines it completed (without their newline).
  std::vector<std::string> feed(std::string_view chunk);
  // The command ended: returns a last line that had no newline, if any.
  std::optional<std::string> finish();

  enum class Outcome { pending, streaming, ended, missing, unreadable };
  Outcome outcome() const { return m_outcome; }
  // Text before the script's first marker: what docker said when it could not run it.
  const std::string& before() const { return m_before; }
  // For `unreadable`: the user the script ran as.
  const std::string& user() const { return m_user; }

 private:
  void line(std::string_view l, std::vector<std::string>& out);
  std::string m_marker;
  std::string m_partial;
  std::string m_before;
  std::string m_user;
  Outcome m_outcome = Outcome::pending;
};

}  // namespace jl::logs
