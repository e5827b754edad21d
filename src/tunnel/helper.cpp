#include "helper.hpp"

#include <fmt/format.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include "jl/core/helper.hpp"
#include "jl/core/mux.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/unix_socket.hpp"

namespace jl::tunnel {

namespace {

using Clock = std::chrono::steady_clock;

// The loop has this long to say it is ready (a login shell's rc files run first).
constexpr std::chrono::seconds kBootLimit{15};
// After a failure it is started again this much later, and not after kMaxFailures.
constexpr std::chrono::seconds kRetryAfter{30};
constexpr int kMaxFailures = 3;
// A job's answer waiting for its command to read it (jl's scripts answer in kilobytes).
constexpr std::size_t kAnswerCap = 16 * 1024 * 1024;

void reply(int fd, const mux::Reply& r) {
  sys::send_all(fd, mux::encode(r), {}, std::chrono::milliseconds(200));
}

// Write what the socket takes now; false when the reader is gone.
bool flush(int fd, std::string& queue) {
  while (!queue.empty()) {
    const ssize_t n = sys::send_some(fd, queue.data(), queue.size(), true);
    if (n > 0) {
      queue.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
  return true;
}

}  // namespace

struct Helper::Impl {
  ssh_session session;
  Log log;
  ssh_channel ch = nullptr;
  ssh_channel_callbacks_struct cb{};
  enum class Step { off, opening, executing, booting, ready } step = Step::off;
  int failures = 0;
  Clock::time_point retry_at{};
  Clock::time_point booted_at{};
  helper::Reader reader;
  std::string to_remote;  // waiting for the channel's window
  bool closed = false;    // the channel closed under us
  std::string broken;     // why the stream stopped being the helper's

  struct Job {
    std::uint64_t id = 0;
    sys::Fd ctrl;
    sys::Fd io;
    sys::Fd err;
    std::string out_q;
    std::string err_q;
    bool done = false;
    int status = 0;
  };
  std::optional<Job> job;
  std::uint64_t next_id = 1;

  Impl(ssh_session s, Log l) : session(s), log(std::move(l)) {}
  ~Impl() { drop_channel(); }

  void say(std::string_view what) const {
    if (log) {
      log(what);
    }
  }

  void drop_channel() {
    if (ch == nullptr) {
      return;
    }
    ssh_remove_channel_callbacks(ch, &cb);
    if (!closed && ssh_channel_is_open(ch) != 0) {
      ssh_channel_close(ch);
    }
    ssh_channel_free(ch);
    ch = nullptr;
  }

  // The helper is no more: its job (if any) ends with no status and a line on its stderr.
  void fail(const std::string& why, Clock::time_point now) {
    ++failures;
    say(
        fmt::format("the shell helper on the host {}; shared commands get channels of their "
                    "own{}",
                    why, failures < kMaxFailures ? " until it is started again" : ""));
    drop_channel();
    step = Step::off;
    retry_at = now + kRetryAfter;
    reader = helper::Reader();
    to_remote.clear();
    closed = false;
    if (job) {
      job->err_q += fmt::format("jl: the shell helper on the host {} while it ran this\n", why);
      job->done = true;
      job->status = -1;
    }
  }

  void on_piece(helper::Piece& p) {
    using Kind = helper::Piece::Kind;
    switch (p.kind) {
      case Kind::ready:
        step = Step::ready;
        failures = 0;
        say(fmt::format(
            "the shell helper on the host is ready ({} ms): other commands' scripts "
            "run there",
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - booted_at)
                .count()));
        return;
      case Kind::out:
      case Kind::err:
        if (job && job->id == p.id && job->ctrl.valid()) {
          auto& q = p.kind == Kind::out ? job->out_q : job->err_q;
          if (q.size() < kAnswerCap) {
            q += p.bytes;
          }
        }
        return;
      case Kind::done:
        if (job && job->id == p.id) {
          job->done = true;
          job->status = p.status;
        }
        return;
    }
  }

  void end_job() {
    if (job->ctrl.valid()) {
      ::shutdown(job->io.get(), SHUT_WR);
      ::shutdown(job->err.get(), SHUT_WR);
      mux::Reply end;
      end.ended = true;
      if (job->status >= 0) {
        end.exit_status = job->status;
      }
      reply(job->ctrl.get(), end);
    }
    job.reset();
  }

  void detach() {
    job->ctrl.reset();
    job->io.reset();
    job->err.reset();
    job->out_q.clear();
    job->err_q.clear();
  }
};

namespace {

int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* user) {
  auto* im = static_cast<Helper::Impl*>(user);
  if (is_stderr != 0 || !im->broken.empty()) {
    return static_cast<int>(len);  // the loop's own stderr (the login's noise): not an answer
  }
  std::vector<helper::Piece> pieces;
  const bool ok = im->reader.feed(std::string_view(static_cast<const char*>(data), len), pieces);
  for (auto& p : pieces) {
    im->on_piece(p);
  }
  if (!ok) {
    im->broken = "said something that is not the helper's";
  }
  return static_cast<int>(len);
}

void on_close(ssh_session, ssh_channel, void* user) {
  static_cast<Helper::Impl*>(user)->closed = true;
}

}  // namespace

Helper::Helper(ssh_session_struct* session, Log log)
    : m(std::make_unique<Impl>(session, std::move(log))) {}

Helper::~Helper() = default;

bool Helper::ready() const {
  return m->step == Impl::Step::ready && m->broken.empty() && !m->closed;
}

bool Helper::serving() const {
  return m->job && m->job->ctrl.valid();
}

bool Helper::take(sys::Fd& ctrl, sys::Fd& io, sys::Fd& err, const std::string& command) {
  if (!ready() || m->job || !m->to_remote.empty()) {
    return false;
  }
  Impl::Job job;
  job.id = m->next_id++;
  job.ctrl = std::move(ctrl);
  job.io = std::move(io);
  job.err = std::move(err);
  job.out_q = std::string(shell::kBootMarker);  // as the bootstrap of a channel says it
  m->to_remote = helper::job(job.id, command);
  mux::Reply ok;
  ok.ok = true;
  reply(job.ctrl.get(), ok);
  m->job = std::move(job);
  service(Clock::now());
  return true;
}

void Helper::service(Clock::time_point now) {
  auto& im = *m;
  using Step = Impl::Step;
  if (im.step == Step::off && im.failures < kMaxFailures && now >= im.retry_at) {
    im.ch = ssh_channel_new(im.session);
    if (im.ch == nullptr) {
      im.fail(
          fmt::format("could not be started ({})", sshwords::describe(ssh_get_error(im.session))),
          now);
    } else {
      im.cb.userdata = &im;
      im.cb.channel_data_function = on_data;
      im.cb.channel_close_function = on_close;
      ssh_callbacks_init(&im.cb);
      ssh_set_channel_callbacks(im.ch, &im.cb);
      im.step = Step::opening;
    }
  }
  if (im.step == Step::opening || im.step == Step::executing) {
    const int rc = im.step == Step::opening
                       ? ssh_channel_open_session(im.ch)
                       : ssh_channel_request_exec(im.ch, std::string(shell::boot_line()).c_str());
    if (rc == SSH_OK && im.step == Step::opening) {
      im.step = Step::executing;
      service(now);
      return;
    }
    if (rc == SSH_OK) {
      im.step = Step::booting;
      im.booted_at = now;
      im.to_remote = shell::boot_payload(helper::script());
    } else if (rc != SSH_AGAIN) {
      im.fail(
          fmt::format("could not be started ({})", sshwords::describe(ssh_get_error(im.session))),
          now);
    }
  }
  if (im.step != Step::off) {
    if (!im.broken.empty()) {
      im.fail(im.broken, now);
      im.broken.clear();
    } else if (im.closed) {
      im.fail("ended", now);
    } else if (im.step == Step::booting && now - im.booted_at > kBootLimit) {
      im.fail(fmt::format("did not start within {} s", kBootLimit.count()), now);
    }
  }
  while (im.ch != nullptr && !im.to_remote.empty()) {
    const int w =
        ssh_channel_write(im.ch, im.to_remote.data(), static_cast<uint32_t>(im.to_remote.size()));
    if (w < 0) {
      im.fail("could not be written to", now);
      break;
    }
    if (w == 0) {
      break;
    }
    im.to_remote.erase(0, static_cast<std::size_t>(w));
  }
  if (im.job && im.job->ctrl.valid()) {
    if (!flush(im.job->io.get(), im.job->out_q) || !flush(im.job->err.get(), im.job->err_q)) {
      im.detach();  // the command went away
    }
  }
  if (im.job && im.job->done && im.job->out_q.empty() && im.job->err_q.empty()) {
    im.end_job();
  }
}

void Helper::add_polls(std::vector<pollfd>& fds) const {
  const auto* job = m->job && m->job->ctrl.valid() ? &*m->job : nullptr;
  fds.push_back({job != nullptr && !job->out_q.empty() ? job->io.get() : -1, POLLOUT, 0});
  fds.push_back({job != nullptr && !job->err_q.empty() ? job->err.get() : -1, POLLOUT, 0});
  fds.push_back({job != nullptr ? job->ctrl.get() : -1, POLLIN, 0});
}

void Helper::handle_polls(const pollfd* fds) {
  if (!m->job || !m->job->ctrl.valid()) {
    return;
  }
  if (fds[2].revents != 0) {
    char byte = 0;
    const ssize_t n = ::recv(m->job->ctrl.get(), &byte, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      m->detach();  // the command is gone; the job's answer is read and dropped
      return;
    }
  }
  if (fds[0].revents != 0 || fds[1].revents != 0) {
    service(Clock::now());
  }
}

}  // namespace jl::tunnel
