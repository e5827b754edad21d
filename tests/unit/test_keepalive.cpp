#include "jl/core/keepalive.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
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

// The probe on suspicion and the round-trip estimate: scenarios of their own, so that the ones
// above stay as they were before probes existed.
using Suspicion = KeepaliveTimer::Suspicion;
using std::chrono::milliseconds;

struct ProbeStep {
  enum class Op { tick, heard, suspect, wait, probing, rtt, deadline, words } op = Op::tick;
  milliseconds at{0};
  Action action = Action::none;        // tick: what it must say
  Suspicion why = Suspicion::resumed;  // suspect
  long long value = -1;                // wait, deadline, rtt (-1: none): ms; probing: 0 or 1
  std::string text;                    // words
  int unanswered = -1;                 // tick: checked after it when not -1
};

ProbeStep step(ProbeStep::Op op, milliseconds at = {}) {
  ProbeStep st;
  st.op = op;
  st.at = at;
  return st;
}
ProbeStep p_tick(milliseconds at, Action a, int unanswered = -1) {
  auto st = step(ProbeStep::Op::tick, at);
  st.action = a;
  st.unanswered = unanswered;
  return st;
}
ProbeStep p_heard(milliseconds at) {
  return step(ProbeStep::Op::heard, at);
}
ProbeStep p_suspect(milliseconds at, Suspicion why) {
  auto st = step(ProbeStep::Op::suspect, at);
  st.why = why;
  return st;
}
ProbeStep p_wait(milliseconds at, long long ms) {
  auto st = step(ProbeStep::Op::wait, at);
  st.value = ms;
  return st;
}
ProbeStep p_probing(bool yes) {
  auto st = step(ProbeStep::Op::probing);
  st.value = yes ? 1 : 0;
  return st;
}
ProbeStep p_rtt(long long ms) {
  auto st = step(ProbeStep::Op::rtt);
  st.value = ms;
  return st;
}
ProbeStep p_deadline(long long ms) {
  auto st = step(ProbeStep::Op::deadline);
  st.value = ms;
  return st;
}
ProbeStep p_words(std::string text) {
  auto st = step(ProbeStep::Op::words);
  st.text = std::move(text);
  return st;
}

struct ProbeScenario {
  std::string name;
  std::chrono::seconds interval;
  int count_max;
  std::vector<ProbeStep> steps;
};

void run(const std::vector<ProbeScenario>& scenarios) {
  const auto t0 = KeepaliveTimer::Clock::time_point{} + 1000h;
  for (const auto& sc : scenarios) {
    KeepaliveTimer timer(sc.interval, sc.count_max, t0);
    for (std::size_t i = 0; i < sc.steps.size(); ++i) {
      const auto& st = sc.steps[i];
      const auto now = t0 + st.at;
      SCOPED_TRACE(sc.name + ", step " + std::to_string(i + 1));
      switch (st.op) {
        case ProbeStep::Op::tick:
          EXPECT_EQ(name_of(timer.tick(now)), std::string(name_of(st.action)));
          if (st.unanswered >= 0) {
            EXPECT_EQ(timer.unanswered(), st.unanswered);
          }
          break;
        case ProbeStep::Op::heard:
          timer.heard(now);
          break;
        case ProbeStep::Op::suspect:
          timer.suspect(st.why, now);
          break;
        case ProbeStep::Op::wait:
          EXPECT_EQ(timer.wait_time(now).count(), st.value);
          break;
        case ProbeStep::Op::probing:
          EXPECT_EQ(timer.probing(), st.value == 1);
          break;
        case ProbeStep::Op::rtt: {
          const auto rtt = timer.rtt();
          EXPECT_EQ(rtt ? rtt->count() : -1, st.value);
          break;
        }
        case ProbeStep::Op::deadline:
          EXPECT_EQ(timer.probe_deadline().count(), st.value);
          break;
        case ProbeStep::Op::words:
          EXPECT_EQ(timer.no_answer("the SSH server"), st.text);
          break;
      }
    }
  }
}

TEST(KeepaliveTimer, RoundTripSamples) {
  run({
      {"no sample yet: no estimate, a probe waits 3 s", 15s, 2, {p_rtt(-1), p_deadline(3000)}},
      {"a keepalive answered: srtt is the sample, rttvar half of it",
       15s,
       2,
       // 4 x (150 + 4 x 75) + 1000
       {p_tick(15s, Action::send), p_rtt(-1), p_heard(15150ms), p_rtt(150), p_deadline(2800)}},
      {"a second sample is smoothed (RFC 6298: srtt 143.75, rttvar 68.75)",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(15150ms), p_tick(30150ms, Action::send),
        p_heard(30250ms), p_rtt(144), p_deadline(2675)}},
      {"a fast link's deadline is 1.5 s at least",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(15001ms), p_rtt(1), p_deadline(1500)}},
      {"a slow link's deadline is 5 s at most",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(17s), p_rtt(2000), p_deadline(5000)}},
      {"a steady 150 ms link settles near 1.6 s",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(15150ms), p_tick(30150ms, Action::send),
        p_heard(30300ms), p_tick(45300ms, Action::send), p_heard(45450ms),
        p_tick(60450ms, Action::send), p_heard(60600ms), p_tick(75600ms, Action::send),
        p_heard(75750ms), p_tick(90750ms, Action::send), p_heard(90900ms), p_rtt(150),
        // rttvar 75 x (3/4)^5 = 17.8: 4 x (150 + 71.2) + 1000
        p_deadline(1885)}},
      {"two keepalives unanswered: the sample counts from the first",
       15s,
       3,
       {p_tick(15s, Action::send), p_tick(30s, Action::send), p_heard(30200ms), p_rtt(15200),
        p_deadline(5000)}},
      {"traffic heard before the keepalive was sent is no sample of it",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(14s), p_rtt(-1), p_heard(15300ms), p_rtt(300)}},
      {"no keepalive sent: traffic is no sample", 15s, 2, {p_heard(5s), p_heard(9s), p_rtt(-1)}},
      {"a probe with nothing outstanding is a sample",
       15s,
       2,
       {p_suspect(5s, Suspicion::network_changed), p_tick(5s, Action::send), p_heard(5200ms),
        p_rtt(200)}},
      {"a suspicion drops the sample under way, and a probe sent while a keepalive is "
       "unanswered is none",
       15s,
       2,
       {p_tick(15s, Action::send), p_suspect(20s, Suspicion::resumed), p_tick(20s, Action::send),
        p_heard(20100ms), p_rtt(-1)}},
      {"the estimate survives a verdict",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(15150ms), p_tick(30150ms, Action::send),
        p_tick(45150ms, Action::dead), p_rtt(150)}},
  });
}

TEST(KeepaliveTimer, ProbeScenarios) {
  run({
      {"a suspicion sends at once; without a sample the answer has 3 s",
       15s,
       2,
       {p_probing(false), p_suspect(5s, Suspicion::network_changed), p_probing(true), p_wait(5s, 0),
        p_tick(5s, Action::send, 0), p_probing(true), p_wait(5s, 3000), p_tick(5s, Action::none),
        p_tick(7999ms, Action::none), p_wait(7999ms, 1), p_tick(8s, Action::dead),
        p_tick(9s, Action::dead), p_wait(9s, 0),
        p_words("no answer from the SSH server within 3 s of a check after a network change")}},
      {"heard in time ends the probe, and the schedule counts from the answer",
       15s,
       2,
       {p_suspect(5s, Suspicion::resumed), p_tick(5s, Action::send), p_heard(6s), p_probing(false),
        p_tick(8s, Action::none), p_wait(8s, 13000), p_tick(21s, Action::send, 1),
        p_tick(36s, Action::dead), p_words("no answer from the SSH server for 30 s")}},
      {"a suspicion while a probe waits for its answer does not restart it nor change the reason",
       15s,
       2,
       {p_suspect(5s, Suspicion::resumed), p_tick(5s, Action::send),
        p_suspect(7s, Suspicion::network_changed), p_tick(7s, Action::none), p_wait(7s, 1000),
        p_tick(8s, Action::dead),
        p_words("no answer from the SSH server within 3 s of a check after a wake from sleep")}},
      {"a second suspicion before the probe is sent sends once",
       15s,
       2,
       {p_suspect(5s, Suspicion::starved), p_suspect(6s, Suspicion::resumed),
        p_tick(6s, Action::send), p_tick(6s, Action::none), p_tick(9s, Action::dead),
        p_words("no answer from the SSH server within 3 s of a check after a connection waited for "
                "data")}},
      {"heard from before the suspicion does not end the probe",
       15s,
       2,
       {p_suspect(10s, Suspicion::network_changed), p_tick(10s, Action::send), p_heard(9s),
        p_probing(true), p_tick(12999ms, Action::none), p_tick(13s, Action::dead)}},
      {"heard after the suspicion, before the probe went out, makes it needless",
       15s,
       2,
       {p_suspect(5s, Suspicion::network_changed), p_heard(5500ms), p_probing(false),
        p_tick(5500ms, Action::none), p_wait(5500ms, 15000)}},
      {"with a round-trip sample the deadline comes from it",
       15s,
       2,
       {p_tick(15s, Action::send), p_heard(15150ms), p_suspect(20s, Suspicion::starved),
        p_tick(20s, Action::send), p_wait(20s, 2800), p_tick(22799ms, Action::none),
        p_tick(22800ms, Action::dead),
        p_words(
            "no answer from the SSH server within 2.8 s of a check after a connection waited for "
            "data")}},
      {"the probe never delays the schedule's verdict",
       15s,
       2,
       {p_tick(15s, Action::send, 1), p_suspect(29s, Suspicion::network_changed),
        p_tick(29s, Action::send, 1), p_wait(29s, 1000), p_tick(30s, Action::dead),
        p_words("no answer from the SSH server for 30 s")}},
      {"a probe due with the schedule's keepalive is one send",
       15s,
       2,
       {p_suspect(15s, Suspicion::resumed), p_tick(15s, Action::send, 1),
        p_tick(15s, Action::none, 1), p_wait(15s, 3000), p_tick(18s, Action::dead),
        p_words("no answer from the SSH server within 3 s of a check after a wake from sleep")}},
      {"the schedule's keepalive still goes out while a probe waits",
       15s,
       3,
       {p_suspect(14s, Suspicion::network_changed), p_tick(14s, Action::send, 0),
        p_tick(15s, Action::send, 1), p_tick(16999ms, Action::none), p_tick(17s, Action::dead)}},
      {"a probe's verdict wins over an overslept schedule's send",
       15s,
       2,
       {p_suspect(5s, Suspicion::resumed), p_tick(5s, Action::send), p_tick(100s, Action::dead),
        p_words("no answer from the SSH server within 3 s of a check after a wake from sleep")}},
      {"an answered probe leaves the schedule as it was, and a new suspicion probes again",
       15s,
       2,
       // The first probe's answer is a 200 ms sample: 4 x (200 + 4 x 100) + 1000.
       {p_suspect(5s, Suspicion::network_changed), p_tick(5s, Action::send), p_heard(5200ms),
        p_deadline(3400), p_suspect(10s, Suspicion::resumed), p_tick(10s, Action::send),
        p_wait(10s, 3400), p_tick(13399ms, Action::none), p_tick(13400ms, Action::dead),
        p_words("no answer from the SSH server within 3.4 s of a check after a wake from sleep")}},
      {"dead after a probe is said until something is heard, which brings the peer back",
       15s,
       2,
       {p_suspect(5s, Suspicion::network_changed), p_tick(5s, Action::send),
        p_tick(8s, Action::dead), p_tick(9s, Action::dead), p_heard(10s), p_probing(false),
        p_tick(10s, Action::none), p_words("no answer from the SSH server for 30 s"),
        p_tick(25s, Action::send), p_tick(40s, Action::dead)}},
  });
}

TEST(KeepaliveTimer, ProbeDeadlineWords) {
  // The deadline to the nearest tenth of a second, a whole second without a decimal.
  struct Case {
    milliseconds rtt;  // the one sample before the probe
    std::string words;
  };
  const std::vector<Case> cases = {
      {1ms, "no answer from gpu1 within 1.5 s of a check after a network change"},
      {120ms, "no answer from gpu1 within 2.4 s of a check after a network change"},
      {125ms, "no answer from gpu1 within 2.5 s of a check after a network change"},
      {1s, "no answer from gpu1 within 5 s of a check after a network change"},
  };
  const auto t0 = KeepaliveTimer::Clock::time_point{} + 1000h;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.words);
    KeepaliveTimer timer(15s, 2, t0);
    ASSERT_EQ(timer.tick(t0 + 15s), Action::send);
    timer.heard(t0 + 15s + c.rtt);
    timer.suspect(Suspicion::network_changed, t0 + 20s);
    ASSERT_EQ(timer.tick(t0 + 20s), Action::send);
    ASSERT_EQ(timer.tick(t0 + 25s), Action::dead);
    EXPECT_EQ(timer.no_answer("gpu1"), c.words);
  }
}

}  // namespace

// A stopped process (or a clock that counted a sleep) must not find a healthy peer dead on
// the stale schedule: resume() starts it again and probes with a short deadline instead.
TEST(KeepaliveTimer, ResumeProbesInsteadOfCallingThePeerDead) {
  const auto t0 = KeepaliveTimer::Clock::time_point{};
  KeepaliveTimer plain(15s, 2, t0);
  // Without resume(): 60 s of oversleep, one send, and the next tick says dead at once.
  EXPECT_EQ(plain.tick(t0 + 60s), Action::send);
  EXPECT_EQ(plain.tick(t0 + 60s + 1ms), Action::dead);

  KeepaliveTimer timer(15s, 2, t0);
  timer.resume(t0 + 60s);
  EXPECT_TRUE(timer.probing());
  EXPECT_EQ(timer.tick(t0 + 60s), Action::send);
  EXPECT_EQ(timer.unanswered(), 0);  // the probe, not the schedule
  EXPECT_EQ(timer.tick(t0 + 60s + 1ms), Action::none);
  EXPECT_EQ(timer.wait_time(t0 + 60s), 3s);  // no round-trip sample yet
  // Answered: the connection survived.
  timer.heard(t0 + 60s + 200ms);
  EXPECT_FALSE(timer.probing());
  EXPECT_EQ(timer.tick(t0 + 70s), Action::none);
  EXPECT_EQ(timer.tick(t0 + 75s + 200ms), Action::send);  // the schedule again, from the answer

  // Unanswered: dead after the probe's deadline, with words that say why.
  KeepaliveTimer lost(15s, 2, t0);
  lost.resume(t0 + 60s);
  EXPECT_EQ(lost.tick(t0 + 60s), Action::send);
  EXPECT_EQ(lost.tick(t0 + 62s), Action::none);
  EXPECT_EQ(lost.tick(t0 + 63s), Action::dead);
  EXPECT_EQ(lost.no_answer("the SSH server"),
            "no answer from the SSH server within 3 s of a check after a wake from sleep");
}

// A probe already sent before the owner stopped is void: it is asked again after resume().
TEST(KeepaliveTimer, ResumeRestartsAProbeThatWasInFlight) {
  const auto t0 = KeepaliveTimer::Clock::time_point{};
  KeepaliveTimer timer(15s, 2, t0);
  timer.suspect(KeepaliveTimer::Suspicion::network_changed, t0 + 1s);
  EXPECT_EQ(timer.tick(t0 + 1s), Action::send);
  timer.resume(t0 + 30s);
  EXPECT_EQ(timer.tick(t0 + 30s), Action::send);
  EXPECT_EQ(timer.tick(t0 + 32s), Action::none);
}
