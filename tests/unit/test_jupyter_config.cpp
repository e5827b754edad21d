// The Jupyter config reader, run for real: Debian's Python with jupyter_core and traitlets
// reads the test bed's image configs (and a few more), as Python inside a container would.

#include "jl/core/jupyter_config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "support.hpp"

namespace {

using jl::jupyter::ConfigFinding;
using jl::jupyter::ConfigReport;
using jl::jupyter::ConfigSetting;
using Level = jl::jupyter::ConfigFinding::Level;

const std::string kBedConfigs = JL_TESTBED_JUPYTER_CONFIG;
const std::string kPython = "/usr/bin/python3";

class ConfigReader : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(user.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(extra.c_str(), 0700), 0);
  }

  // Run the reader with JUPYTER_CONFIG_PATH=`dirs` (':'-separated, highest priority first).
  ConfigReport read(const std::string& dirs) {
    std::string script =
        std::string(jl::jupyter::config_reader_function()) + "jupyter_config " + kPython + "\n";
    auto r = jl_test::run_sh(script, {},
                             std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"},
                                                                {"HOME", tmp.path()},
                                                                {"JUPYTER_CONFIG_DIR", user},
                                                                {"JUPYTER_CONFIG_PATH", dirs}});
    EXPECT_EQ(r.status, 0) << r.out;
    last = r.out;
    return jl::jupyter::parse_config_report(r.out);
  }

  static bool has(const std::vector<ConfigFinding>& fs, Level level, const std::string& text) {
    for (const auto& f : fs) {
      if (f.level == level && f.message.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  jl_test::TempDir tmp;
  std::string user = tmp / "user";
  std::string extra = tmp / "extra";
  std::string last;
};

TEST_F(ConfigReader, AnImageWithAPublicIpAndAFixedPort) {
  auto r = read(kBedConfigs + "/ip");
  ASSERT_TRUE(r.read) << last;
  auto ip = jl::jupyter::setting(r, "ServerApp", "ip");
  ASSERT_TRUE(ip.has_value()) << last;
  EXPECT_EQ(ip->value, "'0.0.0.0'");
  EXPECT_EQ(ip->file, kBedConfigs + "/ip/jupyter_server_config.py");
  ASSERT_TRUE(jl::jupyter::setting(r, "ServerApp", "port").has_value());
  EXPECT_EQ(jl::jupyter::setting(r, "ServerApp", "port")->value, "9999");
  auto fs = jl::jupyter::config_findings(r);
  EXPECT_EQ(fs.size(), 2U);
  EXPECT_TRUE(has(fs, Level::warn, "sets c.ServerApp.ip = '0.0.0.0'"));
  EXPECT_TRUE(has(fs, Level::warn, "fixed port (c.ServerApp.port = 9999)"));
  EXPECT_FALSE(jl::jupyter::token_override(r).has_value());
}

TEST_F(ConfigReader, ABaseUrlIsANote) {
  auto r = read(kBedConfigs + "/baseurl");
  auto fs = jl::jupyter::config_findings(r);
  ASSERT_EQ(fs.size(), 1U) << last;
  EXPECT_EQ(fs[0].level, Level::note);
  EXPECT_NE(fs[0].message.find("'/user/alice/'"), std::string::npos);
}

TEST_F(ConfigReader, APasswordAloneLeavesJlsTokenWorking) {
  auto r = read(kBedConfigs + "/password");
  auto fs = jl::jupyter::config_findings(r);
  ASSERT_EQ(fs.size(), 1U) << last;
  EXPECT_EQ(fs[0].level, Level::note);
  EXPECT_NE(fs[0].message.find("hashed_password = <set>"), std::string::npos) << fs[0].message;
  EXPECT_FALSE(jl::jupyter::token_override(r).has_value());
  // The hash never leaves the container.
  EXPECT_EQ(last.find("argon2"), std::string::npos) << last;
}

TEST_F(ConfigReader, TokensSwitchedOffWithAPasswordRefuseJl) {
  auto r = read(kBedConfigs + "/notoken");
  auto blocker = jl::jupyter::token_override(r);
  ASSERT_TRUE(blocker.has_value()) << last;
  EXPECT_TRUE(blocker->empty);
  EXPECT_EQ(jl::jupyter::describe(*blocker), "c.ServerApp.token = ''");
  auto fs = jl::jupyter::config_findings(r);
  ASSERT_EQ(fs.size(), 1U);
  EXPECT_EQ(fs[0].level, Level::fail);
  EXPECT_NE(fs[0].message.find("only the password opens it"), std::string::npos);
  EXPECT_NE(fs[0].fix.find("remove that line from " + kBedConfigs + "/notoken/"),
            std::string::npos);
}

TEST_F(ConfigReader, HigherPriorityDirectoriesWinAndJsonAndDotDFilesCount) {
  // extra (higher priority) overrides the bed's ip config; a .d JSON file adds a fixed token,
  // whose value never leaves the reader; the user's own directory is read too.
  jl_test::write_file(extra + "/jupyter_server_config.json",
                      R"({"ServerApp": {"ip": "127.0.0.1"}})");
  ASSERT_EQ(::mkdir((extra + "/jupyter_server_config.d").c_str(), 0700), 0);
  jl_test::write_file(extra + "/jupyter_server_config.d/zz.json",
                      R"({"IdentityProvider": {"token": "s3cr3t-fixed"}})");
  jl_test::write_file(user + "/jupyter_notebook_config.py", "c.NotebookApp.base_url = '/nb/'\n");
  auto r = read(extra + ":" + kBedConfigs + "/ip");
  ASSERT_TRUE(r.read) << last;
  EXPECT_EQ(jl::jupyter::setting(r, "ServerApp", "ip")->value, "'127.0.0.1'");
  auto token = jl::jupyter::token_override(r);
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(token->empty);
  EXPECT_EQ(jl::jupyter::describe(*token), "c.IdentityProvider.token = <set>");
  EXPECT_EQ(last.find("s3cr3t"), std::string::npos) << last;
  auto fs = jl::jupyter::config_findings(r);
  EXPECT_FALSE(has(fs, Level::warn, "0.0.0.0"));
  EXPECT_TRUE(has(fs, Level::warn, "fixed port"));
  EXPECT_TRUE(has(fs, Level::fail, "(a fixed token)"));
  EXPECT_TRUE(has(fs, Level::note, "c.NotebookApp.base_url = '/nb/'"));
}

TEST_F(ConfigReader, ABrokenFileIsNamed) {
  jl_test::write_file(extra + "/jupyter_server_config.py", "c.ServerApp.ip = \n");
  auto r = read(extra);
  ASSERT_TRUE(r.read) << last;
  ASSERT_EQ(r.bad_files.size(), 1U) << last;
  EXPECT_TRUE(r.bad_files[0].starts_with(extra + "/jupyter_server_config.py: ")) << r.bad_files[0];
  auto fs = jl::jupyter::config_findings(r);
  EXPECT_TRUE(has(fs, Level::warn, "fails to load"));
}

TEST_F(ConfigReader, NoConfigNoFindings) {
  auto r = read(extra);
  ASSERT_TRUE(r.read) << last;
  EXPECT_TRUE(r.settings.empty());
  EXPECT_TRUE(jl::jupyter::config_findings(r).empty());
}

TEST(ConfigReport, WhatIsNotAReport) {
  auto r = jl::jupyter::parse_config_report("sh: 1: python3: not found\n");
  EXPECT_FALSE(r.read);
  EXPECT_EQ(r.error, "sh: 1: python3: not found");
  r = jl::jupyter::parse_config_report(R"({"error": "cannot import jupyter_core and traitlets"})");
  EXPECT_FALSE(r.read);
  EXPECT_EQ(r.error, "cannot import jupyter_core and traitlets");
  EXPECT_FALSE(jl::jupyter::parse_config_report("").read);
  // Warnings before the JSON line are skipped.
  r = jl::jupyter::parse_config_report(
      "DeprecationWarning: {not json\n{\"settings\": [{\"file\": \"/f\", \"section\": "
      "\"ServerApp\", \"key\": \"port\", \"value\": \"1\", \"secret\": false, \"empty\": false}], "
      "\"bad\": []}\n");
  ASSERT_TRUE(r.read);
  ASSERT_EQ(r.settings.size(), 1U);
  EXPECT_EQ(jl::jupyter::describe(r.settings[0]), "c.ServerApp.port = 1");
}

TEST(ConfigCommand, RunsInTheContainerThroughTheDockerCommand) {
  auto cmd = jl::jupyter::config_command("my box", {"sudo", "-n", "docker"});
  EXPECT_TRUE(cmd.starts_with("sudo -n docker exec 'my box' sh -c ")) << cmd;
  EXPECT_THROW(jl::jupyter::config_command("box", {}), std::invalid_argument);
}

}  // namespace
