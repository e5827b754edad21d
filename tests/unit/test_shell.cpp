#include <gtest/gtest.h>

#include "jl/core/shell.hpp"

TEST(Shell, Placeholder) { EXPECT_EQ(jl::shell::quote("a b"), "'a b'"); }
