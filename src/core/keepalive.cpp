#include "jl/core/keepalive.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace jl {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view reason_words(KeepaliveTimer::Suspicion why) {
  switch (why) {
    case KeepaliveTimer::Suspicion::resumed:
      return "a wake from sleep";
    case KeepaliveTimer::Suspicion::network_changed:
      return "a network change";
    case KeepaliveTimer::Suspicion::starved:
      return "a connection waited for data";
  }
  return "a suspicion";
}

// "1.8 s", "3 s": to the nearest tenth of a second.
std::string seconds_words(std::chrono::milliseconds d) {
  const long long tenths = (d.count() + 50) / 100;
  if (tenths % 10 == 0) {
    return fmt::format("{} s", tenths / 10);
  }
  return fmt::format("{}.{} s", tenths / 10, tenths % 10);
}

}  // namespace

KeepaliveTimer::KeepaliveTimer(std::chrono::seconds interval, int count_max, Clock::time_point now)
    : m_interval(interval), m_count_max(std::max(1, count_max)), m_last_heard(now) {}

void KeepaliveTimer::heard(Clock::time_point when) {
  if (when <= m_last_heard) {
    return;
  }
  m_last_heard = when;
  m_unanswered = 0;
  if (m_sample_from && when >= *m_sample_from) {
    sample(when - *m_sample_from);
    m_sample_from.reset();
  }
  if (m_probe != Probe::none && when >= m_suspected_at) {
    m_probe = Probe::none;
    m_dead_by_probe = false;
  }
}

void KeepaliveTimer::suspect(Suspicion why, Clock::time_point now) {
  if (m_probe != Probe::none) {
    return;
  }
  m_probe = Probe::pending;
  m_why = why;
  m_suspected_at = now;
  m_sample_from.reset();
}

void KeepaliveTimer::resume(Clock::time_point now) {
  if (now > m_last_heard) {
    m_last_heard = now;
  }
  m_unanswered = 0;
  m_sample_from.reset();
  if (m_probe == Probe::sent) {
    m_probe = Probe::none;  // its deadline ran out while nobody could hear the answer
  }
  suspect(Suspicion::resumed, now);
}

void KeepaliveTimer::sample(Clock::duration r) {
  // RFC 6298, 2.2 and 2.3.
  if (!m_srtt) {
    m_srtt = r;
    m_rttvar = r / 2;
    return;
  }
  const auto diff = *m_srtt > r ? *m_srtt - r : r - *m_srtt;
  m_rttvar = (3 * m_rttvar + diff) / 4;
  m_srtt = (7 * *m_srtt + r) / 8;
}

std::optional<std::chrono::milliseconds> KeepaliveTimer::rtt() const {
  if (!m_srtt) {
    return std::nullopt;
  }
  return std::chrono::round<std::chrono::milliseconds>(*m_srtt);
}

std::chrono::milliseconds KeepaliveTimer::probe_deadline() const {
  if (!m_srtt) {
    return 3s;
  }
  const Clock::duration d = 4 * (*m_srtt + 4 * m_rttvar) + 1s;
  return std::clamp(std::chrono::ceil<std::chrono::milliseconds>(d),
                    std::chrono::milliseconds(1500), std::chrono::milliseconds(5s));
}

KeepaliveTimer::Clock::time_point KeepaliveTimer::due() const {
  return m_last_heard + m_interval * (m_unanswered + 1);
}

KeepaliveTimer::Action KeepaliveTimer::tick(Clock::time_point now) {
  const bool scheduled = now >= due();
  // Dead after interval x count_max of silence, with at least one keepalive unanswered.
  if (scheduled && m_unanswered >= 1 && m_unanswered + 1 >= m_count_max) {
    m_dead_by_probe = false;
    return Action::dead;
  }
  if (m_probe == Probe::sent && now >= m_probe_until) {
    m_dead_by_probe = true;
    return Action::dead;
  }
  if (!scheduled && m_probe != Probe::pending) {
    return Action::none;
  }
  if (nothing_outstanding() && !m_sample_from) {
    m_sample_from = now;
  }
  if (m_probe == Probe::pending) {
    // One keepalive serves the probe and, when it is due too, the schedule.
    m_probe = Probe::sent;
    m_probe_deadline = probe_deadline();
    m_probe_until = now + m_probe_deadline;
  }
  if (scheduled) {
    ++m_unanswered;
  }
  return Action::send;
}

std::chrono::milliseconds KeepaliveTimer::wait_time(Clock::time_point now) const {
  auto next = due();
  if (m_probe == Probe::pending) {
    next = now;
  } else if (m_probe == Probe::sent) {
    next = std::min(next, m_probe_until);
  }
  const auto left = next - now;
  if (left <= Clock::duration::zero()) {
    return std::chrono::milliseconds::zero();
  }
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

std::chrono::seconds KeepaliveTimer::dead_after() const {
  return m_interval * std::max(2, m_count_max);
}

std::string KeepaliveTimer::no_answer(std::string_view who) const {
  if (m_dead_by_probe) {
    return fmt::format("no answer from {} within {} of a check after {}", who,
                       seconds_words(m_probe_deadline), reason_words(m_why));
  }
  return fmt::format("no answer from {} for {} s", who, dead_after().count());
}

}  // namespace jl
