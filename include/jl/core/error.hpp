#pragma once

#include <stdexcept>
#include <string>

namespace jl {

// Process exit codes; part of the command-line contract.
enum class Exit : int {
  ok = 0,
  other = 1,
  usage = 2,
  ssh = 3,            // connect, host key, authentication
  remote = 4,         // docker, container, Jupyter
  timeout = 5,        // a network wait passed its deadline
  interrupted = 130,  // Ctrl-C or SIGTERM, after rolling back
};

// The one error type that reaches the top level. `what()` is a single line without the
// "jl: error: " prefix; `hint()` is an optional second line suggesting a fix.
// What an error is about, where callers decide by it (never by its words).
enum class Cause {
  unspecified,
  host_key,        // the server's key is unknown, changed or cannot be checked
  authentication,  // the server turned us away, or needs answers nobody can give
};

class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message, std::string hint = {}, std::string detail = {})
      : std::runtime_error(message),
        m_code(code),
        m_hint(std::move(hint)),
        m_detail(std::move(detail)) {}

  Exit code() const { return m_code; }
  const std::string& hint() const { return m_hint; }
  // Supporting lines (e.g. the end of a log), printed indented between error and hint.
  const std::string& detail() const { return m_detail; }
  Cause cause() const { return m_cause; }
  // The same error, marked as being about `cause`.
  Error& because(Cause cause) {
    m_cause = cause;
    return *this;
  }

 private:
  Exit m_code;
  Cause m_cause = Cause::unspecified;
  std::string m_hint;
  std::string m_detail;
};

// Format an error as printed on stderr: "jl: error: ...", any detail lines indented with
// "  | ", then "hint: ..." when there is one.
std::string format_error(const Error& e);

}  // namespace jl
