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
//
// A probe on suspicion: when something suggests the peer may be gone (the computer woke from
// sleep, the network changed, a forwarded connection waits for data in vain), suspect() makes
// the next tick() send a keepalive at once and gives the answer a short deadline,
// probe_deadline(), instead of interval x count_max. Anything heard at or after the suspicion
// ends the probe. The probe runs beside the interval schedule and never delays its verdict:
// while no probe is outstanding, the schedule is the one above, unchanged.
//
// The probe's deadline, from a round-trip estimate kept as RFC 6298 does for TCP's RTO (srtt and
// rttvar, gains 1/8 and 1/4):
//
//   clamp(4 x (srtt + 4 x rttvar) + 1 s, 1.5 s, 5 s), and 3 s before the first sample.
//
// srtt + 4 x rttvar is what TCP itself waits before it sends a lost segment again (its RTO,
// at least 200 ms on Linux), so 4 of those and a second more let a keepalive or its answer be
// lost and sent again twice, with time for a busy server, on a slow lossy link under load (150
// ms RTT, 1% loss: about 1.6 to 2.8 s). 1.5 s at least, since a fast link's estimate is a few
// milliseconds but TCP still waits 200 ms or more to send again; 5 s at most, since the point is
// to know sooner than the interval schedule would. A sample is the time from a keepalive sent
// with nothing outstanding (no keepalive unanswered, no probe) to the next thing heard after
// it, whatever that is: a keepalive answered late or lost and sent again counts from the first
// send, so the estimate errs long. A suspicion drops the sample under way (the clock or the path
// changed under it).

#include <chrono>
#include <optional>
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
  // Why the peer may be gone: the words of a verdict after a probe say it.
  enum class Suspicion {
    resumed,          // the computer woke from sleep
    network_changed,  // an interface, address or route changed
    starved,          // a forwarded connection waited for data in vain
  };

  // Silence counts from `now`. `count_max` below 1 counts as 1.
  KeepaliveTimer(std::chrono::seconds interval, int count_max, Clock::time_point now);

  // Something arrived from the peer at `when`: the silence starts again there. A time no later
  // than the last one heard changes nothing, so a caller may pass the connection's last-heard
  // time on every round. It also ends a probe when `when` is no earlier than the suspicion, and
  // gives a round-trip sample when a keepalive was waiting for one.
  void heard(Clock::time_point when);

  // The peer may be gone (see Suspicion): the next tick() sends a keepalive, and if nothing is
  // heard within probe_deadline() of that send, tick() says `dead`. While a probe is waiting (to
  // be sent or for its answer) another suspicion changes nothing, not even the reason.
  void suspect(Suspicion why, Clock::time_point now);

  // The owner did not run for a while (its process was stopped, or the computer slept and its
  // clock kept counting): the peer's silence over that time says nothing, so the schedule
  // starts again at `now`, and a probe asks at once whether the connection survived (a
  // resume), rather than finding it dead on the stale schedule.
  void resume(Clock::time_point now);

  // What to do at `now`. After `send` the next keepalive (or the verdict) is due an interval
  // later, or sooner for a probe; `dead` is said again on every call until something is heard.
  Action tick(Clock::time_point now);

  // How long from `now` until tick() has something to do: zero when it has now, otherwise
  // rounded up to a whole millisecond, so a poll() that waits this long wakes at or after the
  // deadline.
  std::chrono::milliseconds wait_time(Clock::time_point now) const;

  // Keepalives sent on the interval schedule since the peer was last heard (a probe is not
  // counted here).
  int unanswered() const { return m_unanswered; }
  // A probe is waiting: to be sent, or for its answer.
  bool probing() const { return m_probe != Probe::none; }
  // The smoothed round-trip time, once there is a sample.
  std::optional<std::chrono::milliseconds> rtt() const;
  // How long a probe sent now would wait for an answer (the formula above).
  std::chrono::milliseconds probe_deadline() const;
  // How long a silent peer takes to count as dead: interval x count_max, at least 2 x interval.
  std::chrono::seconds dead_after() const;
  // The words of a `dead` verdict: "no answer from WHO for N s", N being dead_after(), or after
  // a probe "no answer from WHO within 1.8 s of a check after a network change" (the probe's
  // deadline to a tenth of a second, and the reason it was sent).
  std::string no_answer(std::string_view who) const;

 private:
  enum class Probe { none, pending, sent };

  Clock::time_point due() const;
  bool nothing_outstanding() const { return m_unanswered == 0 && m_probe != Probe::sent; }
  void sample(Clock::duration r);

  std::chrono::seconds m_interval;
  int m_count_max;
  Clock::time_point m_last_heard;
  int m_unanswered = 0;

  // The round-trip estimate: when the sample under way started, and srtt/rttvar once sampled.
  std::optional<Clock::time_point> m_sample_from;
  std::optional<Clock::duration> m_srtt;
  Clock::duration m_rttvar{};

  Probe m_probe = Probe::none;
  Suspicion m_why = Suspicion::network_changed;
  Clock::time_point m_suspected_at;
  Clock::time_point m_probe_until;               // when sent: the verdict is due then
  std::chrono::milliseconds m_probe_deadline{};  // when sent: how long it was given
  bool m_dead_by_probe = false;                  // the last `dead` came from the probe
};

}  // namespace jl
