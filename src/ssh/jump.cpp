#include "jl/ssh/jump.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <libssh/libssh.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "jl/core/error.hpp"
#include "jl/core/keepalive.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/sys/net.hpp"

namespace jl::ssh {

namespace {

// Bytes held from the channel for the next session before jl stops reading it (libssh then
// stops growing the channel's window: back-pressure towards the far end).
constexpr std::size_t kToLocalCap = 1 << 20;
// The longest timeout poll() takes (about 24 days): "no other wait".
constexpr std::chrono::milliseconds kLongestPoll{std::numeric_limits<int>::max()};

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

struct JumpRelay::Impl {
  Session hop;
  std::string name;
  ssh_channel channel = nullptr;
  sys::Fd ours;    // the pump's end of the pair
  sys::Fd theirs;  // the next session's end, until taken
  sys::Fd stop_r, stop_w;
  Trace trace;
  std::thread thread;
  // What is in flight between the two ends; members, so that a pause keeps it.
  std::string to_local;   // from the channel, for the next session
  std::string to_remote;  // from the next session, refused by the channel's window so far
  bool paused = false;

  explicit Impl(Session s) : hop(std::move(s)) {}
  ~Impl() {
    stop_thread('x');
    if (channel != nullptr) {
      ssh_channel_close(channel);
      ssh_channel_free(channel);
    }
  }

  // 'p' pauses (the pump returns, the pair stays open), 'x' ends.
  void stop_thread(char how) {
    if (thread.joinable()) {
      [[maybe_unused]] auto n = ::write(stop_w.get(), &how, 1);
      thread.join();
    }
    char c = 0;
    while (::read(stop_r.get(), &c, 1) == 1) {
    }
  }
  void start_thread() {
    paused = false;
    thread = std::thread([this] { pump(); });
  }

  void log(std::string_view what) const {
    if (trace) {
      trace(fmt::format("jump {}: {}", name, what));
    }
  }

  // Pump until either side ends; returns why.
  std::string run();
  void pump() {
    const std::string why = run();
    if (paused) {
      return;
    }
    log(fmt::format("relay ended: {}", why));
    // The next session sees its transport end.
    ::shutdown(ours.get(), SHUT_RDWR);
  }
};

std::string JumpRelay::Impl::run() {
  std::vector<char> buf(32 * 1024);
  const ssh_session s = hop.native();
  const auto ka = hop.keepalive();
  hop.detect_dead_peer();
  KeepaliveTimer alive(std::chrono::seconds(ka.interval_s), ka.count_max, Clock::now());
  while (true) {
    // Channel -> next session.
    while (to_local.size() < kToLocalCap) {
      const int n =
          ssh_channel_read_nonblocking(channel, buf.data(), static_cast<uint32_t>(buf.size()), 0);
      if (n == SSH_ERROR) {
        return "the channel failed";
      }
      if (n <= 0) {
        break;
      }
      to_local.append(buf.data(), static_cast<std::size_t>(n));
    }
    while (!to_local.empty()) {
      const ssize_t n = ::write(ours.get(), to_local.data(), to_local.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      }
      if (n <= 0) {
        return "the next session closed its end";
      }
      to_local.erase(0, static_cast<std::size_t>(n));
    }
    if ((ssh_channel_is_eof(channel) != 0 || ssh_channel_is_closed(channel) != 0) &&
        to_local.empty() && ssh_channel_poll(channel, 0) <= 0) {
      return "the far end closed the channel";
    }
    // Next session -> channel: what the window refused earlier.
    while (!to_remote.empty()) {
      const int w =
          ssh_channel_write(channel, to_remote.data(), static_cast<uint32_t>(to_remote.size()));
      if (w < 0) {
        return "writing to the channel failed";
      }
      if (w == 0) {
        break;
      }
      to_remote.erase(0, static_cast<std::size_t>(w));
    }
    if (ssh_is_connected(s) == 0) {
      return "the connection to the jump host ended";
    }
    {
      const bool pending = (ssh_get_poll_flags(s) & SSH_WRITE_PENDING) != 0;
      const std::size_t window = ssh_channel_window_size(channel);
      pollfd fds[3] = {
          {stop_r.get(), POLLIN, 0},
          {hop.fd(), static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0},
          {ours.get(),
           static_cast<short>((to_remote.empty() && !pending && window > 0 ? POLLIN : 0) |
                              (to_local.empty() ? 0 : POLLOUT)),
           0},
      };
      // libssh may hold channel data already read from the socket: do not sleep on it.
      const bool buffered = to_local.size() < kToLocalCap && ssh_channel_poll(channel, 0) > 0;
      const auto now = Clock::now();
      switch (alive.tick(now)) {
        case KeepaliveTimer::Action::dead:
          return alive.no_answer("the jump host");
        case KeepaliveTimer::Action::send:
          hop.send_keepalive();
          continue;
        case KeepaliveTimer::Action::none:
          break;
      }
      const auto wait = std::min(buffered ? std::chrono::milliseconds::zero() : kLongestPoll,
                                 alive.wait_time(now));
      const int rc = ::poll(fds, 3, static_cast<int>(wait.count()));
      if (rc < 0 && errno != EINTR) {
        return fmt::format("poll failed: {}", std::strerror(errno));
      }
      if (rc <= 0) {
        continue;
      }
      if ((fds[0].revents & POLLIN) != 0) {
        char how = 0;
        paused = ::read(stop_r.get(), &how, 1) == 1 && how == 'p';
        return "stopped";
      }
      if (fds[1].revents != 0) {
        if ((fds[1].revents & POLLIN) != 0) {
          alive.heard(Clock::now());
        }
        if (!hop.process_io(32)) {
          return "the connection to the jump host ended";
        }
      }
      if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && to_remote.empty()) {
        const std::size_t want = std::min(window, buf.size());
        if (want > 0) {
          const ssize_t n = ::read(ours.get(), buf.data(), want);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return "the next session closed its end";
          }
          if (n > 0) {
            const int w = ssh_channel_write(channel, buf.data(), static_cast<uint32_t>(n));
            if (w < 0) {
              return "writing to the channel failed";
            }
            if (w < n) {
              to_remote.append(buf.data() + w, static_cast<std::size_t>(n - w));
            }
          }
        }
      }
    }
  }
}

JumpRelay::JumpRelay(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
JumpRelay::~JumpRelay() = default;

void JumpRelay::pause() {
  m_impl->stop_thread('p');
}

void JumpRelay::resume() {
  if (!m_impl->thread.joinable()) {
    m_impl->start_thread();
  }
}

sys::Fd JumpRelay::take_transport() {
  return std::move(m_impl->theirs);
}

std::unique_ptr<JumpRelay> JumpRelay::start(Session hop, const std::string& hop_name,
                                            const std::string& host, int port, Deadline deadline,
                                            Trace trace) {
  auto im = std::make_unique<Impl>(std::move(hop));
  im->name = hop_name;
  im->trace = std::move(trace);
  const ssh_session s = im->hop.native();
  im->channel = ssh_channel_new(s);
  if (im->channel == nullptr) {
    throw Error(Exit::ssh, fmt::format("cannot create a channel on the jump host {}", hop_name));
  }
  const auto started = Clock::now();
  int rc = SSH_AGAIN;
  while (true) {
    rc = ssh_channel_open_forward(im->channel, host.c_str(), port, "127.0.0.1", 0);
    if (rc != SSH_AGAIN) {
      break;
    }
    if (Clock::now() >= deadline) {
      throw Error(Exit::timeout,
                  fmt::format("the jump host {} did not open a channel to {}:{} in time", hop_name,
                              host, port),
                  "the jump host or its path to the next host is slow or stuck");
    }
    // Send what libssh queued, take what arrived; sleep only when that changed nothing.
    if (!im->hop.process_io(8)) {
      break;
    }
    rc = ssh_channel_open_forward(im->channel, host.c_str(), port, "127.0.0.1", 0);
    if (rc != SSH_AGAIN) {
      break;
    }
    const bool pending = (ssh_get_poll_flags(s) & SSH_WRITE_PENDING) != 0;
    pollfd p{im->hop.fd(), static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0};
    ::poll(&p, 1, 50);
    if (!im->hop.process_io(8)) {
      break;
    }
  }
  if (rc != SSH_OK) {
    const std::string raw = ssh_get_error(s);
    std::string why = sshwords::describe(raw);
    if (auto f = sshwords::parse_channel_open_failure(raw)) {
      why = sshwords::describe_open_failure(*f, host, port, {});
    }
    throw Error(
        Exit::ssh,
        fmt::format("the jump host {} cannot connect to {}:{}: {}", hop_name, host, port, why),
        "check that the jump host reaches the next host (HostName and Port in your ssh "
        "config), and that it allows forwarding (AllowTcpForwarding)");
  }
  im->log(fmt::format(
      "channel to {}:{} open in {} ms", host, port,
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
  auto [a, b] = sys::socket_pair();
  int stop[2] = {-1, -1};
  if (!a.valid() || ::pipe(stop) != 0) {
    throw Error(Exit::other, "cannot make a socket pair for a jump host");
  }
  im->stop_r.reset(stop[0]);
  im->stop_w.reset(stop[1]);
  ::fcntl(stop[0], F_SETFD, FD_CLOEXEC);
  ::fcntl(stop[1], F_SETFD, FD_CLOEXEC);
  set_nonblocking(a.get());
  im->ours = std::move(a);
  im->theirs = std::move(b);
  set_nonblocking(im->stop_r.get());
  im->start_thread();
  return std::unique_ptr<JumpRelay>(new JumpRelay(std::move(im)));
}

}  // namespace jl::ssh
