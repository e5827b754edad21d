#include <gtest/gtest.h>

#include "jl/core/ssh_config.hpp"

using jl::sshcfg::evaluate;
using jl::sshcfg::host_matches;
using jl::sshcfg::HostKeyPolicy;

namespace {
const std::vector<std::string> kKeys = {
    "hostname",           "port", "user", "stricthostkeychecking", "serveraliveinterval",
    "serveralivecountmax"};
}

TEST(SshConfigHostMatches, Patterns) {
  struct Case {
    const char* patterns;
    const char* host;
    bool want;
  } cases[] = {
      {"gpubox", "gpubox", true},      {"gpubox", "gpubox2", false},
      {"gpu*", "gpubox", true},        {"gpu?ox", "gpubox", true},
      {"*", "anything", true},         {"a b gpubox", "gpubox", true},
      {"a,gpubox", "gpubox", true},    {"* !gpubox", "gpubox", false},
      {"!gpubox *", "gpubox", false},  {"!gpubox", "other", false},
      {"GPUBOX", "gpubox", true},      {"*.lab", "box.lab", true},
      {"*.lab", "box.lab.org", false}, {"", "gpubox", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(host_matches(c.patterns, c.host), c.want) << c.patterns << " vs " << c.host;
  }
}

TEST(SshConfigEvaluate, FirstValueWinsAcrossBlocksMatchedOnTheAlias) {
  // libssh 0.10 gets this wrong: after HostName it matches later blocks against 127.0.0.1.
  const char* text = R"(
Host fast slow
  HostName 127.0.0.1
  User root
Host fast
  Port 2222
  User ignored
Host slow
  Port 2299
Host *
  ServerAliveInterval 5
  Port 22
)";
  auto fast = evaluate(text, "fast", kKeys);
  EXPECT_EQ(fast.get("hostname"), "127.0.0.1");
  EXPECT_EQ(fast.get("user"), "root");
  EXPECT_EQ(fast.get("port"), "2222");
  EXPECT_EQ(fast.get("serveraliveinterval"), "5");
  auto slow = evaluate(text, "slow", kKeys);
  EXPECT_EQ(slow.get("port"), "2299");
  auto other = evaluate(text, "other", kKeys);
  EXPECT_EQ(other.get("port"), "22");
  EXPECT_FALSE(other.get("hostname").has_value());
}

TEST(SshConfigEvaluate, SyntaxVariants) {
  const char* text =
      "# comment\n"
      "  Host=box\n"
      "\tHOSTNAME = \"10.0.0.5\"\n"
      "  port=2200\n"
      "  StrictHostKeyChecking accept-new\n";
  auto r = evaluate(text, "box", kKeys);
  EXPECT_EQ(r.get("hostname"), "10.0.0.5");
  EXPECT_EQ(r.get("port"), "2200");
  EXPECT_EQ(r.get("StrictHostKeyChecking"), "accept-new");
}

TEST(SshConfigEvaluate, MatchBlocks) {
  const char* text = R"(
Match host box
  Port 1
Match exec "true"
  User nobody
Match all
  ServerAliveCountMax 7
)";
  auto r = evaluate(text, "box", kKeys);
  EXPECT_EQ(r.get("port"), "1");
  EXPECT_FALSE(r.get("user").has_value()) << "unevaluated Match blocks are skipped";
  EXPECT_EQ(r.get("serveralivecountmax"), "7");
  ASSERT_EQ(r.notes.size(), 1U);
  EXPECT_NE(r.notes[0].find("exec"), std::string::npos);
  auto other = evaluate(text, "other", kKeys);
  EXPECT_FALSE(other.get("port").has_value());
}

TEST(SshConfigEvaluate, IncludeReadsFilesInPlace) {
  std::vector<std::string> asked;
  auto reader = [&](const std::string& path) -> std::optional<std::string> {
    asked.push_back(path);
    if (path == "/cfg/a") {
      return "Host box\n  Port 1111\n";
    }
    if (path == "/cfg/loop") {
      return "Include /cfg/loop\n";  // must not recurse forever
    }
    return std::nullopt;
  };
  auto globber = [](const std::string& p) {
    return p == "/cfg/*" ? std::vector<std::string>{"/cfg/a", "/cfg/loop"}
                         : std::vector<std::string>{p};
  };
  auto r = evaluate("Include /cfg/*\nHost box\n  Port 2222\n", "box", kKeys, reader, globber);
  EXPECT_EQ(r.get("port"), "1111") << "the included file comes first";
  EXPECT_GE(asked.size(), 2U);
  EXPECT_LE(asked.size(), 12U);
}

TEST(SshConfigEvaluate, IncludeReadsAtMost64FilesAndSaysSoOnce) {
  int reads = 0;
  auto reader = [&](const std::string&) -> std::optional<std::string> {
    ++reads;
    return "Host other\n  Port 1\n";
  };
  auto globber = [](const std::string&) {
    std::vector<std::string> paths;
    for (int i = 0; i < 50; ++i) {
      paths.push_back("/cfg/" + std::to_string(i));
    }
    return paths;
  };
  auto r = evaluate("Include a\nInclude b\nInclude c\nHost box\n  Port 2222\n", "box", kKeys,
                    reader, globber);
  EXPECT_EQ(reads, 64);
  EXPECT_EQ(r.get("port"), "2222") << "the file's own lines still count after the limit";
  ASSERT_EQ(r.notes.size(), 1U);
  EXPECT_NE(r.notes[0].find("more than 64 included files"), std::string::npos);
}

TEST(SshConfigPolicy, Values) {
  bool lax = true;
  EXPECT_EQ(jl::sshcfg::parse_host_key_policy("yes", &lax), HostKeyPolicy::yes);
  EXPECT_FALSE(lax);
  EXPECT_EQ(jl::sshcfg::parse_host_key_policy("accept-new", &lax), HostKeyPolicy::accept_new);
  EXPECT_EQ(jl::sshcfg::parse_host_key_policy("ask", &lax), HostKeyPolicy::ask);
  EXPECT_EQ(jl::sshcfg::parse_host_key_policy("no", &lax), HostKeyPolicy::ask);
  EXPECT_TRUE(lax) << "no is laxer than jl allows";
  EXPECT_EQ(jl::sshcfg::parse_host_key_policy("off", &lax), HostKeyPolicy::ask);
  EXPECT_TRUE(lax);
  EXPECT_EQ(jl::sshcfg::parse_host_key_policy("whatever", &lax), HostKeyPolicy::ask);
  EXPECT_FALSE(lax);
}

TEST(SshConfigKeepalive, DefaultsAndOverrides) {
  auto none = jl::sshcfg::parse_keepalive(evaluate("", "h", kKeys));
  EXPECT_EQ(none.interval_s * none.count_max, 30) << "a dead peer is found within 30 s";
  auto set = jl::sshcfg::parse_keepalive(
      evaluate("ServerAliveInterval 5\nServerAliveCountMax 4\n", "h", kKeys));
  EXPECT_EQ(set.interval_s, 5);
  EXPECT_EQ(set.count_max, 4);
  auto zero = jl::sshcfg::parse_keepalive(evaluate("ServerAliveInterval 0\n", "h", kKeys));
  EXPECT_EQ(zero.interval_s, 15) << "0 keeps jl's default: a tunnel always checks";
  auto junk = jl::sshcfg::parse_keepalive(evaluate("ServerAliveInterval soon\n", "h", kKeys));
  EXPECT_EQ(junk.interval_s, 15);
}
