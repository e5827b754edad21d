#include "jl/core/wake.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using jl::SleepClocks;
using namespace std::chrono_literals;

TEST(Wake, ResumeFromTwoReadingsOfTwoClocks) {
  struct Case {
    std::string name;
    SleepClocks before;
    SleepClocks after;
    std::chrono::nanoseconds slept;
    bool resumed;
  };
  const std::vector<Case> cases = {
      {"no time passed", {100s, 150s}, {100s, 150s}, 0ns, false},
      {"awake all along, however long", {100s, 150s}, {3700s, 3750s}, 0ns, false},
      {"the jitter of reading two clocks", {100s, 150s}, {101s, 151s + 300us}, 300us, false},
      {"exactly the threshold is not yet a resume", {100s, 150s}, {101s, 152s}, 1s, false},
      {"just over it is", {100s, 150s}, {101s, 152s + 1ns}, 1s + 1ns, true},
      {"an hour's sleep", {100s, 150s}, {101s, 3751s}, 3600s, true},
      {"a sleep between readings far apart", {100s, 150s}, {7300s, 7400s}, 50s, true},
      {"a gap that shrinks (clocks read in the other order) is no sleep",
       {100s, 150s},
       {101s, 150s + 900ms},
       -100ms,
       false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(jl::slept_between(c.before, c.after).count(), c.slept.count());
    EXPECT_EQ(jl::resumed_between(c.before, c.after), c.resumed);
  }
}

}  // namespace
