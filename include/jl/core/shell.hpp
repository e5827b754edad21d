#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jl::shell {

// Quote one word for a POSIX shell so that it reaches the command as exactly this word.
// Words made only of safe characters are returned unchanged; everything else is
// single-quoted, with embedded single quotes written as '\''.
std::string quote(std::string_view word);

// Quote every word and join them with single spaces into one command line.
std::string join(std::span<const std::string> words);

// `sh -c SCRIPT jl ARG...`, every word quoted: the script reads its inputs as positional
// parameters, never spliced into its text.
std::string sh_c(std::string_view script, std::span<const std::string> args);

// Split a command line made by join() (or any line of plain, single-quoted and
// backslash-escaped words) back into its words. Nothing else of the shell's syntax is
// interpreted.
std::vector<std::string> split(std::string_view line);

// The command line for people (-v): words longer than `max_word` bytes, i.e. the scripts jl
// sends, are shown as "<script: N lines>".
std::string abbreviate(std::string_view line, std::size_t max_word = 80);

// Remote commands under any login shell. sshd hands the command line to the account's login
// shell, which may be sh, bash, zsh, ksh, fish, tcsh or csh, and these disagree about nearly
// everything (newlines inside quotes, backslashes inside single quotes, `!`). jl therefore
// sends one fixed line that all of them parse alike: it starts /bin/sh, which prints
// kBootMarker on stdout, reads a length line and exactly that many bytes from stdin, and
// evaluates them. The real command (a POSIX sh command line) travels on stdin, followed by
// whatever the command itself reads there.
//
// The line holds no newline, backslash, `!`, `$` outside single quotes, or double quote
// outside them; inside its single quotes only characters every one of those shells keeps
// literally.
std::string_view boot_line();
// What goes to the channel's stdin first: the length line, the command and a trailer that
// proves it arrived whole.
std::string boot_payload(std::string_view command);
// What /bin/sh prints once it runs, before it reads the command: everything before it on
// stdout is the login's noise (a .bashrc that prints, a banner), and a command that ends
// without it ran under a shell that refused (nologin, git-shell, a ForceCommand).
inline constexpr std::string_view kBootMarker = "@@jl-boot-1\n";
// The same on a terminal, whose output processing turns each "\n" into "\r\n".
inline constexpr std::string_view kBootMarkerPty = "@@jl-boot-1\r\n";
// Whether boot_payload(command) passes unchanged through a terminal's line discipline (its
// input in canonical mode, echoing, as sshd sets up a pty): no control character but newline
// and tab (^C, ^D, ^U, DEL and the like edit the line or signal), and no line longer than
// 4000 bytes (the kernel keeps at most 4095 of a line).
bool fits_terminal(std::string_view command);
// The exit status the bootstrap uses when the command did not arrive whole on stdin.
inline constexpr int kBootIncomplete = 97;

// Splits a channel's output at kBootMarker: what comes before is kept (bounded) as noise,
// what follows is the command's own output.
class BootFilter {
 public:
  // `marker`: kBootMarker, or kBootMarkerPty for a command on a terminal.
  explicit BootFilter(std::string_view marker = kBootMarker) : m_marker(marker) {}
  // Feed a chunk of the stream; returns the part of it that belongs to the command.
  std::string_view feed(std::string_view chunk);
  // Whether the marker has been seen.
  bool started() const { return m_started; }
  // What came before the marker: once it is seen, at most kNoiseLimit bytes (the last ones);
  // before, everything fed so far within twice that.
  std::string noise() const {
    return m_started ? m_noise : m_noise + std::string(m_marker.substr(0, m_matched));
  }
  static constexpr std::size_t kNoiseLimit = 4096;

 private:
  std::string_view m_marker;
  bool m_started = false;
  std::string m_noise;
  std::size_t m_matched = 0;  // bytes of the marker matched at the end of what was fed
};

}  // namespace jl::shell
