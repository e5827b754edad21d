#pragma once

// The dead-peer check of every long wait on an SSH connection: the tunnel's forwarder, each
// ProxyJump hop's relay and `jl logs -f`. ServerAliveInterval and ServerAliveCountMax (ssh
// config) say how it goes:
//
//   - after each interval of silence from the peer, send a keepalive (a request the server must
//     answer), also after a keepalive that went unanswered for an interval;
//   - the peer is dead after interval x count_max of silence, with at least one keepalive sent
//     and unanswered for a whole interval: with count_max 1 that is after 2 x interval (one
//     keepalive at the first interval), since a quiet but healthy peer (a log nobody writes to,
//     an idle tunnel) says nothing unless asked;
//   - anything heard from the peer starts the count again.
//
// The timer reads no clock: every call takes the time (steady_clock), so it is tested with
// made-up times. Modelled on mosh's transport sender: tick() says what to do now, wait_time()
// how long until tick() has something to do; the caller's poll timeout is the std::min of that
// and its other waits. A caller that oversleeps (a stopped process) catches up one step per
// tick(): a send first, and only at the next tick(), if that one's deadline has passed too, dead.

#include <chrono>
#include <string>
#include <string_view>

namespace jl {

class KeepaliveTimer {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Action {
    none,  // nothing is due
    send,  // send a keepalive now (the timer counts it as sent)
    dead,  // the peer did not answer: end the connection
  };

  // Silence counts from `now`. `count_max` below 1 counts as 1.
  KeepaliveTimer(std::chrono::seconds interval, int count_max, Clock::time_point now);

  // Something arrived from the peer at `when`: the silence starts again there. A time no later
  // than the last one heard changes nothing, so a caller may pass the connection's last-heard
  // time on every round.
  void heard(Clock::time_point when);

  // What to do at `now`. After `send` the next keepalive (or the verdict) is due an interval
  // later; `dead` is said again on every call until something is heard.
  Action tick(Clock::time_point now);

  // How long from `now` until tick() has something to do: zero when it has now, otherwise
  // rounded up to a whole millisecond, so a poll() that waits this long wakes at or after the
  // deadline.
  std::chrono::milliseconds wait_time(Clock::time_point now) const;

  // Keepalives sent since the peer was last heard.
  int unanswered() const { return m_unanswered; }
  // How long a silent peer takes to count as dead: interval x count_max, at least 2 x interval.
  std::chrono::seconds dead_after() const;
  // "no answer from WHO for N s", N being dead_after(): the words of a `dead` verdict.
  std::string no_answer(std::string_view who) const;

 private:
  Clock::time_point due() const;

  std::chrono::seconds m_interval;
  int m_count_max;
  Clock::time_point m_last_heard;
  int m_unanswered = 0;
};

}  // namespace jl
