#include "jl/core/agent.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using jl::agent::Identity;
using jl::agent::Message;
using jl::agent::Reader;

std::string u32(std::uint32_t v) {
  std::string s;
  for (int shift : {24, 16, 8, 0}) {
    s += static_cast<char>((v >> shift) & 0xff);
  }
  return s;
}

std::string str(const std::string& s) {
  return u32(static_cast<std::uint32_t>(s.size())) + s;
}

TEST(AgentFrame, LengthTypeThenPayload) {
  EXPECT_EQ(jl::agent::frame({11, ""}), u32(1) + "\x0b");
  EXPECT_EQ(jl::agent::frame({5, "ab"}), u32(3) +
                                             "\x05"
                                             "ab");
}

TEST(AgentReader, WholeMessagesFromAnySplit) {
  const std::string stream =
      jl::agent::frame({12, "first"}) + jl::agent::frame({13, std::string(5000, 'x')});
  for (std::size_t cut = 0; cut <= stream.size(); cut += 7) {
    Reader r;
    std::vector<Message> got;
    ASSERT_TRUE(r.feed(stream.substr(0, cut)));
    while (auto m = r.next()) {
      got.push_back(*m);
    }
    ASSERT_TRUE(r.feed(stream.substr(cut)));
    while (auto m = r.next()) {
      got.push_back(*m);
    }
    ASSERT_EQ(got.size(), 2u) << cut;
    EXPECT_EQ(got[0].type, 12);
    EXPECT_EQ(got[0].payload, "first");
    EXPECT_EQ(got[1].type, 13);
    EXPECT_EQ(got[1].payload.size(), 5000u);
    EXPECT_EQ(r.pending(), 0u);
  }
}

TEST(AgentReader, BrokenLengthsStopTheStream) {
  Reader zero;
  EXPECT_FALSE(zero.feed(u32(0)));
  EXPECT_FALSE(zero.next());
  Reader huge;
  EXPECT_FALSE(huge.feed(u32(jl::agent::kMaxMessage + 1) + "x"));
  EXPECT_FALSE(huge.next());
  // A good message followed by a broken length: the good one is still read, then nothing.
  Reader mixed;
  EXPECT_TRUE(mixed.feed(jl::agent::frame({5, ""})));
  mixed.feed(u32(0));
  auto good = mixed.next();
  ASSERT_TRUE(good);
  EXPECT_EQ(good->type, 5);
  EXPECT_FALSE(mixed.next());
}

TEST(AgentIdentities, RoundTripAndMalformed) {
  const std::vector<Identity> ids = {{"blob-one", "alice@laptop"}, {std::string("\0\1", 2), ""}};
  const std::string payload = jl::agent::identities_payload(ids);
  EXPECT_EQ(payload,
            u32(2) + str("blob-one") + str("alice@laptop") + str(std::string("\0\1", 2)) + str(""));
  auto back = jl::agent::parse_identities(payload);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].blob, "blob-one");
  EXPECT_EQ((*back)[0].comment, "alice@laptop");
  EXPECT_EQ((*back)[1].blob, std::string("\0\1", 2));
  EXPECT_FALSE(jl::agent::parse_identities(payload.substr(0, payload.size() - 1)));
  EXPECT_FALSE(jl::agent::parse_identities(payload + "x"));
  EXPECT_FALSE(jl::agent::parse_identities(u32(3) + str("a") + str("b")));
  EXPECT_FALSE(jl::agent::parse_identities(u32(1) + u32(1000) + "short"));
  EXPECT_FALSE(jl::agent::parse_identities(""));
}

TEST(AgentSignRequest, NamesItsKey) {
  EXPECT_EQ(jl::agent::sign_request_key(str("key") + str("data") + u32(2)), "key");
  EXPECT_FALSE(jl::agent::sign_request_key(str("key") + str("data")));
  EXPECT_FALSE(jl::agent::sign_request_key(str("key")));
}

TEST(AgentBase64, AsPubFilesWriteIt) {
  EXPECT_EQ(jl::agent::base64(""), "");
  EXPECT_EQ(jl::agent::base64("f"), "Zg==");
  EXPECT_EQ(jl::agent::base64("fo"), "Zm8=");
  EXPECT_EQ(jl::agent::base64("foo"), "Zm9v");
  EXPECT_EQ(jl::agent::base64("foobar"), "Zm9vYmFy");
  // The start of every ed25519 key line: the blob begins with string "ssh-ed25519".
  EXPECT_EQ(jl::agent::base64(str("ssh-ed25519")).substr(0, 16), "AAAAC3NzaC1lZDI1");
}

TEST(AgentChoose, AsOpenSshOffersThem) {
  const std::vector<Identity> agent = {{"k1", "a"}, {"k2", "b"}, {"k3", "c"}, {"k2", "dup"}};
  const std::vector<std::string> wanted = {jl::agent::base64("k3"), jl::agent::base64("k1"),
                                           jl::agent::base64("not-in-agent")};
  // IdentitiesOnly: only the named ones, in the agent's order (not the files' order).
  auto only = jl::agent::choose(agent, wanted, true);
  ASSERT_EQ(only.size(), 2u);
  EXPECT_EQ(only[0].blob, "k1");
  EXPECT_EQ(only[1].blob, "k3");
  // Without it: the named ones first, then every other key once, in the agent's order.
  auto all = jl::agent::choose(agent, wanted, false);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].blob, "k1");
  EXPECT_EQ(all[1].blob, "k3");
  EXPECT_EQ(all[2].blob, "k2");
  EXPECT_TRUE(jl::agent::choose(agent, {}, true).empty());
  EXPECT_EQ(jl::agent::choose(agent, {}, false).size(), 3u);
}

TEST(AgentBase64, DecodesWhatItEncodes) {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(jl::agent::unbase64(jl::agent::base64(s)), s);
  }
  EXPECT_FALSE(jl::agent::unbase64("Zg="));
  EXPECT_FALSE(jl::agent::unbase64("Z$=="));
  EXPECT_FALSE(jl::agent::unbase64("Zg==Zg=="));
}

TEST(AgentCertifies, TheKeyFieldsFollowTheNonce) {
  const std::string pk = str(std::string(32, 'P'));
  const std::string key = str("ssh-ed25519") + pk;
  const std::string cert = str("ssh-ed25519-cert-v01@openssh.com") + str("nonce") + pk +
                           std::string(8, '\0') + str("rest");
  EXPECT_TRUE(jl::agent::certifies(cert, key));
  EXPECT_FALSE(jl::agent::certifies(key, key));
  EXPECT_FALSE(jl::agent::certifies(cert, str("ssh-ed25519") + str(std::string(32, 'Q'))));
  EXPECT_FALSE(jl::agent::certifies(cert, str("ssh-rsa") + pk));
  EXPECT_FALSE(jl::agent::certifies(cert, str("ssh-ed25519")));
  EXPECT_FALSE(jl::agent::certifies(str("ssh-ed25519-cert-v01@openssh.com"), key));
}

}  // namespace
