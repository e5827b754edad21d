#include "jl/tunnel/forwarder.hpp"

#include <fmt/format.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <vector>

#include "jl/core/keepalive.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/sys/net.hpp"

namespace jl::tunnel {

namespace {

// Bytes waiting to be written, with a read offset so that consuming is O(1).
class ByteQueue {
 public:
  std::size_t size() const { return m_buf.size() - m_head; }
  bool empty() const { return size() == 0; }
  const char* data() const { return m_buf.data() + m_head; }
  void append(const char* p, std::size_t n) {
    if (n == 0) {
      return;
    }
    if (m_head > 0 && m_head >= m_buf.size() / 2) {
      m_buf.erase(m_buf.begin(), m_buf.begin() + static_cast<std::ptrdiff_t>(m_head));
      m_head = 0;
    }
    m_buf.insert(m_buf.end(), p, p + n);
  }
  void consume(std::size_t n) {
    m_head += n;
    if (m_head >= m_buf.size()) {
      m_head = 0;
      m_buf.clear();
      if (m_buf.capacity() > kKeep) {
        std::vector<char>().swap(m_buf);  // give memory back once a burst is over
      }
    }
  }

 private:
  static constexpr std::size_t kKeep = 64 * 1024;
  std::vector<char> m_buf;
  std::size_t m_head = 0;
};

constexpr std::size_t kToLocalCap = 512 * 1024;  // per connection, remote -> local
constexpr std::size_t kReadChunk = 64 * 1024;    // one local read
constexpr std::size_t kMaxConnections = 4096;
// The longest timeout poll() takes (about 24 days): "no other wait".
constexpr std::chrono::milliseconds kLongestPoll{std::numeric_limits<int>::max()};

}  // namespace

struct Conn;

struct Forwarder::Impl {
  ssh::Session& session;
  int listener;
  Target target;
  Log log;
  Stats stats;
  int port = 0;
  std::uint64_t next_id = 1;
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<char> scratch = std::vector<char>(kReadChunk);

  Impl(ssh::Session& s, int l, Target t, Log lg)
      : session(s), listener(l), target(std::move(t)), log(std::move(lg)) {
    port = sys::local_port(listener);
  }

  void adopt(sys::Fd fd);

  void say(std::string_view what) const {
    if (log) {
      log(what);
    }
  }

  bool output_pending() const {
    return (ssh_get_poll_flags(session.native()) & SSH_WRITE_PENDING) != 0;
  }

  void accept_all();
  void service(Conn& c);
  void read_local(Conn& c);
  void flush_local(Conn& c);
  void pull_from_libssh(Conn& c);
  void reap();
};

struct Conn {
  Stats* stats = nullptr;
  std::uint64_t id = 0;
  int source_port = 0;
  sys::Fd fd;
  ssh_channel ch = nullptr;
  ssh_channel_callbacks_struct cb{};
  bool opened = false;
  bool open_pending = false;  // the open request awaits the server's answer
  ByteQueue to_local;         // from the channel, waiting for the socket
  ByteQueue to_remote;        // from the socket, waiting for channel window
  bool local_eof = false;
  bool eof_sent = false;
  bool remote_eof = false;
  bool remote_closed = false;
  bool shut_wr = false;
  bool more_in_libssh = false;  // the data callback left bytes in libssh's channel buffer
  bool dead = false;

  ~Conn() {
    if (ch != nullptr) {
      ssh_remove_channel_callbacks(ch, &cb);
      if (opened && !remote_closed && ssh_channel_is_open(ch) != 0) {
        ssh_channel_close(ch);
      }
      ssh_channel_free(ch);
    }
  }
};

namespace {

// Remote -> local. Write straight to the socket when nothing is queued; keep the rest up to
// the cap; leave what does not fit in libssh (which then holds back the channel's window).
int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* user) {
  auto* c = static_cast<Conn*>(user);
  if (is_stderr != 0) {
    return static_cast<int>(len);  // direct-tcpip has no stderr; drop anything odd
  }
  const char* p = static_cast<const char*>(data);
  std::size_t taken = 0;
  if (c->to_local.empty() && !c->dead && !c->shut_wr) {
    ssize_t n = ::send(c->fd.get(), p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      taken = static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      c->dead = true;  // the local peer is gone; drop the data
      return static_cast<int>(len);
    }
  }
  std::size_t room = kToLocalCap > c->to_local.size() ? kToLocalCap - c->to_local.size() : 0;
  std::size_t queue = std::min<std::size_t>(len - taken, room);
  c->to_local.append(p + taken, queue);
  taken += queue;
  c->more_in_libssh = taken < len;
  c->stats->bytes_in += taken;
  return static_cast<int>(taken);
}

void on_eof(ssh_session, ssh_channel, void* user) {
  static_cast<Conn*>(user)->remote_eof = true;
}

void on_close(ssh_session, ssh_channel, void* user) {
  auto* c = static_cast<Conn*>(user);
  c->remote_closed = true;
  c->remote_eof = true;
}

}  // namespace

void Forwarder::Impl::accept_all() {
  for (int i = 0; i < 64 && conns.size() < kMaxConnections; ++i) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    int fd =
        ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        say(fmt::format("accept failed: {}", std::strerror(errno)));
      }
      return;
    }
    adopt(sys::Fd(fd));
  }
}

void Forwarder::Impl::adopt(sys::Fd fd_in) {
  {
    const int fd = fd_in.get();
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
    auto c = std::make_unique<Conn>();
    c->stats = &stats;
    c->id = next_id++;
    c->fd = std::move(fd_in);
    c->source_port = ntohs(peer.sin_port);
    sys::tune_socket(fd);
    c->ch = ssh_channel_new(session.native());
    if (c->ch == nullptr) {
      say(fmt::format("cannot create a channel: {}",
                      sshwords::describe(ssh_get_error(session.native()))));
      return;  // closes the socket
    }
    c->cb.userdata = c.get();
    c->cb.channel_data_function = on_data;
    c->cb.channel_eof_function = on_eof;
    c->cb.channel_close_function = on_close;
    ssh_callbacks_init(&c->cb);
    ssh_set_channel_callbacks(c->ch, &c->cb);
    ++stats.accepted;
    conns.push_back(std::move(c));
    service(*conns.back());
  }
}

void Forwarder::Impl::pull_from_libssh(Conn& c) {
  while (c.more_in_libssh && c.to_local.size() < kToLocalCap) {
    std::size_t room = kToLocalCap - c.to_local.size();
    int n = ssh_channel_read_nonblocking(c.ch, scratch.data(),
                                         static_cast<uint32_t>(std::min(room, scratch.size())), 0);
    if (n <= 0) {
      c.more_in_libssh = false;  // nothing left (or EOF/error, seen through the callbacks)
      break;
    }
    c.to_local.append(scratch.data(), static_cast<std::size_t>(n));
    stats.bytes_in += static_cast<std::size_t>(n);
    if (ssh_channel_poll(c.ch, 0) <= 0) {
      c.more_in_libssh = false;
    }
  }
}

void Forwarder::Impl::flush_local(Conn& c) {
  while (!c.to_local.empty() && !c.dead) {
    ssize_t n = ::send(c.fd.get(), c.to_local.data(), c.to_local.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.to_local.consume(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    c.dead = true;
  }
}

void Forwarder::Impl::read_local(Conn& c) {
  std::size_t window = ssh_channel_window_size(c.ch);
  std::size_t want = std::min(window, scratch.size());
  if (want == 0) {
    return;
  }
  ssize_t n = ::recv(c.fd.get(), scratch.data(), want, 0);
  if (n == 0) {
    c.local_eof = true;
    return;
  }
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      c.dead = true;
    }
    return;
  }
  stats.bytes_out += static_cast<std::size_t>(n);
  int w = ssh_channel_write(c.ch, scratch.data(), static_cast<uint32_t>(n));
  if (w < 0) {
    c.dead = true;
    return;
  }
  if (w < n) {
    c.to_remote.append(scratch.data() + w, static_cast<std::size_t>(n - w));
  }
}

void Forwarder::Impl::service(Conn& c) {
  if (!c.opened && (c.open_pending || !c.dead)) {
    // Also for a connection that died meanwhile: its open must be answered before the channel
    // can be closed and freed.
    int rc = ssh_channel_open_forward(c.ch, target.host.c_str(), target.port, "127.0.0.1",
                                      c.source_port);
    c.open_pending = rc == SSH_AGAIN;
    if (rc == SSH_AGAIN) {
      return;
    }
    if (rc != SSH_OK) {
      ++stats.open_failures;
      const std::string raw = ssh_get_error(session.native());
      if (auto f = sshwords::parse_channel_open_failure(raw)) {
        say(fmt::format("connection {}: {}", c.id,
                        sshwords::describe_open_failure(*f, target.host, target.port, {})));
      } else {
        say(fmt::format("connection {}: cannot reach {}:{} through the host: {}", c.id, target.host,
                        target.port, sshwords::describe(raw)));
      }
      c.dead = true;
      return;
    }
    c.opened = true;
  }
  if (c.dead) {
    return;
  }
  // Remote -> local: what libssh holds back may only fit once the socket has taken the rest.
  for (int round = 0; round < 8 && !c.dead; ++round) {
    pull_from_libssh(c);
    flush_local(c);
    if (!c.more_in_libssh || !c.to_local.empty()) {
      break;
    }
  }
  if (c.remote_eof && c.to_local.empty() && !c.more_in_libssh && !c.shut_wr && !c.dead) {
    ::shutdown(c.fd.get(), SHUT_WR);
    c.shut_wr = true;
  }
  // Local -> remote: whatever the window refused earlier.
  while (!c.to_remote.empty() && !c.remote_closed && !c.dead) {
    int w = ssh_channel_write(c.ch, c.to_remote.data(), static_cast<uint32_t>(c.to_remote.size()));
    if (w < 0) {
      c.dead = true;
      break;
    }
    if (w == 0) {
      break;
    }
    c.to_remote.consume(static_cast<std::size_t>(w));
  }
  if (c.local_eof && c.to_remote.empty() && !c.eof_sent && !c.remote_closed && !c.dead) {
    ssh_channel_send_eof(c.ch);
    c.eof_sent = true;
  }
  // Finished both ways, or the remote end is gone and everything it sent was delivered.
  if ((c.shut_wr && (c.eof_sent || c.remote_closed)) ||
      (c.remote_closed && c.to_local.empty() && !c.more_in_libssh)) {
    c.dead = true;
  }
}

void Forwarder::Impl::reap() {
  auto it = std::remove_if(conns.begin(), conns.end(), [](const std::unique_ptr<Conn>& c) {
    return c->dead && !c->open_pending;
  });
  conns.erase(it, conns.end());
  stats.active = conns.size();
}

Forwarder::Forwarder(ssh::Session& session, int listener, Target target, Log log,
                     std::vector<sys::Fd> waiting)
    : m_impl(std::make_unique<Impl>(session, listener, std::move(target), std::move(log))) {
  for (auto& fd : waiting) {
    m_impl->adopt(std::move(fd));
  }
}

Forwarder::~Forwarder() = default;

const Stats& Forwarder::stats() const {
  return m_impl->stats;
}
int Forwarder::listen_port() const {
  return m_impl->port;
}

End Forwarder::run(int stop_fd) {
  auto& im = *m_impl;
  std::vector<pollfd> fds;
  // Dead-peer detection: the kernel gives up on unacknowledged data after the same time, and
  // with nothing to send we ask the server for an answer every interval of silence.
  const auto ka = im.session.keepalive();
  im.session.detect_dead_peer();
  using Clock = std::chrono::steady_clock;
  KeepaliveTimer alive(std::chrono::seconds(ka.interval_s), ka.count_max, Clock::now());
  while (true) {
    for (auto& c : im.conns) {
      im.service(*c);
    }
    im.reap();
    if (ssh_is_connected(im.session.native()) == 0) {
      return End::connection_lost;
    }
    const bool pending = im.output_pending();
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({im.session.fd(), static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0});
    fds.push_back(
        {im.listener, static_cast<short>(im.conns.size() < kMaxConnections ? POLLIN : 0), 0});
    for (auto& c : im.conns) {
      short events = 0;
      if (c->opened && !c->dead && !c->local_eof && !c->remote_closed && c->to_remote.empty() &&
          !pending && ssh_channel_window_size(c->ch) > 0) {
        events |= POLLIN;
      }
      if (!c->to_local.empty() && !c->dead) {
        events |= POLLOUT;
      }
      fds.push_back({c->fd.get(), events, 0});
    }
    // Data still held in libssh for a connection that can take it: do not sleep.
    bool ready = false;
    for (const auto& c : im.conns) {
      ready =
          ready || (c->opened && !c->dead && c->more_in_libssh && c->to_local.size() < kToLocalCap);
    }
    const auto now = Clock::now();
    switch (alive.tick(now)) {
      case KeepaliveTimer::Action::dead:
        im.say(alive.no_answer("the SSH server") + "; the connection is dead");
        return End::connection_lost;
      case KeepaliveTimer::Action::send:
        im.session.send_keepalive();
        continue;
      case KeepaliveTimer::Action::none:
        break;
    }
    const auto wait =
        std::min(ready ? std::chrono::milliseconds::zero() : kLongestPoll, alive.wait_time(now));
    int rc = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (rc < 0) {
      if (errno == EINTR) {
        continue;
      }
      im.say(fmt::format("poll failed: {}", std::strerror(errno)));
      return End::connection_lost;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      return End::stopped;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      alive.heard(Clock::now());
    }
    if (fds[1].revents != 0) {
      if (!im.session.process_io(32)) {
        return End::connection_lost;
      }
    }
    // Connections accepted below are not in `fds`; they are serviced on the next round.
    const std::size_t polled = fds.size() - 3;
    for (std::size_t i = 0; i < polled && i < im.conns.size(); ++i) {
      auto& c = *im.conns[i];
      short re = fds[i + 3].revents;
      if ((re & (POLLIN | POLLHUP | POLLERR)) != 0 && c.opened && !c.local_eof && !c.dead &&
          c.to_remote.empty()) {
        im.read_local(c);
      }
      if ((re & POLLOUT) != 0) {
        im.flush_local(c);
      }
      if ((re & (POLLERR | POLLNVAL)) != 0 && (re & POLLIN) == 0) {
        c.dead = true;
      }
    }
    if ((fds[2].revents & POLLIN) != 0) {
      im.accept_all();
    }
  }
}

}  // namespace jl::tunnel
