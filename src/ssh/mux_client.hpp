#pragma once

// A command's side of connection sharing: the master (a host's tunnel process) runs the
// command's channels on its SSH connection and moves their bytes over Unix sockets, so the
// command makes no TCP connection, key exchange or login of its own. Used by Session only.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channel_state.hpp"
#include "jl/core/mux.hpp"
#include "jl/sys/fd.hpp"

namespace jl::sys {
class Interrupts;
}

namespace jl::ssh {

using MuxClock = std::chrono::steady_clock;

class MuxLink;

// One channel run by the master: the command's stdin and stdout on `io`, its stderr on `err`,
// the master's words (its exit status) on `ctrl`.
class MuxChannel {
 public:
  MuxChannel(MuxLink& link, ChannelState& st, sys::Fd ctrl, sys::Fd io, sys::Fd err);
  MuxChannel(const MuxChannel&) = delete;
  MuxChannel& operator=(const MuxChannel&) = delete;
  ~MuxChannel();

  // For a channel asked for without waiting (MuxLink::tcp_pipelined): whether the master's
  // answer is still to come, and the answer once it came (nothing: the master went away).
  bool awaiting() const { return m_awaiting; }
  const std::optional<mux::Reply>& answer() const { return m_answer; }

 private:
  friend class MuxLink;
  MuxLink& m_link;
  ChannelState& m_st;
  sys::Fd m_ctrl;
  sys::Fd m_io;
  sys::Fd m_err;
  mux::LineReader m_lines;
  bool m_io_eof = false;
  bool m_err_eof = false;
  bool m_stdin_closed = false;
  bool m_awaiting = false;
  std::optional<mux::Reply> m_answer;
  std::optional<mux::Reply> m_end;  // the master's last word
  bool m_lost = false;              // the master went away without one
};

class MuxLink {
 public:
  // Ask the master at `socket` who it is. Nothing when it is not there, not this user's, or
  // does not answer within `wait` (stopped, busy reconnecting); `why` says which.
  static std::unique_ptr<MuxLink> attach(const std::string& socket, std::chrono::milliseconds wait,
                                         std::string* why);
  MuxLink(const MuxLink&) = delete;
  MuxLink& operator=(const MuxLink&) = delete;
  ~MuxLink();

  long long pid() const { return m_pid; }
  const std::string& endpoint() const { return m_endpoint; }
  const std::string& user() const { return m_user; }
  const std::string& socket() const { return m_socket; }
  void set_interrupts(sys::Interrupts* interrupts) { m_interrupts = interrupts; }

  // Have the master run `command` (a login-shell line) on an exec channel, on a terminal of
  // `pty` columns and rows when given. Nothing when the master did not take the request (it
  // went away, or is reconnecting): the caller makes its own connection. Throws jl::Error
  // when the server refused the channel or the command.
  std::unique_ptr<MuxChannel> exec(std::string_view command, std::optional<std::pair<int, int>> pty,
                                   ChannelState& st, MuxClock::time_point deadline,
                                   bool* on_terminal);
  // Have the master run `command` (a POSIX sh command line) with an empty stdin, on its shell
  // helper when that is free (one round trip), else on an exec channel through the bootstrap.
  // The output starts with the bootstrap's marker either way. Nothing and throws as exec().
  std::unique_ptr<MuxChannel> run(std::string_view command, ChannelState& st,
                                  MuxClock::time_point deadline);
  // A direct-tcpip stream to host:port. Nothing when the master did not take the request;
  // with `refused` set, the host could not connect (libssh's words, for the channel-open
  // reader).
  // With `keep`, for one HTTP exchange: a channel the master kept may serve it (`*reused`),
  // and keep() after a whole answer lets the master keep this one.
  std::unique_ptr<MuxChannel> tcp(const std::string& host, int port, ChannelState& st,
                                  MuxClock::time_point deadline, std::string* refused,
                                  bool keep = false, bool* reused = nullptr);
  // The same, without waiting for the master's answer: `request` goes into the stream at once
  // (the master sends it once the channel is open), and the answer comes while pump() runs.
  // Nothing when the master is not there.
  std::unique_ptr<MuxChannel> tcp_pipelined(const std::string& host, int port,
                                            std::string_view request, ChannelState& st,
                                            MuxClock::time_point deadline, bool keep);
  // The exchange on `ch` (a tcp "keep" stream) read a whole answer: the master may keep it.
  void keep(MuxChannel& ch);
  // Hand a tunnel's listening socket to the master. Its pid when it took it.
  std::optional<long long> forward(const mux::ForwardSpec& spec, int listener,
                                   std::chrono::milliseconds wait, std::string* why);
  // Is the master still answering? (a keepalive for long waits on it)
  bool ping(std::chrono::milliseconds wait);

  // Move bytes of every open channel until something arrived, `write_fd` can take more, or
  // `deadline` passed (then throws Exit::timeout, with `doing` in its words). Throws when the
  // master went away under a channel, and on an interrupt.
  void pump(MuxClock::time_point deadline, std::string_view doing, int write_fd = -1);
  void write_all(MuxChannel& ch, std::string_view data, MuxClock::time_point deadline);
  void close_stdin(MuxChannel& ch);

 private:
  friend class MuxChannel;
  MuxLink() = default;
  // Connect, send `request` with `fds`; the reply, or nothing when the master is not there.
  std::optional<mux::Reply> ask(const mux::Request& request, const std::vector<int>& fds,
                                MuxClock::time_point deadline, sys::Fd* ctrl_out);
  // Connect and send `request` with `fds`: the control connection, or an invalid one.
  sys::Fd send_request(const mux::Request& request, const std::vector<int>& fds,
                       MuxClock::time_point deadline);
  void read_channel(MuxChannel& ch, short io_ev, short err_ev, short ctrl_ev);
  std::unique_ptr<MuxChannel> command(const mux::Request& r, ChannelState& st,
                                      MuxClock::time_point deadline, bool* on_terminal);

  std::string m_socket;
  sys::Fd m_hello;  // kept open while the command uses the master: it lives on for us
  long long m_pid = 0;
  std::string m_endpoint;
  std::string m_user;
  sys::Interrupts* m_interrupts = nullptr;
  std::vector<MuxChannel*> m_live;
};

}  // namespace jl::ssh
