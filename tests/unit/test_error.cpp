#include "jl/core/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using jl::Error;
using jl::Exit;
using jl::format_error;

TEST(Error, CarriesCodeMessageHintAndDetail) {
  Error e(Exit::ssh, "cannot connect", "check the host", "line 1\nline 2");
  EXPECT_EQ(e.code(), Exit::ssh);
  EXPECT_STREQ(e.what(), "cannot connect");
  EXPECT_EQ(e.hint(), "check the host");
  EXPECT_EQ(e.detail(), "line 1\nline 2");
  // Caught as a std::runtime_error by generic handlers.
  try {
    throw e;
  } catch (const std::runtime_error& caught) {
    EXPECT_STREQ(caught.what(), "cannot connect");
  }
}

TEST(Error, ExitCodesAreTheDocumentedContract) {
  EXPECT_EQ(static_cast<int>(Exit::ok), 0);
  EXPECT_EQ(static_cast<int>(Exit::other), 1);
  EXPECT_EQ(static_cast<int>(Exit::usage), 2);
  EXPECT_EQ(static_cast<int>(Exit::ssh), 3);
  EXPECT_EQ(static_cast<int>(Exit::remote), 4);
  EXPECT_EQ(static_cast<int>(Exit::timeout), 5);
}

TEST(FormatError, Table) {
  struct Case {
    std::string message;
    std::string hint;
    std::string detail;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"boom", "", "", "jl: error: boom\n"},
      {"boom", "try again", "", "jl: error: boom\nhint: try again\n"},
      {"boom", "", "one line", "jl: error: boom\n  | one line\n"},
      {"boom", "", "last\n", "jl: error: boom\n  | last\n"},
      {"server died", "see the log",
       "Traceback (most recent call last):\n  File \"x.py\"\nOSError: [Errno 98] in use",
       "jl: error: server died\n"
       "  | Traceback (most recent call last):\n"
       "  |   File \"x.py\"\n"
       "  | OSError: [Errno 98] in use\n"
       "hint: see the log\n"},
      {"gap", "", "a\n\nb", "jl: error: gap\n  | a\n  | \n  | b\n"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(format_error(Error(Exit::remote, c.message, c.hint, c.detail)), c.out);
  }
}

TEST(FormatError, EveryLineOfDetailIsIndentedAndNothingIsLost) {
  std::string detail;
  for (int i = 0; i < 20; ++i) {
    detail += "line " + std::to_string(i) + "\n";
  }
  auto out = format_error(Error(Exit::other, "m", "h", detail));
  for (int i = 0; i < 20; ++i) {
    EXPECT_NE(out.find("\n  | line " + std::to_string(i) + "\n"), std::string::npos) << i;
  }
  EXPECT_TRUE(out.ends_with("\nhint: h\n"));
}

}  // namespace
