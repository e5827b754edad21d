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

#include "helper.hpp"
#include "jl/core/keepalive.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/unix_socket.hpp"

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
constexpr std::size_t kToErrCap = 4 * 1024 * 1024;  // a shared command's stderr, bounded
constexpr std::size_t kMaxPending = 64;             // control connections without a request yet
constexpr std::chrono::seconds kPendingLimit{5};
// A forwarded connection that waits this long for an answer while nothing at all comes from
// the server makes the loop check the connection.
constexpr std::chrono::seconds kStarvedAfter{2};
// TCP retransmitted the same data this many times in a row (at least 0.2 + 0.4 + 0.8 s without
// an acknowledgement): with a browser waiting, the connection counts as dead. On a lossy but
// working link three losses of the same segment in a row are a one-in-a-million event.
constexpr unsigned kStalledBackoff = 3;
// A loop that wakes this much later than it asked to did not run meanwhile (stopped).
constexpr std::chrono::seconds kOverslept{2};
// The longest timeout poll() takes (about 24 days): "no other wait".
constexpr std::chrono::milliseconds kLongestPoll{std::numeric_limits<int>::max()};
// Kept HTTP channels (mux's tcp "keep"): how long one waits for its next exchange, and how
// many wait per place.
constexpr std::chrono::seconds kKeptFor{120};
constexpr std::size_t kKeptPerTarget = 2;
// What a warm bootstrap may say before a command takes it (the login's noise and the marker).
constexpr std::size_t kWarmCap = 16 * 1024;

}  // namespace

struct Conn;

// A control connection that has not said what it wants yet.
struct Pending {
  sys::Fd fd;
  mux::LineReader lines;
  std::vector<sys::Fd> fds;
  std::chrono::steady_clock::time_point since;
};

struct Forwarder::Impl {
  ssh::Session& session;
  std::vector<Listener> listeners;
  Log log;
  Stats stats;
  int control = -1;
  ControlHandler handler;
  bool stop_asked = false;
  int warm_failures = 0;  // spare command channels in a row that died before use
  Conn* spare = nullptr;  // the spare command channel (warm), while there is one
  sys::WakeWatcher* wake = nullptr;
  // The caller's periodic check (every()), and when it is due next.
  std::chrono::milliseconds tick_period{0};
  std::function<bool()> tick;
  std::chrono::steady_clock::time_point tick_due{};
  std::vector<sys::Fd> clients;  // commands that use this connection (their hello connection)
  // The shell helper on the host that runs other commands' scripts (a master's only).
  std::unique_ptr<Helper> helper;

  // No other jl command uses the connection.
  bool idle() const;
  std::uint64_t next_id = 1;
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<Pending> pending;
  std::vector<char> scratch = std::vector<char>(kReadChunk);

  Impl(ssh::Session& s, std::vector<Listener> ls, Log lg, int ctl, ControlHandler h)
      : session(s),
        listeners(std::move(ls)),
        log(std::move(lg)),
        control(ctl),
        handler(std::move(h)) {}

  const Listener* listener(int id) const {
    for (const auto& l : listeners) {
      if (l.id == id) {
        return &l;
      }
    }
    return nullptr;
  }

  Conn& adopt(sys::Fd fd, int listener_id, Target target);

  void say(std::string_view what) const {
    if (log) {
      log(what);
    }
  }
  // About one connection of a listener: in that listener's log.
  void say(const Conn& c, std::string_view what) const;

  bool output_pending() const {
    return (ssh_get_poll_flags(session.native()) & SSH_WRITE_PENDING) != 0;
  }

  void accept_all(const Listener& l);
  void accept_control();
  void read_pending(Pending& p);
  void handle(Pending& p, const mux::Request& r);
  void service(Conn& c);
  bool open_channel(Conn& c);
  void read_local(Conn& c);
  void flush_local(Conn& c);
  void flush_err(Conn& c);
  void pull_from_libssh(Conn& c);
  void finish_exec(Conn& c);
  void read_ctrl(Conn& c);
  void prime(const Listener& l);
  void warm_up();
  void reap();
};

struct Conn {
  enum class Kind {
    browser,  // accepted on a listener: a direct-tcpip channel to the listener's target
    tcp,      // a shared direct-tcpip channel for another jl command
    exec,     // a shared exec channel for another jl command
  } kind = Kind::browser;
  Stats* stats = nullptr;
  std::uint64_t id = 0;
  int listener = 0;  // the listener it came from (browser)
  Target target;
  int source_port = 0;
  sys::Fd fd;  // the browser's socket, or the command's stdin/stdout
  ssh_channel ch = nullptr;
  ssh_channel_callbacks_struct cb{};
  bool opened = false;
  bool open_pending = false;  // a request on the channel awaits the server's answer
  ByteQueue to_local;         // from the channel, waiting for the socket
  ByteQueue to_remote;        // from the socket, waiting for channel window
  bool local_eof = false;
  bool eof_sent = false;
  bool remote_eof = false;
  bool remote_closed = false;
  bool shut_wr = false;
  bool more_in_libssh = false;  // the data callback left bytes in libssh's channel buffer
  bool dead = false;
  // Shared channels: the command's control connection (replies, then its exit status) and,
  // for exec, its stderr and what to run.
  sys::Fd ctrl;
  sys::Fd err;
  ByteQueue to_err;
  std::string command;
  std::optional<std::pair<int, int>> pty;
  int step = 0;  // exec: 0 open the session, 1 ask for the terminal, 2 exec, 3 running
  std::optional<int> exit_status;
  // A shared HTTP exchange whose channel may serve the next one (mux's tcp "keep"): the
  // command said it read a whole answer (`whole`); between exchanges the channel is `kept`,
  // with no command, since `kept_at`.
  bool keep = false;
  bool whole = false;
  bool kept = false;
  bool priming = false;  // opened by the master itself, to be kept once open
  // An exec channel the master opened itself and started the bootstrap on, which waits for
  // its command: the next exec of the bootstrap takes it, and its command's first round trip
  // is then its stdin (open and exec were paid ahead).
  bool warm = false;
  std::chrono::steady_clock::time_point kept_at{};
  // Local -> remote bytes went out at `asked` (the first since the last answer) and the
  // channel last brought data at `answered`: a connection waiting for its answer.
  std::chrono::steady_clock::time_point asked{};
  std::chrono::steady_clock::time_point answered{};
  std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();

  bool waiting() const { return asked > answered; }
  bool shared() const { return kind != Kind::browser; }

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

bool Forwarder::Impl::idle() const {
  return clients.empty() && !(helper && helper->serving()) &&
         std::none_of(conns.begin(), conns.end(), [](const auto& c) {
           return c->shared() && !c->kept && !c->priming && !c->warm;
         });
}

void Forwarder::Impl::say(const Conn& c, std::string_view what) const {
  if (const auto* l = listener(c.listener); l != nullptr && l->log) {
    l->log(what);
  } else {
    say(what);
  }
}

namespace {

// Remote -> local. Write straight to the socket when nothing is queued; keep the rest up to
// the cap; leave what does not fit in libssh (which then holds back the channel's window).
int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* user) {
  auto* c = static_cast<Conn*>(user);
  const char* p = static_cast<const char*>(data);
  c->answered = std::chrono::steady_clock::now();
  if (c->kept) {
    c->dead = true;  // a kept channel says nothing between exchanges: it is not reusable
    return static_cast<int>(len);
  }
  if (c->warm && is_stderr == 0) {
    // Before a command takes it: kept for that command (the bootstrap's marker is in it).
    if (c->to_local.size() + len > kWarmCap) {
      c->dead = true;
    } else {
      c->to_local.append(p, len);
    }
    return static_cast<int>(len);
  }
  if (is_stderr != 0) {
    // Only a shared command has a stderr to pass on (bounded: jl's scripts say little there).
    if (c->kind == Conn::Kind::exec && c->to_err.size() < kToErrCap) {
      c->to_err.append(p, std::min<std::size_t>(len, kToErrCap - c->to_err.size()));
    }
    return static_cast<int>(len);
  }
  std::size_t taken = 0;
  if (c->to_local.empty() && !c->dead && !c->shut_wr) {
    ssize_t n = sys::send_some(c->fd.get(), p, len, true);
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

void on_exit_status(ssh_session, ssh_channel, int status, void* user) {
  static_cast<Conn*>(user)->exit_status = status;
}

// A reply line on a control connection (short: it fits the socket's empty buffer).
void reply(int fd, const mux::Reply& r) {
  sys::send_all(fd, mux::encode(r), {}, std::chrono::milliseconds(200));
}

mux::Reply refusal(std::string words) {
  mux::Reply r;
  r.error = std::move(words);
  return r;
}

}  // namespace

void Forwarder::Impl::accept_all(const Listener& l) {
  for (int i = 0; i < 64 && conns.size() < kMaxConnections; ++i) {
    sys::Fd fd = sys::accept_now(l.fd);
    if (!fd.valid()) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        say(fmt::format("accept failed: {}", std::strerror(errno)));
      }
      return;
    }
    // A channel kept open to the server (or being opened to be kept) serves a browser at once
    // (one round trip saved on the first page); another is opened to be kept in its place.
    auto kept = std::find_if(conns.begin(), conns.end(), [&](const auto& k) {
      return (k->kept || k->priming) && !k->dead && k->target.host == l.target.host &&
             k->target.port == l.target.port;
    });
    if (kept != conns.end()) {
      auto& c = **kept;
      c.kept = false;
      c.priming = false;
      c.keep = false;
      c.whole = false;
      c.local_eof = false;
      c.shut_wr = false;
      c.kind = Conn::Kind::browser;
      c.listener = l.id;
      c.fd = std::move(fd);
      sys::tune_socket(c.fd.get());
      ++stats.accepted;
      prime(l);
      continue;
    }
    adopt(std::move(fd), l.id, l.target);
  }
}

Conn& Forwarder::Impl::adopt(sys::Fd fd_in, int listener_id, Target target) {
  const int fd = fd_in.get();
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  auto c = std::make_unique<Conn>();
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
      peer.sin_family == AF_INET) {
    c->source_port = ntohs(peer.sin_port);
  }
  c->stats = &stats;
  c->id = next_id++;
  c->fd = std::move(fd_in);
  c->listener = listener_id;
  c->target = std::move(target);
  if (fd >= 0) {
    sys::tune_socket(fd);
  }
  c->ch = ssh_channel_new(session.native());
  if (c->ch == nullptr) {
    say(fmt::format("cannot create a channel: {}",
                    sshwords::describe(ssh_get_error(session.native()))));
    c->dead = true;
  } else {
    c->cb.userdata = c.get();
    c->cb.channel_data_function = on_data;
    c->cb.channel_eof_function = on_eof;
    c->cb.channel_close_function = on_close;
    c->cb.channel_exit_status_function = on_exit_status;
    ssh_callbacks_init(&c->cb);
    ssh_set_channel_callbacks(c->ch, &c->cb);
  }
  ++stats.accepted;
  conns.push_back(std::move(c));
  return *conns.back();
}

void Forwarder::Impl::accept_control() {
  for (int i = 0; i < 16 && pending.size() < kMaxPending; ++i) {
    sys::Fd fd = sys::accept_now(control);
    if (!fd.valid()) {
      return;
    }
    // The socket is 0600 in a 0700 directory; the peer's uid is checked all the same.
    if (sys::peer_uid(fd.get()) != sys::own_uid()) {
      say("refused a control connection from another user");
      continue;
    }
    pending.push_back({std::move(fd), {}, {}, std::chrono::steady_clock::now()});
  }
}

void Forwarder::Impl::read_pending(Pending& p) {
  char buf[4096];
  const long n = sys::recv_with_fds(p.fd.get(), buf, sizeof buf, &p.fds);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    p.fd.reset();
    return;
  }
  if (n > 0 && !p.lines.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
    p.fd.reset();
    return;
  }
  if (auto line = p.lines.next()) {
    std::string why;
    auto r = mux::decode_request(*line, &why);
    if (!r) {
      reply(p.fd.get(), refusal("jl's master did not understand: " + why));
      p.fd.reset();
      return;
    }
    handle(p, *r);
  }
}

void Forwarder::Impl::handle(Pending& p, const mux::Request& r) {
  using Op = mux::Request::Op;
  if (static_cast<int>(p.fds.size()) != mux::fds_for(r.op)) {
    reply(p.fd.get(), refusal("descriptors missing"));
    p.fd.reset();
    return;
  }
  switch (r.op) {
    case Op::hello:
    case Op::ping: {
      mux::Reply ok;
      ok.ok = true;
      ok.pid = ::getpid();
      ok.endpoint = session.endpoint();
      if (auto at = ok.endpoint.find('@'); at != std::string::npos) {
        ok.user = ok.endpoint.substr(0, at);
      }
      reply(p.fd.get(), ok);
      if (r.op == Op::hello) {
        // A command keeps this connection for as long as it uses ours: the process lives on
        // for it even when its last tunnel closes under it (jl stop of the last session).
        clients.push_back(std::move(p.fd));
      }
      p.fd.reset();
      return;
    }
    case Op::run:
      if (helper && helper->take(p.fd, p.fds[0], p.fds[1], r.command)) {
        ++stats.shared;
        ++stats.helped;
        p.fds.clear();
        return;
      }
      [[fallthrough]];  // on a channel of its own, through the bootstrap
    case Op::exec:
    case Op::tcp: {
      if (r.op == Op::exec && !r.pty && r.command == shell::boot_line()) {
        for (auto& w : conns) {
          if (w->warm && w->opened && !w->dead && !w->remote_eof) {
            w->warm = false;
            spare = nullptr;
            w->fd = std::move(p.fds[0]);
            w->err = std::move(p.fds[1]);
            w->ctrl = std::move(p.fd);
            sys::tune_socket(w->fd.get());
            sys::tune_socket(w->err.get());
            ++stats.shared;
            p.fds.clear();
            mux::Reply ok;
            ok.ok = true;
            reply(w->ctrl.get(), ok);
            ++stats.ahead;
            warm_failures = 0;
            warm_up();  // the next one
            return;
          }
        }
      }
      if (r.op == Op::tcp && r.keep) {
        for (auto& k : conns) {
          if (k->kept && !k->dead && k->target.host == r.host && k->target.port == r.port) {
            k->kept = false;
            k->whole = false;
            k->local_eof = false;
            k->shut_wr = false;
            k->fd = std::move(p.fds[0]);
            k->ctrl = std::move(p.fd);
            sys::tune_socket(k->fd.get());
            ++stats.shared;
            p.fds.clear();
            mux::Reply ok;
            ok.ok = true;
            ok.reused = true;
            reply(k->ctrl.get(), ok);
            return;
          }
        }
      }
      auto& c = adopt(std::move(p.fds[0]), 0, {r.host, r.port});
      c.kind = r.op == Op::tcp ? Conn::Kind::tcp : Conn::Kind::exec;
      c.keep = r.op == Op::tcp && r.keep;
      c.ctrl = std::move(p.fd);
      if (r.op != Op::tcp) {
        c.err = std::move(p.fds[1]);
        sys::tune_socket(c.err.get());
        c.command = r.command;
        c.pty = r.pty;
      }
      if (r.op == Op::run) {
        // The command has no stdin: the bootstrap's payload is all it gets.
        c.command = shell::boot_line();
        const auto payload = shell::boot_payload(r.command);
        c.to_remote.append(payload.data(), payload.size());
        c.local_eof = true;
      }
      ++stats.shared;
      p.fds.clear();
      if (c.dead) {
        reply(c.ctrl.get(), refusal("cannot create a channel"));
      }
      return;
    }
    case Op::forward:
    case Op::close: {
      mux::Reply answer = handler ? handler(r, p.fds) : refusal("this tunnel takes no tunnels");
      reply(p.fd.get(), answer);
      p.fd.reset();
      return;
    }
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
    ssize_t n = sys::send_some(c.fd.get(), c.to_local.data(), c.to_local.size());
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

void Forwarder::Impl::flush_err(Conn& c) {
  while (!c.to_err.empty() && c.err.valid()) {
    ssize_t n = sys::send_some(c.err.get(), c.to_err.data(), c.to_err.size());
    if (n > 0) {
      c.to_err.consume(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    c.to_err = ByteQueue();  // nobody reads it any more
    return;
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
  if (!c.waiting()) {
    c.asked = std::chrono::steady_clock::now();
  }
  int w = ssh_channel_write(c.ch, scratch.data(), static_cast<uint32_t>(n));
  if (w < 0) {
    c.dead = true;
    return;
  }
  if (w < n) {
    c.to_remote.append(scratch.data() + w, static_cast<std::size_t>(n - w));
  }
}

// Open the connection's channel (non-blocking: called again while the server has not
// answered). True once it is open; a failure marks the connection dead.
bool Forwarder::Impl::open_channel(Conn& c) {
  auto failed = [&](const std::string& raw) {
    if (c.warm) {
      say(fmt::format("no spare command channel: {}", sshwords::describe(raw)));
    } else if (c.priming) {
      // Nothing waits for it: the next check opens a channel of its own.
    } else if (c.shared()) {
      reply(c.ctrl.get(), refusal(raw));
    } else {
      ++stats.open_failures;
      if (auto f = sshwords::parse_channel_open_failure(raw)) {
        say(c, fmt::format("connection {}: {}", c.id,
                           sshwords::describe_open_failure(*f, c.target.host, c.target.port, {})));
      } else {
        say(c, fmt::format("connection {}: cannot reach {}:{} through the host: {}", c.id,
                           c.target.host, c.target.port, sshwords::describe(raw)));
      }
    }
    c.dead = true;
    return false;
  };
  int rc = SSH_OK;
  if (c.kind != Conn::Kind::exec) {
    rc = ssh_channel_open_forward(c.ch, c.target.host.c_str(), c.target.port, "127.0.0.1",
                                  c.source_port);
  } else {
    while (c.step < 3) {
      if (c.step == 0) {
        rc = ssh_channel_open_session(c.ch);
      } else if (c.step == 1 && c.pty) {
        rc = ssh_channel_request_pty_size(c.ch, "xterm", c.pty->first, c.pty->second);
        if (rc == SSH_ERROR && ssh_channel_is_open(c.ch) != 0) {
          c.pty.reset();  // PermitTTY no: the command runs without one, as Session::spawn does
          rc = SSH_OK;
        }
      } else if (c.step == 2) {
        rc = ssh_channel_request_exec(c.ch, c.command.c_str());
      }
      if (rc != SSH_OK) {
        break;
      }
      ++c.step;
    }
  }
  c.open_pending = rc == SSH_AGAIN;
  if (rc == SSH_AGAIN) {
    return false;
  }
  if (rc != SSH_OK) {
    return failed(ssh_get_error(session.native()));
  }
  c.opened = true;
  if (c.priming) {
    c.priming = false;
    c.kept = true;
    c.kept_at = std::chrono::steady_clock::now();
    return false;
  }
  if (c.warm) {
    return false;  // it waits for a command
  }
  if (c.shared()) {
    mux::Reply ok;
    ok.ok = true;
    ok.pty = c.pty.has_value();
    reply(c.ctrl.get(), ok);
  }
  return true;
}

// A shared command's channel has closed: once its output is delivered, pass on the end of
// stdout and stderr, then how it ended.
void Forwarder::Impl::finish_exec(Conn& c) {
  if (!c.remote_closed || !c.to_local.empty() || c.more_in_libssh) {
    return;
  }
  if (!c.shut_wr) {
    ::shutdown(c.fd.get(), SHUT_WR);
    c.shut_wr = true;
  }
  flush_err(c);
  if (!c.to_err.empty()) {
    return;
  }
  ::shutdown(c.err.get(), SHUT_WR);
  mux::Reply end;
  end.ended = true;
  end.exit_status = c.exit_status;
  reply(c.ctrl.get(), end);
  c.dead = true;
}

void Forwarder::Impl::service(Conn& c) {
  if (c.kept) {
    if (c.remote_eof || c.more_in_libssh ||
        std::chrono::steady_clock::now() - c.kept_at > kKeptFor) {
      c.dead = true;  // its server closed it, spoke out of turn, or it waited long enough
    }
    return;
  }
  if (!c.opened && (c.open_pending || !c.dead)) {
    // Also for a connection that died meanwhile: its open must be answered before the channel
    // can be closed and freed.
    if (!open_channel(c)) {
      return;
    }
  }
  if (c.warm) {
    if (c.remote_closed || c.remote_eof) {
      c.dead = true;  // its login shell did not wait (nologin, a ForceCommand): none then
      ++warm_failures;
    }
    return;
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
  if (c.kind == Conn::Kind::exec) {
    flush_err(c);
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
  if (c.keep) {
    // The command's control connection decides its end (read_ctrl): HTTP needs no half-close,
    // and an EOF would end the server's side of a channel meant to be kept.
    if (c.remote_closed && c.to_local.empty() && !c.more_in_libssh) {
      c.dead = true;
    }
    return;
  }
  if (c.local_eof && c.to_remote.empty() && !c.eof_sent && !c.remote_closed && !c.dead) {
    ssh_channel_send_eof(c.ch);
    c.eof_sent = true;
  }
  if (c.kind == Conn::Kind::exec) {
    finish_exec(c);  // an exec ends with its channel, whatever happened to stdin
    return;
  }
  // Finished both ways, or the remote end is gone and everything it sent was delivered.
  if ((c.shut_wr && (c.eof_sent || c.remote_closed)) ||
      (c.remote_closed && c.to_local.empty() && !c.more_in_libssh)) {
    c.dead = true;
  }
}

// A shared channel's command spoke or went away on its control connection. A kept HTTP
// exchange whose command read the whole answer ("k") waits for the next one; any other
// channel is closed with its command.
void Forwarder::Impl::read_ctrl(Conn& c) {
  char buf[16];
  while (true) {
    const ssize_t n = ::recv(c.ctrl.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      c.whole =
          c.whole || (c.keep && std::string_view(buf, static_cast<std::size_t>(n)).find('k') !=
                                    std::string_view::npos);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    break;
  }
  const bool reusable = c.keep && c.whole && c.opened && !c.dead && !c.remote_eof &&
                        !c.remote_closed && !c.eof_sent && c.to_local.empty() &&
                        c.to_remote.empty() && !c.more_in_libssh;
  const auto waiting = std::count_if(conns.begin(), conns.end(), [&](const auto& k) {
    return k->kept && !k->dead && k->target.host == c.target.host &&
           k->target.port == c.target.port;
  });
  if (!reusable || static_cast<std::size_t>(waiting) >= kKeptPerTarget) {
    c.dead = true;  // the command is gone: close its channel
    return;
  }
  c.kept = true;
  c.kept_at = std::chrono::steady_clock::now();
  c.fd.reset();
  c.ctrl.reset();
}

// A master keeps a channel open to each Jupyter server it forwards to, so that the first HTTP
// check of another command (jl status) costs one round trip too.
void Forwarder::Impl::prime(const Listener& l) {
  if (control < 0 || !l.jupyter || std::any_of(conns.begin(), conns.end(), [&](const auto& k) {
        return (k->kept || k->priming) && !k->dead && k->target.host == l.target.host &&
               k->target.port == l.target.port;
      })) {
    return;
  }
  auto& c = adopt(sys::Fd{}, 0, l.target);
  c.kind = Conn::Kind::tcp;
  c.keep = true;
  c.priming = true;
  --stats.accepted;  // not a connection anyone made
}

// A master keeps one exec channel with the bootstrap started and waiting, so that another
// command's conversation (the probe, then the plan) starts without the open and exec round
// trips. One at a time; none while one is being made or when the last one died young.
void Forwarder::Impl::warm_up() {
  if (control < 0 || warm_failures >= 3 || (spare != nullptr && !spare->dead)) {
    return;
  }
  auto& c = adopt(sys::Fd{}, 0, {});
  c.kind = Conn::Kind::exec;
  c.warm = true;
  c.command = shell::boot_line();
  --stats.accepted;
  spare = &c;
}

void Forwarder::Impl::reap() {
  auto it = std::remove_if(conns.begin(), conns.end(), [this](const std::unique_ptr<Conn>& c) {
    const bool gone = c->dead && !c->open_pending;
    if (gone && c.get() == spare) {
      spare = nullptr;
    }
    return gone;
  });
  conns.erase(it, conns.end());
  stats.active = conns.size();
  std::erase_if(pending, [](const Pending& p) {
    return !p.fd.valid() || std::chrono::steady_clock::now() - p.since > kPendingLimit;
  });
}

Forwarder::Forwarder(ssh::Session& session, std::vector<Listener> listeners, Log log,
                     std::vector<Held> waiting, int control, ControlHandler handler)
    : m_impl(std::make_unique<Impl>(session, std::move(listeners), std::move(log), control,
                                    std::move(handler))) {
  if (control >= 0) {
    m_impl->helper = std::make_unique<Helper>(session.native(), m_impl->log);
    for (const auto& l : m_impl->listeners) {
      m_impl->prime(l);
    }
    m_impl->warm_up();
  }
  for (auto& h : waiting) {
    if (const auto* l = m_impl->listener(h.listener)) {
      m_impl->service(m_impl->adopt(std::move(h.fd), l->id, l->target));
    }
  }
}

Forwarder::~Forwarder() = default;

const Stats& Forwarder::stats() const {
  return m_impl->stats;
}

void Forwarder::add_listener(Listener listener) {
  m_impl->listeners.push_back(std::move(listener));
  m_impl->prime(m_impl->listeners.back());
}

void Forwarder::watch(sys::WakeWatcher& wake) {
  m_impl->wake = &wake;
}

void Forwarder::every(std::chrono::milliseconds period, std::function<bool()> tick) {
  m_impl->tick_period = std::max(period, std::chrono::milliseconds(100));
  m_impl->tick = std::move(tick);
  m_impl->tick_due = std::chrono::steady_clock::now() + m_impl->tick_period;
}

void Forwarder::stop_when_idle() {
  m_impl->stop_asked = true;
}

void Forwarder::remove_listener(int id) {
  std::erase_if(m_impl->listeners, [id](const Listener& l) { return l.id == id; });
  for (auto& c : m_impl->conns) {
    if (c->kind == Conn::Kind::browser && c->listener == id) {
      c->dead = true;
    }
  }
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
  // When something last came from the server, and when the wake watcher is next asked.
  auto server_heard = Clock::now();
  auto wake_check = Clock::now();
  auto suspect = [&](KeepaliveTimer::Suspicion why, std::string_view words) {
    if (!alive.probing()) {
      im.say(fmt::format("{}: checking the SSH connection", words));
    }
    alive.suspect(why, Clock::now());
  };
  while (true) {
    for (auto& c : im.conns) {
      im.service(*c);
    }
    if (im.helper) {
      im.helper->service(Clock::now());
    }
    im.reap();
    im.warm_up();  // a spare exec channel again, once the last was taken or died
    if (im.stop_asked && im.idle()) {
      return End::stopped;
    }
    if (ssh_is_connected(im.session.native()) == 0) {
      return End::connection_lost;
    }
    if (im.tick && Clock::now() >= im.tick_due) {
      if (!im.tick()) {
        return End::stopped;
      }
      im.tick_due = Clock::now() + im.tick_period;
      continue;  // the check may have left data in libssh for the connections
    }
    const bool pending = im.output_pending();
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    fds.push_back({im.session.fd(), static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0});
    fds.push_back(
        {im.control, static_cast<short>(im.pending.size() < kMaxPending ? POLLIN : 0), 0});
    const std::size_t first_listener = fds.size();
    const std::size_t listeners = im.listeners.size();
    for (const auto& l : im.listeners) {
      fds.push_back({l.fd, static_cast<short>(im.conns.size() < kMaxConnections ? POLLIN : 0), 0});
    }
    const std::size_t first_pending = fds.size();
    const std::size_t pendings = im.pending.size();
    for (const auto& p : im.pending) {
      fds.push_back({p.fd.get(), POLLIN, 0});
    }
    const std::size_t first_conn = fds.size();
    const std::size_t polled = im.conns.size();
    for (auto& c : im.conns) {
      short events = 0;
      if (c->opened && !c->dead && !c->local_eof && !c->remote_closed && c->to_remote.empty() &&
          !pending && ssh_channel_window_size(c->ch) > 0) {
        events |= POLLIN;
      }
      if ((!c->to_local.empty() || !c->to_err.empty()) && !c->dead) {
        events |= POLLOUT;
      }
      fds.push_back({c->fd.get(), events, 0});
      // A shared channel's command went away when its control connection closes.
      fds.push_back({c->ctrl.valid() ? c->ctrl.get() : -1, POLLIN, 0});
    }
    const std::size_t first_client = fds.size();
    for (const auto& c : im.clients) {
      fds.push_back({c.get(), POLLIN, 0});
    }
    const std::size_t helper_at = fds.size();
    if (im.helper) {
      im.helper->add_polls(fds);
    }
    const std::size_t wake_at = fds.size();
    fds.push_back({im.wake != nullptr ? im.wake->fd() : -1, POLLIN, 0});
    // Data still held in libssh for a connection that can take it: do not sleep.
    bool ready = false;
    // A browser waiting for an answer while the whole connection is silent.
    std::optional<Clock::time_point> starving;
    for (const auto& c : im.conns) {
      ready =
          ready || (c->opened && !c->dead && c->more_in_libssh && c->to_local.size() < kToLocalCap);
      // Waiting for data, or for its channel to open.
      const auto since = c->opened ? c->asked : c->created;
      if (!c->dead && (c->opened ? c->waiting() : c->open_pending) && since > server_heard) {
        starving = std::min(starving.value_or(since), since);
      }
    }
    const auto now = Clock::now();
    // A browser waits, and the kernel has sent the connection's data again and again without
    // an answer: the path failed (a cut shorter than the keepalive's verdict leaves TCP in a
    // backoff of many seconds even once the path is back). A new connection gets through at
    // once; this one would only when its next retransmission comes.
    if (starving) {
      if (const auto stall = sys::tcp_stall(im.session.fd());
          stall && stall->unacked > 0 && stall->backoff >= kStalledBackoff) {
        im.say(
            fmt::format("the server has acknowledged nothing through {} retransmissions while "
                        "a connection waits: the connection is dead",
                        stall->backoff));
        return End::connection_lost;
      }
    }
    if (starving && now - *starving >= kStarvedAfter) {
      suspect(
          KeepaliveTimer::Suspicion::starved,
          fmt::format("a connection waited {} s for data while the server said nothing",
                      std::chrono::duration_cast<std::chrono::seconds>(now - *starving).count()));
      starving.reset();
    }
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
    auto wait =
        std::min(ready ? std::chrono::milliseconds::zero() : kLongestPoll, alive.wait_time(now));
    if (pendings > 0) {
      wait = std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(1));
    }
    if (im.tick) {
      wait =
          std::min(wait, std::max(std::chrono::milliseconds::zero(),
                                  std::chrono::ceil<std::chrono::milliseconds>(im.tick_due - now)));
    }
    if (starving && !alive.probing()) {
      wait = std::min(
          wait, std::chrono::ceil<std::chrono::milliseconds>(*starving + kStarvedAfter - now));
    }
    if (im.wake != nullptr) {
      // A resume is seen only by comparing clocks: poll's timeout does not count a sleep.
      wait =
          std::min(wait, std::max(std::chrono::milliseconds::zero(),
                                  std::chrono::ceil<std::chrono::milliseconds>(wake_check - now)));
    }
    int rc = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    const auto woke = Clock::now();
    if (woke - now > wait + kOverslept) {
      im.say(
          fmt::format("the tunnel did not run for {} s (stopped?): checking the SSH connection",
                      std::chrono::duration_cast<std::chrono::seconds>(woke - now - wait).count()));
      alive.resume(woke);
      server_heard = woke;
    }
    if (im.wake != nullptr && ((fds[wake_at].revents & POLLIN) != 0 || woke >= wake_check)) {
      wake_check = woke + im.wake->check_interval();
      switch (im.wake->check()) {
        case sys::WakeWatcher::Event::resumed:
          im.say("the computer woke from sleep: checking the SSH connection");
          alive.resume(woke);
          server_heard = woke;
          break;
        case sys::WakeWatcher::Event::network_changed:
          suspect(KeepaliveTimer::Suspicion::network_changed, "the network changed");
          break;
        case sys::WakeWatcher::Event::none:
          break;
      }
    }
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
      server_heard = Clock::now();
      alive.heard(server_heard);
    }
    if (fds[1].revents != 0) {
      if (!im.session.process_io(32)) {
        return End::connection_lost;
      }
    }
    // Connections accepted below are not in `fds`; they are serviced on the next round.
    for (std::size_t i = 0; i < polled && i < im.conns.size(); ++i) {
      auto& c = *im.conns[i];
      short re = fds[first_conn + 2 * i].revents;
      if ((re & (POLLIN | POLLHUP | POLLERR)) != 0 && c.opened && !c.local_eof && !c.dead &&
          c.to_remote.empty()) {
        im.read_local(c);
      }
      if ((re & POLLOUT) != 0) {
        im.flush_local(c);
        if (c.kind == Conn::Kind::exec) {
          im.flush_err(c);
        }
      }
      if ((re & (POLLERR | POLLNVAL)) != 0 && (re & POLLIN) == 0) {
        c.dead = true;
      }
      if (fds[first_conn + 2 * i + 1].revents != 0 && c.ctrl.valid()) {
        im.read_ctrl(c);
      }
    }
    if (im.helper) {
      im.helper->handle_polls(&fds[helper_at]);
    }
    // A command that no longer uses the connection closes its hello connection.
    for (std::size_t i = helper_at - first_client; i-- > 0;) {
      if (fds[first_client + i].revents != 0 && i < im.clients.size()) {
        char buf[64];
        const ssize_t n = ::recv(im.clients[i].get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          im.clients.erase(im.clients.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
    // Requests may add or remove listeners: read them after the listeners' own events.
    std::vector<int> accepting;
    for (std::size_t i = 0; i < listeners && i < im.listeners.size(); ++i) {
      if ((fds[first_listener + i].revents & POLLIN) != 0) {
        accepting.push_back(im.listeners[i].id);
      }
    }
    for (int id : accepting) {
      if (const auto* l = im.listener(id)) {
        const Listener copy = *l;
        im.accept_all(copy);
      }
    }
    for (std::size_t i = 0; i < pendings && i < im.pending.size(); ++i) {
      if (fds[first_pending + i].revents != 0 && im.pending[i].fd.valid()) {
        im.read_pending(im.pending[i]);
      }
    }
    if (im.control >= 0 && (fds[2].revents & POLLIN) != 0) {
      im.accept_control();
    }
  }
}

}  // namespace jl::tunnel
