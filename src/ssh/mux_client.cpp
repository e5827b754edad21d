#include "mux_client.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "jl/core/error.hpp"
#include "jl/sys/interrupts.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/unix_socket.hpp"

namespace jl::ssh {

namespace {

using namespace std::chrono_literals;

int ms_until(MuxClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - MuxClock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 250));
}

// Read one reply line from `ctrl` before `deadline`; nothing if the master closed, spoke
// gibberish or stayed silent.
std::optional<mux::Reply> read_reply(int ctrl, mux::LineReader& lines,
                                     MuxClock::time_point deadline, sys::Interrupts* interrupts) {
  char buf[4096];
  while (true) {
    if (auto line = lines.next()) {
      return mux::decode_reply(*line, nullptr);
    }
    if (MuxClock::now() >= deadline) {
      return std::nullopt;
    }
    pollfd fds[2] = {{ctrl, POLLIN, 0}, {interrupts != nullptr ? interrupts->fd() : -1, POLLIN, 0}};
    ::poll(fds, 2, std::max(1, ms_until(deadline)));
    if ((fds[1].revents & POLLIN) != 0 && interrupts->take()) {
      throw Error(Exit::interrupted, "interrupted while waiting for the shared connection");
    }
    if (fds[0].revents == 0) {
      continue;
    }
    const ssize_t n = ::recv(ctrl, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      return std::nullopt;
    }
    if (n > 0 && !lines.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
      return std::nullopt;
    }
  }
}

}  // namespace

MuxChannel::MuxChannel(MuxLink& link, ChannelState& st, sys::Fd ctrl, sys::Fd io, sys::Fd err)
    : m_link(link), m_st(st), m_ctrl(std::move(ctrl)), m_io(std::move(io)), m_err(std::move(err)) {
  m_err_eof = !m_err.valid();
  m_link.m_live.push_back(this);
}

MuxChannel::~MuxChannel() {
  std::erase(m_link.m_live, this);
}

MuxLink::~MuxLink() = default;

std::unique_ptr<MuxLink> MuxLink::attach(const std::string& socket, std::chrono::milliseconds wait,
                                         std::string* why) {
  auto say = [&](std::string words) {
    if (why != nullptr) {
      *why = std::move(words);
    }
    return nullptr;
  };
  if (!sys::own_socket(socket)) {
    return say("no master's socket of this user");
  }
  std::unique_ptr<MuxLink> link(new MuxLink());
  link->m_socket = socket;
  auto reply = link->ask(mux::Request{}, {}, MuxClock::now() + wait, &link->m_hello);
  if (!reply) {
    return say("the master did not answer");
  }
  if (!reply->ok) {
    return say(reply->busy ? "the master is reconnecting" : "the master refused: " + reply->error);
  }
  link->m_pid = reply->pid;
  link->m_endpoint = reply->endpoint;
  link->m_user = reply->user;
  return link;
}

sys::Fd MuxLink::send_request(const mux::Request& request, const std::vector<int>& fds,
                              MuxClock::time_point deadline) {
  std::string error;
  sys::Fd ctrl = sys::connect_unix_now(m_socket, &error);
  if (!ctrl.valid()) {
    return {};
  }
  // The master is this user's: anything else at that path is not spoken to.
  if (sys::peer_uid(ctrl.get()) != sys::own_uid()) {
    return {};
  }
  const auto left =
      std::max(std::chrono::milliseconds(1),
               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - MuxClock::now()));
  if (!sys::send_all(ctrl.get(), mux::encode(request), fds, left)) {
    return {};
  }
  return ctrl;
}

std::optional<mux::Reply> MuxLink::ask(const mux::Request& request, const std::vector<int>& fds,
                                       MuxClock::time_point deadline, sys::Fd* ctrl_out) {
  sys::Fd ctrl = send_request(request, fds, deadline);
  if (!ctrl.valid()) {
    return std::nullopt;
  }
  mux::LineReader lines;
  auto reply = read_reply(ctrl.get(), lines, deadline, m_interrupts);
  if (reply && ctrl_out != nullptr) {
    *ctrl_out = std::move(ctrl);
  }
  return reply;
}

std::unique_ptr<MuxChannel> MuxLink::exec(std::string_view command,
                                          std::optional<std::pair<int, int>> pty, ChannelState& st,
                                          MuxClock::time_point deadline, bool* on_terminal) {
  mux::Request r;
  r.op = mux::Request::Op::exec;
  r.command = std::string(command);
  r.pty = pty;
  return this->command(r, st, deadline, on_terminal);
}

std::unique_ptr<MuxChannel> MuxLink::run(std::string_view command, ChannelState& st,
                                         MuxClock::time_point deadline) {
  mux::Request r;
  r.op = mux::Request::Op::run;
  r.command = std::string(command);
  bool on_terminal = false;
  return this->command(r, st, deadline, &on_terminal);
}

std::unique_ptr<MuxChannel> MuxLink::command(const mux::Request& r, ChannelState& st,
                                             MuxClock::time_point deadline, bool* on_terminal) {
  auto [io, io_theirs] = sys::socket_pair();
  auto [err, err_theirs] = sys::socket_pair();
  if (!io.valid() || !err.valid()) {
    return nullptr;
  }
  sys::Fd ctrl;
  auto reply = ask(r, {io_theirs.get(), err_theirs.get()}, deadline, &ctrl);
  io_theirs.reset();
  err_theirs.reset();
  if (!reply || reply->busy) {
    return nullptr;
  }
  if (!reply->ok) {
    throw Error(Exit::ssh,
                fmt::format("the host {} refused to run a command: {}", m_endpoint, reply->error));
  }
  *on_terminal = reply->pty;
  for (int fd : {io.get(), err.get()}) {
    sys::tune_socket(fd);
  }
  return std::make_unique<MuxChannel>(*this, st, std::move(ctrl), std::move(io), std::move(err));
}

namespace {
// The master's `tcp` request: a channel to host:port, kept open after a whole answer if `keep`.
mux::Request tcp_request(const std::string& host, int port, bool keep) {
  mux::Request r;
  r.op = mux::Request::Op::tcp;
  r.host = host;
  r.port = port;
  r.keep = keep;
  return r;
}
}  // namespace

std::unique_ptr<MuxChannel> MuxLink::tcp(const std::string& host, int port, ChannelState& st,
                                         MuxClock::time_point deadline, std::string* refused,
                                         bool keep, bool* reused) {
  auto [io, io_theirs] = sys::socket_pair();
  if (!io.valid()) {
    return nullptr;
  }
  const mux::Request r = tcp_request(host, port, keep);
  sys::Fd ctrl;
  auto reply = ask(r, {io_theirs.get()}, deadline, &ctrl);
  io_theirs.reset();
  if (!reply || reply->busy) {
    return nullptr;
  }
  if (!reply->ok) {
    *refused = reply->error.empty() ? std::string("the channel was refused") : reply->error;
    return nullptr;
  }
  if (reused != nullptr) {
    *reused = reply->reused;
  }
  sys::tune_socket(io.get());
  return std::make_unique<MuxChannel>(*this, st, std::move(ctrl), std::move(io), sys::Fd{});
}

std::unique_ptr<MuxChannel> MuxLink::tcp_pipelined(const std::string& host, int port,
                                                   std::string_view request, ChannelState& st,
                                                   MuxClock::time_point deadline, bool keep) {
  auto [io, io_theirs] = sys::socket_pair();
  if (!io.valid()) {
    return nullptr;
  }
  const mux::Request r = tcp_request(host, port, keep);
  sys::Fd ctrl = send_request(r, {io_theirs.get()}, deadline);
  io_theirs.reset();
  if (!ctrl.valid()) {
    return nullptr;
  }
  sys::tune_socket(io.get());
  auto ch = std::make_unique<MuxChannel>(*this, st, std::move(ctrl), std::move(io), sys::Fd{});
  ch->m_awaiting = true;
  // A request of a few hundred bytes fits the socket's empty buffer.
  write_all(*ch, request, deadline);
  return ch;
}

void MuxLink::keep(MuxChannel& ch) {
  if (ch.m_ctrl.valid()) {
    sys::send_some(ch.m_ctrl.get(), "k\n", 2, true);
  }
}

std::optional<long long> MuxLink::forward(const mux::ForwardSpec& spec, int listener,
                                          std::chrono::milliseconds wait, std::string* why) {
  mux::Request r;
  r.op = mux::Request::Op::forward;
  r.forward = spec;
  auto reply = ask(r, {listener}, MuxClock::now() + wait, nullptr);
  if (!reply || !reply->ok) {
    if (why != nullptr) {
      *why = !reply ? "the master did not answer"
                    : (reply->busy ? "the master is reconnecting" : reply->error);
    }
    return std::nullopt;
  }
  return reply->pid;
}

bool MuxLink::ping(std::chrono::milliseconds wait) {
  mux::Request r;
  r.op = mux::Request::Op::ping;
  auto reply = ask(r, {}, MuxClock::now() + wait, nullptr);
  return reply && reply->ok;
}

void MuxLink::read_channel(MuxChannel& ch, short io_ev, short err_ev, short ctrl_ev) {
  char buf[64 * 1024];
  auto drain = [&](sys::Fd& fd, bool& eof, bool is_stderr, short ev) {
    if (eof || ev == 0) {
      return;
    }
    for (int round = 0; round < 16; ++round) {
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        ch.m_st.take(std::string_view(buf, static_cast<std::size_t>(n)), is_stderr);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        eof = true;
      }
      return;
    }
  };
  drain(ch.m_io, ch.m_io_eof, false, io_ev);
  drain(ch.m_err, ch.m_err_eof, true, err_ev);
  if (ch.m_io_eof) {
    ch.m_st.eof = true;
  }
  if (ctrl_ev != 0 && ch.m_ctrl.valid()) {
    const ssize_t n = ::recv(ch.m_ctrl.get(), buf, sizeof buf, 0);
    if (n > 0) {
      ch.m_lines.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      while (auto line = ch.m_lines.next()) {
        auto reply = mux::decode_reply(*line, nullptr);
        if (ch.m_awaiting) {
          ch.m_awaiting = false;
          ch.m_answer = reply;
          if (!reply || !reply->ok) {
            ch.m_st.closed = true;  // refused (or busy): the stream brings nothing
          }
        } else if (reply && reply->ended) {
          ch.m_end = reply;
        }
      }
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      ch.m_ctrl.reset();
      // A tcp stream's master closes the control connection with the stream; an exec's
      // always says how the command ended first.
      if (!ch.m_end && ch.m_err.valid()) {
        ch.m_lost = true;
      }
      if (ch.m_awaiting) {
        ch.m_awaiting = false;  // the master went away before it answered: no answer
        ch.m_st.closed = true;
      }
    }
  }
  // The master shuts io and err before it gives the exit status: both are drained by now
  // or soon, and only then has the command ended.
  if (ch.m_io_eof && ch.m_err_eof && (ch.m_end || !ch.m_ctrl.valid())) {
    if (ch.m_end) {
      ch.m_st.exit_status = ch.m_end->exit_status;
    }
    ch.m_st.closed = true;
  }
}

void MuxLink::pump(MuxClock::time_point deadline, std::string_view doing, int write_fd) {
  if (MuxClock::now() >= deadline) {
    throw Error(Exit::timeout, fmt::format("timed out {} on {}", doing, m_endpoint),
                "the host or the network is slow or stuck; try again, or raise --timeout");
  }
  std::vector<pollfd> fds;
  fds.push_back({m_interrupts != nullptr ? m_interrupts->fd() : -1, POLLIN, 0});
  fds.push_back({write_fd, POLLOUT, 0});
  for (auto* ch : m_live) {
    fds.push_back({ch->m_io_eof ? -1 : ch->m_io.get(), POLLIN, 0});
    fds.push_back({ch->m_err_eof ? -1 : ch->m_err.get(), POLLIN, 0});
    fds.push_back({ch->m_ctrl.valid() ? ch->m_ctrl.get() : -1, POLLIN, 0});
  }
  ::poll(fds.data(), fds.size(), std::max(1, ms_until(deadline)));
  if ((fds[0].revents & POLLIN) != 0 && m_interrupts->take()) {
    throw Error(Exit::interrupted, fmt::format("interrupted while {}", doing));
  }
  // Channels may end (and leave m_live) while being read: walk a copy.
  const auto live = m_live;
  for (std::size_t i = 0; i < live.size(); ++i) {
    read_channel(*live[i], fds[2 + 3 * i].revents, fds[3 + 3 * i].revents, fds[4 + 3 * i].revents);
  }
  for (auto* ch : live) {
    if (ch->m_lost) {
      throw Error(Exit::ssh,
                  fmt::format("the SSH connection to {} shared with jl's tunnel (pid {}) ended",
                              m_endpoint, m_pid),
                  "try again: jl makes its own connection when the tunnel is gone");
    }
  }
}

void MuxLink::write_all(MuxChannel& ch, std::string_view data, MuxClock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = sys::send_some(ch.m_io.get(), data.data(), data.size(), true);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // The command no longer reads (it ended, or the master dropped it): what it printed
      // and how it ended say more than this.
      pump(deadline, "sending data");
      if (ch.m_st.ended()) {
        return;
      }
      throw Error(Exit::ssh, fmt::format("writing to a command on {} failed: {}", m_endpoint,
                                         std::strerror(errno)));
    }
    pump(deadline, "sending data", ch.m_io.get());
  }
}

void MuxLink::close_stdin(MuxChannel& ch) {
  if (!ch.m_stdin_closed) {
    ch.m_stdin_closed = true;
    ::shutdown(ch.m_io.get(), SHUT_WR);
  }
}

}  // namespace jl::ssh
