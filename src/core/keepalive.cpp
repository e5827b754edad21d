#include "jl/core/keepalive.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace jl {

KeepaliveTimer::KeepaliveTimer(std::chrono::seconds interval, int count_max, Clock::time_point now)
    : m_interval(interval), m_count_max(std::max(1, count_max)), m_last_heard(now) {}

void KeepaliveTimer::heard(Clock::time_point when) {
  if (when > m_last_heard) {
    m_last_heard = when;
    m_unanswered = 0;
  }
}

KeepaliveTimer::Clock::time_point KeepaliveTimer::due() const {
  return m_last_heard + m_interval * (m_unanswered + 1);
}

KeepaliveTimer::Action KeepaliveTimer::tick(Clock::time_point now) {
  if (now < due()) {
    return Action::none;
  }
  // Dead after interval x count_max of silence, with at least one keepalive unanswered.
  if (m_unanswered >= 1 && m_unanswered + 1 >= m_count_max) {
    return Action::dead;
  }
  ++m_unanswered;
  return Action::send;
}

std::chrono::milliseconds KeepaliveTimer::wait_time(Clock::time_point now) const {
  const auto left = due() - now;
  if (left <= Clock::duration::zero()) {
    return std::chrono::milliseconds::zero();
  }
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

std::chrono::seconds KeepaliveTimer::dead_after() const {
  return m_interval * std::max(2, m_count_max);
}

std::string KeepaliveTimer::no_answer(std::string_view who) const {
  return fmt::format("no answer from {} for {} s", who, dead_after().count());
}

}  // namespace jl
