#include "jl/core/ssh_resolved.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "jl/core/ssh_config.hpp"

namespace jl::sshcfg {
// For readable failures: the fields one per line.
void PrintTo(const Resolved& r, std::ostream* os) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
      out += s + ",";
    }
    return out;
  };
  *os << "\nhost=" << r.host << " hostname=" << r.hostname << " port=" << r.port
      << " user=" << r.user << "\nids=" << list(r.identity_files) << " only=" << r.identities_only
      << " agent=" << r.identity_agent.value_or("-") << " certs=" << list(r.certificate_files)
      << " pubkey=" << r.pubkey_authentication << "\nalias=" << r.host_key_alias.value_or("-")
      << " ukh=" << list(r.user_known_hosts_files) << " gkh=" << list(r.global_known_hosts_files)
      << " strict=" << r.strict_host_key_checking << "\njump=" << list(r.proxy_jump)
      << " pc=" << r.proxy_command.value_or("-") << " ct=" << r.connect_timeout_s.value_or(-1)
      << " attempts=" << r.connection_attempts << " alive=" << r.server_alive_interval_s << "x"
      << r.server_alive_count_max << "\naf=" << r.address_family << " ciphers=" << r.ciphers
      << " kex=" << r.kex_algorithms << " hka=" << r.host_key_algorithms
      << " pka=" << r.pubkey_accepted_algorithms << " macs=" << r.macs
      << "\nprefs=" << list(r.preferred_authentications) << " pw=" << r.password_authentication
      << " kbd=" << r.kbd_interactive_authentication << " batch=" << r.batch_mode
      << " prompts=" << r.number_of_password_prompts << " lines=" << r.lines.size();
}
}  // namespace jl::sshcfg

namespace {

using jl::sshcfg::expand_tokens;
using jl::sshcfg::parse_dump;
using jl::sshcfg::parse_hop;
using jl::sshcfg::Resolved;
using jl::sshcfg::Tokens;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(JL_SSH_G_FIXTURES) + "/" + name);
  if (!in) {
    throw std::runtime_error("missing fixture " + name);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::vector<std::string> kDefaultIdentities = {
    "~/.ssh/id_rsa",        "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss",  "~/.ssh/id_dsa"};

TEST(SshResolved, ManyOptions) {
  const Resolved r = parse_dump(fixture("many-options.gpu.G"));
  EXPECT_EQ(r.host, "gpu");
  EXPECT_EQ(r.hostname, "gpu.example.org");
  EXPECT_EQ(r.port, 2200);
  EXPECT_EQ(r.user, "ann");
  EXPECT_EQ(r.identity_files, (std::vector<std::string>{"~/.ssh/id_%h", "~/.ssh/id_ed25519"}));
  EXPECT_TRUE(r.identities_only);
  EXPECT_EQ(r.identity_agent, "none");
  EXPECT_EQ(r.certificate_files, std::vector<std::string>{"~/.ssh/id_ed25519-cert.pub"});
  EXPECT_EQ(r.host_key_alias, "gpu-alias");
  EXPECT_EQ(r.user_known_hosts_files,
            (std::vector<std::string>{"/root/.ssh/kh1", "/root/.ssh/kh2"}));
  EXPECT_EQ(r.global_known_hosts_files,
            (std::vector<std::string>{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}));
  EXPECT_EQ(r.strict_host_key_checking, "accept-new");
  EXPECT_EQ(r.proxy_jump, (std::vector<std::string>{"bastion1", "ann@bastion2:2201"}));
  EXPECT_FALSE(r.proxy_command);
  EXPECT_EQ(r.connect_timeout_s, 7);
  EXPECT_EQ(r.connection_attempts, 3);
  EXPECT_EQ(r.server_alive_interval_s, 10);
  EXPECT_EQ(r.server_alive_count_max, 4);
  EXPECT_EQ(r.address_family, "inet");
  EXPECT_EQ(r.ciphers, "aes256-gcm@openssh.com");
  EXPECT_EQ(r.preferred_authentications,
            (std::vector<std::string>{"publickey", "keyboard-interactive"}));
  EXPECT_FALSE(r.password_authentication);
  EXPECT_TRUE(r.kbd_interactive_authentication);
  EXPECT_TRUE(r.batch_mode);
  EXPECT_EQ(r.number_of_password_prompts, 1);
  EXPECT_TRUE(r.pubkey_authentication);
}

TEST(SshResolved, DefaultsAndCommandLine) {
  // ssh -G -F empty.conf -p 2201 -l bob plain.example
  const Resolved r = parse_dump(fixture("empty.plain.G"));
  EXPECT_EQ(r.hostname, "plain.example");
  EXPECT_EQ(r.port, 2201);
  EXPECT_EQ(r.user, "bob");
  EXPECT_EQ(r.identity_files, kDefaultIdentities);
  EXPECT_FALSE(r.identities_only);
  EXPECT_FALSE(r.identity_agent);
  EXPECT_FALSE(r.host_key_alias);
  EXPECT_EQ(r.strict_host_key_checking, "ask");
  EXPECT_TRUE(r.proxy_jump.empty());
  EXPECT_FALSE(r.connect_timeout_s);
  EXPECT_EQ(r.server_alive_interval_s, 0);
  EXPECT_EQ(r.server_alive_count_max, 3);
  EXPECT_EQ(r.number_of_password_prompts, 3);
  EXPECT_FALSE(r.batch_mode);
  EXPECT_TRUE(r.preferred_authentications.empty());
  EXPECT_FALSE(r.kex_algorithms.empty());
  EXPECT_FALSE(r.macs.empty());
  EXPECT_FALSE(r.host_key_algorithms.empty());
  EXPECT_FALSE(r.pubkey_accepted_algorithms.empty());
}

TEST(SshResolved, MatchCriteriaAsSshAppliedThem) {
  // Match originalhost + exec "true" applies, Match host (after HostName) applies, Match exec
  // "false" does not; the first value wins over Host *.
  const Resolved short_host = parse_dump(fixture("match.short.G"));
  EXPECT_EQ(short_host.hostname, "short.lab.example");
  EXPECT_EQ(short_host.user, "matched");
  EXPECT_EQ(short_host.port, 2022);
  EXPECT_EQ(short_host.identity_files, std::vector<std::string>{"~/.ssh/lab_%r_%p"});
  EXPECT_EQ(short_host.server_alive_interval_s, 20);
  EXPECT_EQ(short_host.server_alive_count_max, 5);
  EXPECT_TRUE(short_host.proxy_jump.empty());

  const Resolved other = parse_dump(fixture("match.other.G"));
  EXPECT_EQ(other.hostname, "other.host");
  EXPECT_EQ(other.user, "fallback");
  EXPECT_EQ(other.port, 22);
  EXPECT_EQ(other.identity_files, kDefaultIdentities);
  EXPECT_EQ(other.server_alive_interval_s, 0);
}

TEST(SshResolved, ProxyCommandAgentAndJumpChains) {
  const Resolved pc = parse_dump(fixture("proxy.pc.G"));
  EXPECT_EQ(pc.proxy_command, "ssh -W %h:%p jump");
  EXPECT_EQ(pc.identity_agent, "/root/agent.root.sock");  // ssh -G expands this one
  EXPECT_EQ(pc.user_known_hosts_files,
            (std::vector<std::string>{"/root/.ssh/kh_10.1.2.3", "/root/.ssh/kh2"}));

  const Resolved v6 = parse_dump(fixture("proxy.v6.G"));
  EXPECT_EQ(v6.hostname, "::1");
  ASSERT_EQ(v6.proxy_jump.size(), 3U);
  auto a = parse_hop(v6.proxy_jump[0]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->user, "ann");
  EXPECT_EQ(a->host, "2001:db8::1");
  EXPECT_EQ(a->port, 2200);
  auto b = parse_hop(v6.proxy_jump[1]);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->user, "bob");
  EXPECT_EQ(b->host, "jump.example");
  EXPECT_EQ(b->port, 2201);
  auto c = parse_hop(v6.proxy_jump[2]);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "");
  EXPECT_EQ(c->host, "plain");
  EXPECT_FALSE(c->port);
}

TEST(SshResolved, MalformedDumpsThrow) {
  EXPECT_THROW(parse_dump(""), std::runtime_error);
  EXPECT_THROW(parse_dump("host a\nuser b\n"), std::runtime_error);
  EXPECT_THROW(parse_dump("hostname a\nport 0\n"), std::runtime_error);
  EXPECT_THROW(parse_dump("hostname a\nport twenty\n"), std::runtime_error);
  EXPECT_THROW(parse_dump("hostname a\nbatchmode maybe\n"), std::runtime_error);
  EXPECT_THROW(parse_dump("hostname a\nserveraliveinterval -1\n"), std::runtime_error);
  // Unknown keywords are ignored: newer OpenSSH versions add them.
  EXPECT_EQ(parse_dump("hostname a\nsomefutureoption 1\n").hostname, "a");
}

TEST(SshResolved, Tokens) {
  Tokens t;
  t.host = "gpu.example.org";
  t.original = "gpu";
  t.port = 2200;
  t.remote_user = "ann";
  t.local_user = "me";
  t.home = "/home/me";
  t.local_host = "laptop.local";
  t.jump = "bastion";
  std::vector<std::string> unknown;
  EXPECT_EQ(expand_tokens("~/.ssh/id_%h", t, &unknown), "/home/me/.ssh/id_gpu.example.org");
  EXPECT_EQ(expand_tokens("%d/%u/%r@%n:%p %L %l %j 100%%", t, &unknown),
            "/home/me/me/ann@gpu:2200 laptop laptop.local bastion 100%");
  EXPECT_EQ(expand_tokens("~", t, &unknown), "/home/me");
  EXPECT_EQ(expand_tokens("a~b", t, &unknown), "a~b");
  EXPECT_TRUE(unknown.empty());
  EXPECT_EQ(expand_tokens("~/.ssh/cm-%C", t, &unknown), "/home/me/.ssh/cm-%C");
  EXPECT_EQ(unknown, std::vector<std::string>{"%C"});
  EXPECT_EQ(expand_tokens("trailing %", t), "trailing %");
}

TEST(SshResolved, Hops) {
  struct Case {
    const char* in;
    bool ok;
    const char* user;
    const char* host;
    int port;  // 0: none
  };
  const std::vector<Case> cases = {
      {"bastion", true, "", "bastion", 0},
      {"ann@bastion:2201", true, "ann", "bastion", 2201},
      {"ssh://ann@bastion:2201", true, "ann", "bastion", 2201},
      {"[::1]:22", true, "", "::1", 22},
      {"fe80::1", true, "", "fe80::1", 0},
      {"a@b@bastion", true, "a@b", "bastion", 0},
      {"bastion:0", false, "", "", 0},
      {"bastion:99999", false, "", "", 0},
      {"bastion:x", false, "", "", 0},
      {"bastion:", false, "", "", 0},
      {"@bastion", false, "", "", 0},
      {"", false, "", "", 0},
      {"[::1", false, "", "", 0},
      {"two words", false, "", "", 0},
  };
  for (const auto& c : cases) {
    auto h = parse_hop(c.in);
    ASSERT_EQ(h.has_value(), c.ok) << c.in;
    if (!h) {
      continue;
    }
    EXPECT_EQ(h->user, c.user) << c.in;
    EXPECT_EQ(h->host, c.host) << c.in;
    EXPECT_EQ(h->port.value_or(0), c.port) << c.in;
  }
}

// jl's own reader (for when there is no ssh binary) resolves the same settings as ssh -G did
// when the fixtures were recorded (as root, home /root), for configs without Match (which only
// ssh -G evaluates): every field jl uses, the command line's user and port included.
TEST(SshResolved, OwnReaderAgreesWithSsh) {
  struct Case {
    const char* conf;
    const char* host;
    std::optional<std::string> user;
    std::optional<int> port;
    const char* dump;
  };
  const std::vector<Case> cases = {
      {"many-options.conf", "gpu", {}, {}, "many-options.gpu.G"},
      {"proxy.conf", "pc", {}, {}, "proxy.pc.G"},
      {"proxy.conf", "v6", {}, {}, "proxy.v6.G"},
      {"empty.conf", "plain.example", "bob", 2201, "empty.plain.G"},
      {"order.conf", "work", {}, {}, "order.work.G"},
      {"order.conf", "lab", "bob", 2999, "order.lab.p2999.lbob.G"},
      {"order.conf", "other", {}, {}, "order.other.G"},
  };
  const jl::sshcfg::Local local{"root", "/root", "laptop"};
  for (const auto& c : cases) {
    Resolved ssh = parse_dump(fixture(c.dump));
    std::vector<std::string> notes;
    Resolved own =
        jl::sshcfg::resolve_own(fixture(c.conf), c.host, c.user, c.port, local, {}, {}, &notes);
    EXPECT_TRUE(notes.empty()) << c.dump;
    // ssh -G prints its full algorithm lists; jl's reader only what the config names.
    for (auto [mine, theirs] : {std::pair{&own.ciphers, &ssh.ciphers},
                                {&own.kex_algorithms, &ssh.kex_algorithms},
                                {&own.host_key_algorithms, &ssh.host_key_algorithms},
                                {&own.pubkey_accepted_algorithms, &ssh.pubkey_accepted_algorithms},
                                {&own.macs, &ssh.macs}}) {
      if (mine->empty()) {
        theirs->clear();
      }
    }
    ssh.lines.clear();
    EXPECT_EQ(own.host, ssh.host) << c.dump;
    EXPECT_EQ(own.hostname, ssh.hostname) << c.dump;
    EXPECT_EQ(own.port, ssh.port) << c.dump;
    EXPECT_EQ(own.user, ssh.user) << c.dump;
    EXPECT_EQ(own.identity_files, ssh.identity_files) << c.dump;
    EXPECT_EQ(own.certificate_files, ssh.certificate_files) << c.dump;
    EXPECT_EQ(own.user_known_hosts_files, ssh.user_known_hosts_files) << c.dump;
    EXPECT_EQ(own.global_known_hosts_files, ssh.global_known_hosts_files) << c.dump;
    EXPECT_EQ(own.proxy_jump, ssh.proxy_jump) << c.dump;
    EXPECT_EQ(own.proxy_command, ssh.proxy_command) << c.dump;
    EXPECT_EQ(own, ssh) << c.dump << ": some other field differs";
  }
}

// What the config sets that jl does not use is named; what it honours, or what cannot matter,
// is not; algorithm lists equal to OpenSSH's own defaults count as not configured.
TEST(SshResolved, UnhonouredAndDefaultAlgorithms) {
  Resolved r = parse_dump(fixture("order.work.G"));
  const Resolved base = parse_dump(fixture("none.work.G"));
  EXPECT_EQ(jl::sshcfg::unhonoured(r, base),
            (std::vector<std::string>{"compression yes", "forwardagent yes"}));
  EXPECT_TRUE(jl::sshcfg::unhonoured(base, base).empty());
  EXPECT_FALSE(r.ciphers.empty());
  jl::sshcfg::drop_default_algorithms(r, base);
  EXPECT_TRUE(r.ciphers.empty());
  EXPECT_TRUE(r.macs.empty());
  Resolved gpu = parse_dump(fixture("many-options.gpu.G"));
  jl::sshcfg::drop_default_algorithms(gpu, base);
  EXPECT_EQ(gpu.ciphers, "aes256-gcm@openssh.com");
  EXPECT_TRUE(jl::sshcfg::honoured("identitiesonly"));
  EXPECT_FALSE(jl::sshcfg::honoured("forwardagent"));
}

}  // namespace
