#include "jl/core/ssh_words.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using jl::sshwords::describe;
using jl::sshwords::describe_open_failure;
using jl::sshwords::OpenFailure;
using jl::sshwords::parse_channel_open_failure;

TEST(SshWords, ParsesChannelOpenFailures) {
  struct Case {
    std::string text;
    OpenFailure kind;
    int code;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"Channel opening failure: channel 43 error (2) Connection refused", OpenFailure::refused, 2,
       "Connection refused"},
      {"Channel opening failure: channel 0 error (2) No route to host", OpenFailure::unreachable, 2,
       "No route to host"},
      {"Channel opening failure: channel 7 error (2) Connection timed out", OpenFailure::timed_out,
       2, "Connection timed out"},
      {"Channel opening failure: channel 7 error (2) Name or service not known",
       OpenFailure::not_resolved, 2, "Name or service not known"},
      {"Channel opening failure: channel 1 error (1) open failed", OpenFailure::prohibited, 1,
       "open failed"},
      {"Channel opening failure: channel 1 error (4) ", OpenFailure::resource_shortage, 4, ""},
      {"Channel opening failure: channel 1 error (3) unknown channel type", OpenFailure::other, 3,
       "unknown channel type"},
  };
  for (const auto& c : cases) {
    auto f = parse_channel_open_failure(c.text);
    ASSERT_TRUE(f.has_value()) << c.text;
    EXPECT_EQ(f->kind, c.kind) << c.text;
    EXPECT_EQ(f->code, c.code) << c.text;
    EXPECT_EQ(f->reason, c.reason) << c.text;
  }
  EXPECT_FALSE(parse_channel_open_failure("Socket error: disconnected"));
  EXPECT_FALSE(parse_channel_open_failure("Channel opening failure: channel x"));
  EXPECT_FALSE(parse_channel_open_failure("Channel opening failure: channel 1 error (z) a"));
}

TEST(SshWords, DescribesAFailedChannelWithItsPlace) {
  auto f = parse_channel_open_failure(
      "Channel opening failure: channel 43 error (2) Connection refused");
  ASSERT_TRUE(f);
  EXPECT_EQ(describe_open_failure(*f, "172.17.0.2", 8888, "inside cont1"),
            "nothing listens on 172.17.0.2:8888 inside cont1 (connection refused)");
  EXPECT_EQ(describe_open_failure(*f, "10.0.0.1", 80, ""),
            "nothing listens on 10.0.0.1:80 (connection refused)");
  auto p = parse_channel_open_failure("Channel opening failure: channel 2 error (1) open failed");
  ASSERT_TRUE(p);
  EXPECT_EQ(describe_open_failure(*p, "127.0.0.1", 9, ""),
            "the SSH server does not allow forwarding to 127.0.0.1:9 (AllowTcpForwarding or "
            "PermitOpen in its sshd_config) (open failed)");
  jl::sshwords::ChannelOpenFailure bare{OpenFailure::other, 9, ""};
  EXPECT_EQ(describe_open_failure(bare, "a", 1, ""),
            "the SSH host could not connect to a:1 (reason 9)");
}

TEST(SshWords, RewordsLibsshTexts) {
  struct Case {
    std::string raw;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"Socket error: disconnected", "the server closed the connection"},
      {"Socket error: Connection reset by peer",
       "the connection was reset (by the server, or by something in between)"},
      {"Socket error: Broken pipe", "network error: broken pipe"},
      {"Failed to connect: Connection refused", "cannot connect: connection refused"},
      {"Failed to resolve hostname nohost.invalid (Name or service not known)",
       "the name nohost.invalid does not resolve (name or service not known)"},
      {"Timeout connecting to 10.1.2.3", "no answer from 10.1.2.3 in time"},
      {"Received SSH_MSG_DISCONNECT: 2:Too many authentication failures",
       "the server ended the connection: too many authentication failures"},
      {"No version of SSH protocol usable (banner: HTTP/1.1 400 Bad Request)",
       "the server does not speak SSH 2 (it greeted with \"HTTP/1.1 400 Bad Request\")"},
      {"kex error : no match for method kex algos: server [curve25519-sha256], client "
       "[diffie-hellman-group14-sha1]",
       "the server and jl have no key exchange algorithm in common (the server offers "
       "curve25519-sha256; jl offers diffie-hellman-group14-sha1)"},
      {"Access denied for 'none'. Authentication that can continue: publickey,password",
       "the server refused none authentication (it accepts: publickey,password)"},
      {"Channel opening failure: channel 3 error (2) Connection refused",
       "the SSH server could not open the channel: connection refused"},
      {"Remote channel is closed.", "the remote side closed the channel"},
      {"", "no further detail from the SSH library"},
      {"Something new", "Something new"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(describe(c.raw), c.words) << c.raw;
  }
}

TEST(SshWords, NoWordingKeepsLibsshsChannelNumbers) {
  for (const char* raw : {"Channel opening failure: channel 43 error (2) Connection refused",
                          "Channel opening failure: channel 12 error (1) open failed"}) {
    const std::string w = describe(raw);
    EXPECT_EQ(w.find("channel 43"), std::string::npos) << w;
    EXPECT_EQ(w.find("error ("), std::string::npos) << w;
  }
}

}  // namespace
