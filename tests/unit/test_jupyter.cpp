#include "jl/core/jupyter.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using jl::jupyter::App;
using jl::jupyter::parse_runtime_file;
using jl::jupyter::RuntimeInfo;

// ---------------------------------------------------------------------------------------------
// Apps

TEST(JupyterApp, NamesRoundTrip) {
  for (App a : {App::lab, App::notebook, App::server}) {
    EXPECT_EQ(jl::jupyter::app_from_string(jl::jupyter::to_string(a)), a);
  }
  for (const char* bad : {"", "Lab", "jupyter-lab", "auto", "lab "}) {
    EXPECT_EQ(jl::jupyter::app_from_string(bad), std::nullopt) << bad;
  }
}

TEST(JupyterApp, Executables) {
  EXPECT_EQ(jl::jupyter::executable(App::lab), "jupyter-lab");
  EXPECT_EQ(jl::jupyter::executable(App::notebook), "jupyter-notebook");
  EXPECT_EQ(jl::jupyter::executable(App::server), "jupyter-server");
}

TEST(ChooseApp, PrefersLabThenNotebookThenServer) {
  struct Case {
    std::set<App> installed;
    std::optional<App> chosen;
  };
  const std::vector<Case> cases = {
      {{}, std::nullopt},
      {{App::server}, App::server},
      {{App::notebook}, App::notebook},
      {{App::lab}, App::lab},
      {{App::notebook, App::server}, App::notebook},
      {{App::lab, App::server}, App::lab},
      {{App::lab, App::notebook, App::server}, App::lab},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jl::jupyter::choose_app(c.installed), c.chosen);
  }
}

// ---------------------------------------------------------------------------------------------
// Runtime files

// What jupyter_server 1.23.3 wrote into jpserver-14.json in a container.
constexpr const char* kServer1233 =
    R"({"base_url": "/", "hostname": "0.0.0.0", "password": false, "pid": 14, "port": 8888, )"
    R"("root_dir": "/", "secure": false, "sock": "", "token": "abc123", )"
    R"("url": "http://5d1918fcea8c:8888/", "version": "1.23.3"})";

TEST(ParseRuntimeFile, JupyterServer1233) {
  std::string error;
  auto info = parse_runtime_file(kServer1233, "/root/.local/share/jupyter/runtime/jpserver-14.json",
                                 &error);
  ASSERT_TRUE(info.has_value()) << error;
  EXPECT_EQ(info->file, "/root/.local/share/jupyter/runtime/jpserver-14.json");
  EXPECT_FALSE(info->legacy);
  EXPECT_EQ(info->pid, 14);
  EXPECT_EQ(info->port, 8888);
  EXPECT_EQ(info->hostname, "0.0.0.0");
  EXPECT_EQ(info->base_url, "/");
  EXPECT_EQ(info->token, "abc123");
  EXPECT_FALSE(info->password);
  EXPECT_FALSE(info->secure);
  EXPECT_EQ(info->sock, "");
  EXPECT_EQ(info->root_dir, "/");
  EXPECT_EQ(info->version, "1.23.3");
}

TEST(ParseRuntimeFile, Notebook6UsesNotebookDirAndIsLegacy) {
  // notebook 6.5 writes nbserver-PID.json, pretty-printed, with notebook_dir.
  const char* json = R"({
  "base_url": "/nb/",
  "hostname": "172.17.0.2",
  "notebook_dir": "/home/jovyan/work",
  "password": true,
  "pid": 4242,
  "port": 8890,
  "secure": true,
  "sock": "",
  "token": "",
  "url": "https://172.17.0.2:8890/nb/",
  "version": "6.5.4"
})";
  auto info =
      parse_runtime_file(json, "/home/jovyan/.local/share/jupyter/runtime/nbserver-4242.json");
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->legacy);
  EXPECT_EQ(info->pid, 4242);
  EXPECT_EQ(info->port, 8890);
  EXPECT_EQ(info->root_dir, "/home/jovyan/work");
  EXPECT_EQ(info->base_url, "/nb/");
  EXPECT_TRUE(info->password);
  EXPECT_TRUE(info->secure);
  EXPECT_EQ(info->token, "");
  EXPECT_EQ(info->version, "6.5.4");
}

TEST(ParseRuntimeFile, LegacyComesFromTheFileNameNotTheDirectory) {
  auto a = parse_runtime_file(R"({"pid": 1, "port": 1})", "nbserver-1.json");
  auto b = parse_runtime_file(R"({"pid": 1, "port": 1})", "/nbserver-dir/jpserver-1.json");
  auto c = parse_runtime_file(R"({"pid": 1, "port": 1})", "/x/nbserver-1.json");
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(a->legacy);
  EXPECT_FALSE(b->legacy);
  EXPECT_TRUE(c->legacy);
}

TEST(ParseRuntimeFile, RootDirWinsOverNotebookDir) {
  auto info = parse_runtime_file(
      R"({"pid": 5, "port": 9000, "root_dir": "/srv", "notebook_dir": "/old"})", "jpserver-5.json");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->root_dir, "/srv");
}

TEST(ParseRuntimeFile, BaseUrlIsNormalised) {
  struct Case {
    std::string json_value;
    std::string base_url;
  };
  const std::vector<Case> cases = {
      {R"("/")", "/"},        {R"("")", "/"},         {R"("lab")", "/lab/"},
      {R"("/a/b")", "/a/b/"}, {R"("a/b/")", "/a/b/"}, {R"("/user/ann/")", "/user/ann/"},
  };
  for (const auto& c : cases) {
    auto json = R"({"pid": 3, "port": 8888, "base_url": )" + c.json_value + "}";
    auto info = parse_runtime_file(json, "jpserver-3.json");
    ASSERT_TRUE(info.has_value()) << json;
    EXPECT_EQ(info->base_url, c.base_url) << json;
  }
  auto missing = parse_runtime_file(R"({"pid": 3, "port": 8888})", "jpserver-3.json");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->base_url, "/");
}

TEST(ParseRuntimeFile, SockOnlyServer) {
  auto info = parse_runtime_file(
      R"({"pid": 77, "port": 0, "sock": "/tmp/jupyter.sock", "token": "t", "base_url": "/"})",
      "jpserver-77.json");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->port, 0);
  EXPECT_EQ(info->sock, "/tmp/jupyter.sock");
}

TEST(ParseRuntimeFile, WrongTypesOfOptionalFieldsAreIgnored) {
  auto info = parse_runtime_file(
      R"({"pid": 9, "port": 8888, "token": 123, "hostname": null, "password": "yes",)"
      R"( "secure": 1, "base_url": ["x"], "version": 2})",
      "jpserver-9.json");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->token, "");
  EXPECT_EQ(info->hostname, "");
  EXPECT_FALSE(info->password);
  EXPECT_FALSE(info->secure);
  EXPECT_EQ(info->base_url, "/");
  EXPECT_EQ(info->version, "");
}

TEST(ParseRuntimeFile, UnusableFilesSayWhy) {
  const std::vector<std::string> bad = {
      "",
      "not json",
      R"({"pid": 14, "port": 8888)",
      "[]",
      R"([{"pid": 14, "port": 8888}])",
      "null",
      "14",
      R"("jpserver")",
      // pid missing, wrong type or not positive
      R"({"port": 8888})",
      R"({"pid": "14", "port": 8888})",
      R"({"pid": 14.5, "port": 8888})",
      R"({"pid": 0, "port": 8888})",
      R"({"pid": -3, "port": 8888})",
      R"({"pid": null, "port": 8888})",
      // port out of range
      R"({"pid": 14, "port": -1})",
      R"({"pid": 14, "port": 65536})",
      R"({"pid": 14, "port": 99999999999})",
      R"({"pid": 14, "port": 18446744073709551615})",
      // neither a port nor a socket
      R"({"pid": 14})",
      R"({"pid": 14, "port": 0, "sock": ""})",
      R"({"pid": 14, "port": "8888"})",
  };
  for (const auto& json : bad) {
    std::string error;
    auto info = parse_runtime_file(json, "jpserver-14.json", &error);
    EXPECT_FALSE(info.has_value()) << json;
    EXPECT_FALSE(error.empty()) << json;
  }
  // The error pointer is optional.
  EXPECT_FALSE(parse_runtime_file("nope", "x.json").has_value());
}

// ---------------------------------------------------------------------------------------------
// /proc/net/tcp

// As read inside a container: a listener on 0.0.0.0:8888, one on 127.0.0.1:41394, an
// established connection from local port 8081, and a TIME_WAIT socket on local port 9000.
constexpr const char* kProcNetTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode                                                     \n"
    "   0: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "2471590 1 0000000000000000 100 0 0 10 0                    \n"
    "   1: 0100007F:A1B2 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "2471593 1 0000000000000000 100 0 0 10 0                    \n"
    "   2: 020011AC:1F91 010011AC:D3F4 01 00000000:00000000 02:000A7D1B 00000000  1000        0 "
    "2471612 2 0000000000000000 20 4 30 10 -1                   \n"
    "   3: 020011AC:2328 010011AC:C350 06 00000000:00000000 03:00001770 00000000     0        0 "
    "0 3 0000000000000000                                       \n";

// A listener on [::]:8889 and one on [::1]:22, plus an established connection from 5000.
constexpr const char* kProcNetTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:22B9 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000  1000        0 2471600 1 0000000000000000 100 0 0 10 "
    "0\n"
    "   1: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 19823 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0000000000000000FFFF0000020011AC:1388 0000000000000000FFFF0000010011AC:E4F2 01 "
    "00000000:00000000 00:00000000 00000000  1000        0 2471700 1 0000000000000000 20 4 30 10 "
    "-1\n";

TEST(ListeningPorts, RealisticTcpAndTcp6) {
  EXPECT_EQ(jl::jupyter::listening_ports(kProcNetTcp), (std::set<int>{8888, 41394}));
  EXPECT_EQ(jl::jupyter::listening_ports(kProcNetTcp6), (std::set<int>{8889, 22}));
  // The probe concatenates both files.
  EXPECT_EQ(jl::jupyter::listening_ports(std::string(kProcNetTcp) + kProcNetTcp6),
            (std::set<int>{22, 8888, 8889, 41394}));
}

TEST(ListeningPorts, JunkAndEmptyInput) {
  EXPECT_TRUE(jl::jupyter::listening_ports("").empty());
  EXPECT_TRUE(jl::jupyter::listening_ports("cat: /proc/net/tcp6: No such file\n").empty());
  // Malformed local addresses are skipped, lower-case hex is accepted, port 0 is not a port.
  EXPECT_EQ(jl::jupyter::listening_ports("0: 00000000:ZZZZ 0:0 0A\n"
                                         "1: 00000000 0:0 0A\n"
                                         "2: 00000000:12345 0:0 0A\n"
                                         "3: 00000000:1f90 0:0 0A\n"
                                         "4: 00000000:0000 0:0 0A\n"
                                         "5: 00000000:0050 0:0\n"),
            (std::set<int>{8080}));
}

TEST(FirstFreePort, Table) {
  struct Case {
    std::set<int> busy;
    int start;
    std::optional<int> port;
  };
  const std::vector<Case> cases = {
      {{}, 8888, 8888},     {{8888}, 8888, 8889},           {{8888, 8889, 8891}, 8888, 8890},
      {{8887}, 8888, 8888}, {{65535}, 65535, std::nullopt}, {{65534}, 65534, 65535},
      {{}, 65535, 65535},   {{}, 65536, std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jl::jupyter::first_free_port(c.busy, c.start), c.port) << c.start;
  }
  std::set<int> all;
  for (int p = 1024; p <= 65535; ++p) {
    all.insert(p);
  }
  EXPECT_EQ(jl::jupyter::first_free_port(all, 1024), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Container names

TEST(ValidContainerName, Table) {
  const std::vector<std::string> good = {
      "a",
      "jupyter",
      "my_box-1.dev",
      "0abc",
      "5d1918fcea8c",
      "5d1918fcea8c0e6a2b6a4f9a4d4e1f9b0b8c2f3e4d5c6b7a8f9e0d1c2b3a4f5e",
      "A.B-C_D",
      std::string(253, 'x'),
  };
  const std::vector<std::string> bad = {
      "",
      "-box",
      "_box",
      ".box",
      "/box",
      "my box",
      " box",
      "box ",
      "box;rm",
      "box|x",
      "box&",
      "$(id)",
      "box'",
      "box\n",
      "bøx",
      "箱",
      "box/x",
      "box:tag",
      std::string(254, 'x'),
      std::string("bo\0x", 4),
  };
  for (const auto& n : good) {
    EXPECT_TRUE(jl::jupyter::valid_container_name(n)) << n;
  }
  for (const auto& n : bad) {
    EXPECT_FALSE(jl::jupyter::valid_container_name(n)) << n;
  }
}

// ---------------------------------------------------------------------------------------------
// URLs and tokens

TEST(NormaliseBaseUrl, Table) {
  EXPECT_EQ(jl::jupyter::normalise_base_url(""), "/");
  EXPECT_EQ(jl::jupyter::normalise_base_url("/"), "/");
  EXPECT_EQ(jl::jupyter::normalise_base_url("x"), "/x/");
  EXPECT_EQ(jl::jupyter::normalise_base_url("/x"), "/x/");
  EXPECT_EQ(jl::jupyter::normalise_base_url("x/"), "/x/");
  EXPECT_EQ(jl::jupyter::normalise_base_url("/a/b/"), "/a/b/");
}

TEST(LandingPath, PerApp) {
  EXPECT_EQ(jl::jupyter::landing_path(App::lab, false), "lab");
  EXPECT_EQ(jl::jupyter::landing_path(App::notebook, false), "tree");
  EXPECT_EQ(jl::jupyter::landing_path(App::notebook, true), "tree");
  EXPECT_EQ(jl::jupyter::landing_path(App::server, false), "");
}

TEST(LocalUrl, Table) {
  struct Case {
    int port;
    std::string base_url;
    App app;
    bool legacy;
    std::string url;
  };
  const std::vector<Case> cases = {
      {8888, "/", App::lab, false, "http://127.0.0.1:8888/lab?token=T"},
      {49152, "/", App::notebook, true, "http://127.0.0.1:49152/tree?token=T"},
      {9000, "/", App::notebook, false, "http://127.0.0.1:9000/tree?token=T"},
      {9000, "/", App::server, false, "http://127.0.0.1:9000/?token=T"},
      {9000, "jl", App::lab, false, "http://127.0.0.1:9000/jl/lab?token=T"},
      {9000, "/user/ann/", App::lab, false, "http://127.0.0.1:9000/user/ann/lab?token=T"},
      {9000, "", App::server, false, "http://127.0.0.1:9000/?token=T"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jl::jupyter::local_url(c.port, c.base_url, c.app, c.legacy, "T"), c.url);
  }
}

TEST(MaskToken, NeverShowsTheWholeToken) {
  EXPECT_EQ(jl::jupyter::mask_token(""), "(none)");
  const std::string hex = std::string("3f9c2a7be0d14c8e9a6f5b2d7c1e0a4f8b3d6e9c2a5f7b1d") +
                          "c4e1a9f03b7d2e6a8c5f1b9d4e7a0c3f6b2d8e5a1c9f4b7e";
  for (std::size_t n = 1; n <= hex.size(); ++n) {
    std::string token = hex.substr(0, n);
    std::string masked = jl::jupyter::mask_token(token);
    EXPECT_EQ(masked.find(token), std::string::npos) << token << " -> " << masked;
    // At most the first four characters are shown.
    std::size_t shown = 0;
    while (shown < masked.size() && shown < token.size() && masked[shown] == token[shown]) {
      ++shown;
    }
    EXPECT_LE(shown, 4U) << token << " -> " << masked;
  }
}

TEST(MaskToken, LongTokensKeepARecognisablePrefix) {
  auto token = std::string("3f9c2a7be0d14c8e9a6f5b2d7c1e0a4f8b3d6e9c2a5f7b1d");
  auto masked = jl::jupyter::mask_token(token);
  EXPECT_TRUE(masked.starts_with(token.substr(0, 4))) << masked;
  EXPECT_LT(masked.size(), token.size());
}

}  // namespace

namespace {

TEST(OpenPage, SendsTheBrowserOnWithoutLeakingMarkup) {
  const std::string url = "http://127.0.0.1:8888/user/alice/lab?token=abc&x=\"<q>'";
  const auto page = jl::jupyter::open_page(url);
  EXPECT_NE(page.find("<meta http-equiv=\"refresh\" content=\"0;url=http://127.0.0.1:8888/user/"
                      "alice/lab?token=abc&amp;x=&quot;&lt;q&gt;&#39;\">"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("window.location.replace(\"http://127.0.0.1:8888/user/alice/lab?token=abc"
                      "\\u0026x=\\u0022\\u003cq\\u003e'\")"),
            std::string::npos)
      << page;
  // Nothing of the URL appears unescaped where it could end the attribute or the script.
  EXPECT_EQ(page.find("\"<q>"), std::string::npos);
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
}

// Recorded from the bed's Jupyter: GET api/status of jupyter_server 1.23 with one kernel, and
// the answer's Date header.
TEST(Activity, FromTheStatusAnswer) {
  const std::string body =
      R"({"connections": 1, "kernels": 1, "last_activity": "2026-12-04T18:30:00.123456Z", )"
      R"("started": "2026-12-04T18:00:00.000000Z"})";
  auto a = jl::jupyter::parse_activity(body, "Fri, 04 Dec 2026 18:45:30 GMT", 0);
  EXPECT_EQ(a.idle_s, 930);
  EXPECT_EQ(a.kernels, 1);
  EXPECT_EQ(a.connections, 1);
  // Without a Date header, the local clock.
  const long long at_1831 = *jl::jupyter::parse_iso8601("2026-12-04T18:31:00Z");
  EXPECT_EQ(jl::jupyter::parse_activity(body, "", at_1831).idle_s, 60);  // whole seconds
  // A clock behind the server's is no negative idle time.
  EXPECT_EQ(jl::jupyter::parse_activity(body, "Fri, 04 Dec 2026 18:00:00 GMT", 0).idle_s, 0);
  // Notebook 6 writes +00:00.
  EXPECT_EQ(jl::jupyter::parse_activity(R"({"last_activity": "2026-12-04T18:30:00+00:00"})",
                                        "Fri, 04 Dec 2026 18:30:10 GMT", 0)
                .idle_s,
            10);
  for (const char* bad : {"", "[]", "{", R"({"last_activity": 5})",
                          R"({"last_activity": "yesterday", "kernels": -1})"}) {
    auto b = jl::jupyter::parse_activity(bad, "Fri, 04 Dec 2026 18:45:30 GMT", 0);
    EXPECT_EQ(b.idle_s, std::nullopt) << bad;
    EXPECT_EQ(b.kernels, -1) << bad;
  }
}

TEST(Activity, Dates) {
  EXPECT_EQ(jl::jupyter::parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(jl::jupyter::parse_iso8601("2000-03-01T00:00:00Z"), 951868800);
  EXPECT_EQ(jl::jupyter::parse_iso8601("2024-02-29T23:59:59.5Z"), 1709251199);
  EXPECT_EQ(jl::jupyter::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(jl::jupyter::parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"), 1709251199);
  for (const char* bad :
       {"", "2024-02-29", "2024-13-01T00:00:00Z", "2024-02-29T23:59:59",
        "2024-02-29T23:59:59+01:00", "2024-02-29T23:59:59.Z", "2024-02-29T24:00:00Z"}) {
    EXPECT_EQ(jl::jupyter::parse_iso8601(bad), std::nullopt) << bad;
  }
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT"}) {
    EXPECT_EQ(jl::jupyter::parse_http_date(bad), std::nullopt) << bad;
  }
}

// The last lines of the logs of real servers that shut themselves down (jupyter_server 1.23 and
// notebook 6.4 with shutdown_no_activity_timeout=60), and of one stopped by jl.
TEST(LogMessage, WithoutJupytersPrefix) {
  EXPECT_EQ(jl::jupyter::log_message(
                "[I 2026-12-04 20:05:11.227 ServerApp] jltb_slow: warming up, this takes 20 s"),
            "jltb_slow: warming up, this takes 20 s");
  EXPECT_EQ(jl::jupyter::log_message("[W 18:41:11.717 NotebookApp] Terminals not available"),
            "Terminals not available");
  EXPECT_EQ(jl::jupyter::log_message("[C 2026-12-04 20:05:11.227 ServerApp] "), "");
  // Not Jupyter's prefix: as it is.
  for (const char* line : {"Traceback (most recent call last):", "[x] done", "[I no close", "",
                           "[I]", "  File \"/usr/lib/python3\", line 1"}) {
    EXPECT_EQ(jl::jupyter::log_message(line), line) << line;
  }
}

TEST(IdleShutdown, FromTheLogsEnd) {
  EXPECT_EQ(jl::jupyter::idle_shutdown(
                "[I 2026-12-04 18:40:11.713 ServerApp] Kernel shutdown: 4b2c\n"
                "[I 2026-12-04 18:41:11.717 ServerApp] No kernels or terminals for 61 seconds; "
                "shutting down.\n"
                "[I 2026-12-04 18:41:11.718 ServerApp] Shutting down 0 terminals\n"),
            61);
  EXPECT_EQ(jl::jupyter::idle_shutdown("[I 18:41:11.717 NotebookApp] No kernels or terminals for "
                                       "118 seconds; shutting down."),
            118);
  EXPECT_EQ(jl::jupyter::idle_shutdown("[I 18:41:11 NotebookApp] No kernels for 7 seconds; "
                                       "shutting down."),
            7);
  EXPECT_EQ(jl::jupyter::idle_shutdown("[C 18:41:11.717 ServerApp] received signal 15, stopping\n"
                                       "[I 18:41:11.718 ServerApp] Shutting down 1 kernel\n"),
            std::nullopt);
  EXPECT_EQ(jl::jupyter::idle_shutdown("Kernels for 5 seconds; shutting down."), std::nullopt);
  EXPECT_EQ(jl::jupyter::idle_shutdown(""), std::nullopt);
}

}  // namespace
