#include "jl/core/keepalive.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using jl::KeepaliveTimer;
using Action = KeepaliveTimer::Action;
using namespace std::chrono_literals;

// One step of a scenario, at `at` after the timer was made.
struct Step {
  enum Op { tick, heard, wait } op;
  std::chrono::milliseconds at;
  Action action = Action::none;          // for tick: what it must say
  std::chrono::milliseconds wait_ms{0};  // for wait: what wait_time must say
  int unanswered = -1;                   // checked after the step when not -1
};

Step tick(std::chrono::milliseconds at, Action a, int unanswered = -1) {
  return {Step::tick, at, a, {}, unanswered};
}
Step heard(std::chrono::milliseconds at) {
  return {Step::heard, at, Action::none, {}, -1};
}
Step wait(std::chrono::milliseconds at, std::chrono::milliseconds ms) {
  return {Step::wait, at, Action::none, ms, -1};
}

struct Scenario {
  std::string name;
  std::chrono::seconds interval;
  int count_max;
  std::vector<Step> steps;
};

const char* name_of(Action a) {
  switch (a) {
    case Action::none:
      return "none";
    case Action::send:
      return "send";
    case Action::dead:
      return "dead";
  }
  return "?";
}

TEST(KeepaliveTimer, Scenarios) {
  const std::vector<Scenario> scenarios = {
      {"nothing is due before the first interval",
       15s,
       2,
       {tick(0ms, Action::none, 0), tick(14999ms, Action::none, 0), wait(0ms, 15000ms),
        wait(14999ms, 1ms)}},
      {"a keepalive at each interval of silence, dead after interval x count_max",
       15s,
       3,
       {tick(15s, Action::send, 1), tick(15s, Action::none, 1), wait(15s, 15000ms),
        tick(29999ms, Action::none, 1), tick(30s, Action::send, 2), tick(44999ms, Action::none, 2),
        tick(45s, Action::dead, 2), tick(46s, Action::dead, 2), wait(45s, 0ms), wait(50s, 0ms)}},
      {"the default: one keepalive at 15 s, dead at 30 s",
       15s,
       2,
       {tick(15s, Action::send, 1), wait(15s, 15000ms), tick(29s, Action::none, 1),
        tick(30s, Action::dead, 1)}},
      {"count_max 1 still asks once and gives the answer an interval",
       15s,
       1,
       {tick(15s, Action::send, 1), tick(29999ms, Action::none, 1), wait(15s, 15000ms),
        tick(30s, Action::dead, 1)}},
      {"count_max 0 counts as 1",
       10s,
       0,
       {tick(10s, Action::send, 1), tick(19s, Action::none, 1), tick(20s, Action::dead, 1)}},
      {"a timely answer resets the count; silence counts from the answer",
       15s,
       2,
       {tick(15s, Action::send, 1), heard(16s), tick(30s, Action::none, 0), wait(30s, 1000ms),
        tick(31s, Action::send, 1), tick(45999ms, Action::none, 1), tick(46s, Action::dead, 1)}},
      {"traffic before the first interval postpones the first keepalive",
       15s,
       2,
       {heard(10s), tick(15s, Action::none, 0), wait(15s, 10000ms), tick(25s, Action::send, 1)}},
      {"heard during unanswered keepalives starts again from zero",
       5s,
       4,
       {tick(5s, Action::send, 1), tick(10s, Action::send, 2), tick(15s, Action::send, 3),
        heard(17s), tick(19s, Action::none, 0), wait(19s, 3000ms), tick(22s, Action::send, 1),
        tick(27s, Action::send, 2), tick(32s, Action::send, 3), tick(37s, Action::dead, 3)}},
      {"heard with an old or the same time changes nothing",
       15s,
       2,
       {tick(15s, Action::send, 1), heard(0ms), heard(-5s), tick(29s, Action::none, 1),
        tick(30s, Action::dead, 1)}},
      {"heard the same time again does not reset after a keepalive",
       15s,
       2,
       {heard(3s), tick(18s, Action::send, 1), heard(3s), tick(33s, Action::dead, 1)}},
      {"heard after the verdict brings the peer back",
       15s,
       2,
       {tick(15s, Action::send, 1), tick(30s, Action::dead, 1), heard(31s),
        tick(31s, Action::none, 0), tick(46s, Action::send, 1)}},
      {"an overslept loop catches up one step per tick: a send first, then the verdict",
       15s,
       2,
       {tick(100s, Action::send, 1), tick(100s, Action::dead, 1)}},
      {"an overslept loop with a larger count_max sends once per tick until the verdict",
       15s,
       3,
       {tick(100s, Action::send, 1), tick(100s, Action::send, 2), tick(100s, Action::dead, 2)}},
      {"wait_time rounds up to a whole millisecond",
       1s,
       2,
       {wait(std::chrono::milliseconds(0), 1000ms), wait(999ms, 1ms)}},
  };
  const auto t0 = KeepaliveTimer::Clock::time_point{} + 1000h;
  for (const auto& sc : scenarios) {
    KeepaliveTimer timer(sc.interval, sc.count_max, t0);
    for (std::size_t i = 0; i < sc.steps.size(); ++i) {
      const auto& st = sc.steps[i];
      const auto now = t0 + st.at;
      SCOPED_TRACE(sc.name + ", step " + std::to_string(i + 1));
      switch (st.op) {
        case Step::tick: {
          const Action got = timer.tick(now);
          EXPECT_EQ(name_of(got), std::string(name_of(st.action)));
          break;
        }
        case Step::heard:
          timer.heard(now);
          break;
        case Step::wait:
          EXPECT_EQ(timer.wait_time(now).count(), st.wait_ms.count());
          break;
      }
      if (st.unanswered >= 0) {
        EXPECT_EQ(timer.unanswered(), st.unanswered);
      }
    }
  }
}

TEST(KeepaliveTimer, WaitTimeRoundsUpSubMillisecondRemainders) {
  const auto t0 = KeepaliveTimer::Clock::time_point{} + 1000h;
  KeepaliveTimer timer(2s, 2, t0);
  EXPECT_EQ(timer.wait_time(t0 + 1999999us).count(), 1);
  EXPECT_EQ(timer.wait_time(t0 + 1998001us).count(), 2);
  EXPECT_EQ(timer.wait_time(t0 + 1998000us).count(), 2);
  EXPECT_EQ(timer.wait_time(t0 + 2s).count(), 0);
  EXPECT_EQ(timer.wait_time(t0 + 3s).count(), 0);
}

TEST(KeepaliveTimer, PollingWithWaitTimeFollowsTheSchedule) {
  // A caller that sleeps exactly wait_time() between ticks, with a silent peer.
  struct Case {
    int count_max;
    std::vector<long long> sends_s;  // when keepalives go out, seconds from the start
    long long dead_s;
  };
  const std::vector<Case> cases = {
      {1, {15}, 30}, {2, {15}, 30}, {3, {15, 30}, 45}, {5, {15, 30, 45, 60}, 75}};
  const auto t0 = KeepaliveTimer::Clock::time_point{} + 1000h;
  for (const auto& c : cases) {
    SCOPED_TRACE("count_max " + std::to_string(c.count_max));
    KeepaliveTimer timer(15s, c.count_max, t0);
    auto now = t0;
    std::vector<long long> sends;
    long long dead = -1;
    for (int round = 0; round < 100 && dead < 0; ++round) {
      switch (timer.tick(now)) {
        case Action::send:
          sends.push_back(std::chrono::duration_cast<std::chrono::seconds>(now - t0).count());
          break;
        case Action::dead:
          dead = std::chrono::duration_cast<std::chrono::seconds>(now - t0).count();
          break;
        case Action::none:
          break;
      }
      now += timer.wait_time(now);
    }
    EXPECT_EQ(sends, c.sends_s);
    EXPECT_EQ(dead, c.dead_s);
    EXPECT_EQ(timer.dead_after().count(), c.dead_s);
  }
}

TEST(KeepaliveTimer, NoAnswerWords) {
  const auto t0 = KeepaliveTimer::Clock::time_point{};
  struct Case {
    int interval_s;
    int count_max;
    std::string who;
    std::string words;
  };
  const std::vector<Case> cases = {
      {15, 2, "the SSH server", "no answer from the SSH server for 30 s"},
      {1, 2, "the jump host", "no answer from the jump host for 2 s"},
      {5, 4, "gpu1", "no answer from gpu1 for 20 s"},
      {15, 1, "gpu1", "no answer from gpu1 for 30 s"},
      // No int overflow for the largest interval an ssh config may give.
      {1 << 30, 4, "h", "no answer from h for 4294967296 s"},
  };
  for (const auto& c : cases) {
    KeepaliveTimer timer(std::chrono::seconds(c.interval_s), c.count_max, t0);
    EXPECT_EQ(timer.no_answer(c.who), c.words);
  }
}

}  // namespace
