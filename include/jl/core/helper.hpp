#pragma once

// The host's helper: a /bin/sh loop that a master (jl's tunnel process) keeps running in one
// session channel of its connection, so that a shared command's script costs one round trip
// (the job out, its answer back) instead of three (a channel's open, its exec, then the
// bootstrap's stdin). Pure: the loop's text, a job's bytes and the reader of its answers.
// The master runs only jobs whose stdin is empty; anything that converses runs on a channel.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jl::helper {

// The loop, for the bootstrap (shell::boot_payload) of a session channel.
std::string_view script();

// A job: the header line and `command` (a POSIX sh command line) with the bootstrap's trailer.
std::string job(std::uint64_t id, std::string_view command);

// What the helper says, in pieces as they arrive.
struct Piece {
  enum class Kind {
    ready,  // the loop runs and waits for jobs
    out,    // bytes of the current job's stdout
    err,    // bytes of its stderr
    done,   // the job ended with `status` (its output all given)
  } kind = Kind::ready;
  std::string bytes;
  std::uint64_t id = 0;
  int status = 0;
};

class Reader {
 public:
  // `ready_first`: the stream starts with the loop's ready line (after any noise); a batch's
  // answers (below) start at once.
  explicit Reader(bool ready_first = true) : m_state(ready_first ? State::noise : State::header) {}
  // Add what the channel brought; false (and nothing more, ever) when the stream is not the
  // helper's: noise beyond kNoiseLimit before it is ready, or a malformed answer line.
  bool feed(std::string_view chunk, std::vector<Piece>& pieces);
  bool ready() const { return m_state != State::noise && m_state != State::broken; }
  // In the middle of a job's answer.
  bool answering() const { return m_state == State::out || m_state == State::err; }

  static constexpr std::size_t kNoiseLimit = 64 * 1024;

 private:
  enum class State { noise, header, out, err, broken } m_state;
  std::string m_line;
  std::uint64_t m_id = 0;
  int m_status = 0;
  std::uint64_t m_out_left = 0;
  std::uint64_t m_err_left = 0;
  std::size_t m_noise = 0;
};

// Several commands (POSIX sh command lines, stdin empty) in one script that runs them at once
// and then answers for each in order, as the helper answers a job: one exec (one round trip on
// the helper) for what would be one each.
std::string batch(std::span<const std::string> commands);

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};
// The batch's answers; nothing when they are not `count` whole ones.
std::optional<std::vector<Result>> parse_batch(std::string_view out, std::size_t count);

}  // namespace jl::helper
