#include "jl/sys/random.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

bool lower_hex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

TEST(Token, Is48LowercaseHexDigits) {
  for (int i = 0; i < 100; ++i) {
    auto t = jl::sys::generate_token();
    EXPECT_EQ(t.size(), 48U) << t;
    EXPECT_TRUE(lower_hex(t)) << t;
  }
}

TEST(Token, ThousandTokensAreAllDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(jl::sys::generate_token());
  }
  EXPECT_EQ(seen.size(), 1000U);
}

TEST(Token, UsesEveryHexDigit) {
  // 24 random bytes a time: after 100 tokens every digit must have shown up.
  std::set<char> digits;
  for (int i = 0; i < 100; ++i) {
    for (char c : jl::sys::generate_token()) {
      digits.insert(c);
    }
  }
  EXPECT_EQ(digits.size(), 16U);
}

TEST(Nonce, Is12LowercaseHexDigitsAndVaries) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto n = jl::sys::generate_nonce();
    EXPECT_EQ(n.size(), 12U) << n;
    EXPECT_TRUE(lower_hex(n)) << n;
    seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 200U);
}

}  // namespace
