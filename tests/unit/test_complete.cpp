#include "jl/core/complete.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "jl/core/ssh_config.hpp"

namespace {

using namespace std::chrono_literals;
using jl::Env;
using jl::SessionRecord;
using jl::State;
using Strings = std::vector<std::string>;

SessionRecord record(std::string host, std::string container) {
  SessionRecord s;
  s.host = std::move(host);
  s.container = std::move(container);
  return s;
}

TEST(CompleteHostNames, PlainNamesInOrderWithoutPatternsOrRepeats) {
  const char* text = R"(
# a comment
Host gpubox gpu-* !bastion
  HostName 10.0.0.5
host  tpu1,tpu2 web?
Host=lab-box
Host "quoted box"
Host *
  User me
Host gpubox
Match host build1
  User ci
)";
  EXPECT_EQ(jl::sshcfg::host_names(text),
            (Strings{"gpubox", "tpu1", "tpu2", "lab-box", "quoted box"}));
}

TEST(CompleteHostNames, FollowsIncludesInPlaceAndStopsLoops) {
  std::map<std::string, std::string> files = {
      {"/cfg/a", "Host from-a\nInclude /cfg/loop\n"},
      {"/cfg/b", "Host from-b\n"},
      {"/cfg/loop", "Host looped\nInclude /cfg/loop\n"},
  };
  std::vector<std::string> globbed;
  auto reader = [&](const std::string& path) -> std::optional<std::string> {
    auto it = files.find(path);
    if (it == files.end()) {
      return std::nullopt;
    }
    return it->second;
  };
  auto globber = [&](const std::string& pattern) {
    globbed.push_back(pattern);
    return pattern == "conf.d/*" ? Strings{"/cfg/a", "/cfg/b", "/cfg/missing"} : Strings{pattern};
  };
  // An Include inside a Host block is followed too: its names are worth offering.
  auto names = jl::sshcfg::host_names("Host first\nInclude conf.d/*\nHost last\n  Include /cfg/b\n",
                                      reader, globber);
  EXPECT_EQ(names, (Strings{"first", "from-a", "looped", "from-b", "last"}));
  EXPECT_EQ(globbed.front(), "conf.d/*");
  // Without a reader, Include lines are skipped.
  EXPECT_EQ(jl::sshcfg::host_names("Host a\nInclude /cfg/b\n"), (Strings{"a"}));
}

TEST(CompleteCacheDir, XdgCacheHomeElseHome) {
  EXPECT_EQ(jl::complete::cache_dir(Env({{"XDG_CACHE_HOME", "/c"}, {"HOME", "/h"}})), "/c/jl");
  // A relative XDG_CACHE_HOME is invalid and ignored, as the XDG spec says.
  EXPECT_EQ(jl::complete::cache_dir(Env({{"XDG_CACHE_HOME", "rel"}, {"HOME", "/h/"}})),
            "/h/.cache/jl");
  EXPECT_EQ(jl::complete::cache_dir(Env(std::map<std::string, std::string>{{"HOME", "/"}})),
            "/.cache/jl");
  EXPECT_EQ(jl::complete::cache_dir(Env()), "/.cache/jl");
}

TEST(CompleteCacheName, SafeStableAndDistinct) {
  using jl::complete::containers_cache_name;
  auto a = containers_cache_name("ann@gpu:2222", std::nullopt);
  EXPECT_EQ(a.find('/'), std::string::npos);
  EXPECT_TRUE(a.starts_with("containers-ann_gpu_2222-")) << a;
  EXPECT_EQ(a, containers_cache_name("ann@gpu:2222", std::nullopt));
  // Names that sanitise alike, or the same host through another ssh config, stay apart.
  std::set<std::string> names = {
      a,
      containers_cache_name("ann_gpu_2222", std::nullopt),
      containers_cache_name("ann@gpu:2222", std::string("/etc/other_config")),
      containers_cache_name("../../etc/passwd", std::nullopt),
      containers_cache_name("", std::nullopt),
  };
  EXPECT_EQ(names.size(), 5U);
  for (const auto& n : names) {
    EXPECT_EQ(n.find('/'), std::string::npos) << n;
    EXPECT_LT(n.size(), 120U) << n;
  }
  EXPECT_EQ(containers_cache_name(std::string(1000, 'x'), std::nullopt).size(),
            std::string("containers--").size() + 64 + 16);
}

TEST(CompleteCacheFresh, SixtySecondsAndNeverFromTheFuture) {
  using jl::complete::cache_fresh;
  auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(cache_fresh(now, now));
  EXPECT_TRUE(cache_fresh(now - 59s, now));
  EXPECT_FALSE(cache_fresh(now - 60s, now));
  EXPECT_FALSE(cache_fresh(now - 1h, now));
  EXPECT_TRUE(cache_fresh(now + 1s, now));  // clock granularity
  EXPECT_FALSE(cache_fresh(now + 1h, now));
  EXPECT_FALSE(cache_fresh(now - 5s, now, 5s));
  EXPECT_EQ(jl::complete::kCacheLifetime, 60s);
}

TEST(CompleteDockerCommand, EveryWordQuoted) {
  using jl::complete::docker_ps_command;
  EXPECT_EQ(docker_ps_command({"docker"}), "docker ps --format '{{.Names}}'");
  EXPECT_EQ(docker_ps_command({}), "docker ps --format '{{.Names}}'");
  EXPECT_EQ(docker_ps_command({"sudo", "-n", "docker"}), "sudo -n docker ps --format '{{.Names}}'");
  EXPECT_EQ(docker_ps_command({"/opt/my docker/bin/docker", "--context=gpu;rm"}),
            "'/opt/my docker/bin/docker' '--context=gpu;rm' ps --format '{{.Names}}'");
}

TEST(CompleteContainerNames, OnlyWhatCanBeANameOnceEach) {
  using jl::complete::parse_container_names;
  EXPECT_EQ(parse_container_names("cont1\njltb-root\r\n  jltb_user.2  \n\ncont1\nx\n"),
            (Strings{"cont1", "jltb-root", "jltb_user.2", "x"}));
  // Warnings, escape sequences, globs or words a shell would split are not container names.
  EXPECT_EQ(parse_container_names("WARNING: something\n\x1b[31mred\n*\n-rf\n.hidden\n_x\nok\n"),
            (Strings{"ok"}));
  EXPECT_TRUE(parse_container_names("").empty());
  EXPECT_TRUE(parse_container_names(std::string(300, 'a')).empty());
}

TEST(CompleteSessions, ContainersOnAHostAndHostsOnceEach) {
  State st;
  st.sessions = {record("gpu", "cont1"), record("gpu", "cont2"), record("tpu", "cont1"),
                 record("ann@gpu:22", "x")};
  EXPECT_EQ(jl::complete::session_containers(st, std::nullopt), (Strings{"cont1", "cont2", "x"}));
  EXPECT_EQ(jl::complete::session_containers(st, std::string("tpu")), (Strings{"cont1"}));
  EXPECT_TRUE(jl::complete::session_containers(st, std::string("none")).empty());
  EXPECT_EQ(jl::complete::session_hosts(st), (Strings{"gpu", "tpu", "ann@gpu:22"}));
  EXPECT_TRUE(jl::complete::session_hosts(State{}).empty());
}

TEST(CompleteMerge, KeepsOrderDropsRepeats) {
  EXPECT_EQ(jl::complete::merge_unique({"a", "b"}, {"b", "c", "a", "d"}),
            (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(jl::complete::merge_unique({}, {"x"}), (Strings{"x"}));
}

}  // namespace
