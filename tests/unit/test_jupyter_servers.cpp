// Runtime files and `jupyter server list --json` / `jupyter notebook list --json` lines recorded
// from the real servers the test bed runs (JupyterLab 4.6 and 3.6, Notebook 7.6 on
// jupyter_server 2.21, Notebook 6.4; one with a base_url, one with a password), tokens replaced.

#include <gtest/gtest.h>

#include <string>

#include "jl/core/jupyter.hpp"
#include "jl/core/text.hpp"
#include "support.hpp"

namespace {

using jl::jupyter::parse_runtime_file;
using jl_test::read_file;

const std::string kDir = JL_JUPYTER_FIXTURES;
const std::string kToken = "0123456789abcdef0123456789abcdef0123456789abcdef";

struct Recorded {
  const char* runtime;  // file name of the runtime file
  const char* list;     // the list command's output
  bool legacy;
  long long pid;
  const char* version;
  const char* base_url;
  const char* landing;  // the page jl opens
};

constexpr Recorded kRecorded[] = {
    {"lab4-jpserver-400.json", "lab4-list.json", false, 400, "2.21.1", "/", "lab"},
    {"lab3-jpserver-27.json", "lab3-list.json", false, 27, "2.21.1", "/", "lab"},
    {"nb7-jpserver-24.json", "nb7-list.json", false, 24, "2.21.1", "/", "tree"},
    {"notebook6-nbserver-48.json", "notebook6-list.json", true, 48, "", "/", "tree"},
    {"lab4-baseurl-jpserver-257.json", "lab4-baseurl-list.json", false, 257, "2.21.1",
     "/user/alice/", "lab"},
};

TEST(RecordedServers, RuntimeFilesParse) {
  for (const auto& r : kRecorded) {
    const std::string name = r.runtime;
    const auto at = name.find(r.legacy ? "nbserver-" : "jpserver-");
    ASSERT_NE(at, std::string::npos) << name;
    const std::string path = "/root/.local/share/jupyter/runtime/" + name.substr(at);
    std::string why;
    auto info = parse_runtime_file(read_file(kDir + "/" + r.runtime), path, &why);
    ASSERT_TRUE(info.has_value()) << r.runtime << ": " << why;
    EXPECT_EQ(info->pid, r.pid) << r.runtime;
    EXPECT_EQ(info->port, 8888) << r.runtime;
    EXPECT_EQ(info->token, kToken) << r.runtime;
    EXPECT_EQ(info->legacy, r.legacy) << r.runtime;
    EXPECT_EQ(info->version, r.version) << r.runtime;
    EXPECT_EQ(info->base_url, r.base_url) << r.runtime;
    EXPECT_FALSE(info->secure) << r.runtime;
    EXPECT_TRUE(info->sock.empty()) << r.runtime;
    EXPECT_TRUE(info->hostname.starts_with("172.17.0.")) << r.runtime << ": " << info->hostname;
  }
}

TEST(RecordedServers, ListOutputCarriesTheSameFacts) {
  // `server list --json` prints one runtime file per line, compacted: the same parser reads it.
  for (const auto& r : kRecorded) {
    const auto text = read_file(kDir + "/" + r.list);
    auto lines = jl::text::lines(text);
    ASSERT_FALSE(lines.empty()) << r.list;
    std::string why;
    auto listed = parse_runtime_file(lines.front(), r.runtime, &why);
    auto file = parse_runtime_file(read_file(kDir + "/" + r.runtime), r.runtime);
    ASSERT_TRUE(listed.has_value()) << r.list << ": " << why;
    ASSERT_TRUE(file.has_value()) << r.runtime;
    EXPECT_EQ(listed->pid, file->pid) << r.list;
    EXPECT_EQ(listed->port, file->port) << r.list;
    EXPECT_EQ(listed->token, file->token) << r.list;
    EXPECT_EQ(listed->base_url, file->base_url) << r.list;
    EXPECT_EQ(listed->root_dir, file->root_dir) << r.list;
  }
}

TEST(RecordedServers, LocalUrlOpensTheAppsPage) {
  for (const auto& r : kRecorded) {
    auto info = parse_runtime_file(read_file(kDir + "/" + r.runtime), r.runtime);
    ASSERT_TRUE(info.has_value());
    const auto app =
        std::string(r.landing) == "lab" ? jl::jupyter::App::lab : jl::jupyter::App::notebook;
    EXPECT_EQ(jl::jupyter::local_url(9000, info->base_url, app, info->legacy, info->token),
              "http://127.0.0.1:9000" + std::string(r.base_url) + r.landing + "?token=" + kToken)
        << r.runtime;
  }
}

TEST(RecordedServers, APasswordIsNotAToken) {
  // With PasswordIdentityProvider.hashed_password set and JUPYTER_TOKEN given, jupyter_server
  // 2.21 records the token, and "password": false (that field tells of ServerApp.password).
  auto info = parse_runtime_file(read_file(kDir + "/lab4-password-jpserver-247.json"),
                                 "lab4-password-jpserver-247.json");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->token, kToken);
  EXPECT_FALSE(info->password);
}

}  // namespace
