// The reader of `docker pull` on a terminal, fed with output recorded from the real docker
// (tests/unit/fixtures/pull: the Debian client 20.10 and a static 28.2 client against dockerd
// 20.10 and Debian's docker-registry 2.8 on 127.0.0.1, on a pseudo-terminal 200 and 80 columns
// wide, and off a terminal), in chunks split anywhere; and the command that runs it, for real
// under dash and busybox sh with a stand-in docker.

#include "jl/core/pull.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "jl/core/problem.hpp"
#include "jl/core/shell.hpp"
#include "support.hpp"

namespace {

using jl::pull::Failure;
using jl::pull::Layer;
using jl::pull::Progress;
using jl::pull::Reader;
using jl::pull::Report;

const std::string kDir = JL_PULL_FIXTURES;
constexpr const char* kNonce = "N0NCE";

// What the command prints around docker's output, on a terminal (\r\n line ends).
std::string wrapped(const std::string& docker_output, int rc) {
  return std::string("@@") + kNonce + " pull\r\n" + docker_output + "@@" + kNonce + " pull-rc " +
         std::to_string(rc) + "\r\n";
}

Report read_in_chunks(const std::string& stream, std::size_t chunk) {
  Reader reader(kNonce);
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    reader.feed(std::string_view(stream).substr(i, chunk));
  }
  reader.finish();
  return reader.report();
}

struct Case {
  const char* fixture;
  int rc;             // -1: the fixture is the command's whole output, markers and all
  Progress progress;  // at the end
  const char* digest;
  bool up_to_date;
  const char* reason;  // a part of it; empty: none
  Failure failure;     // of the reason, when there is one
};

// The five-layer image (on top of a layer the host has) of 2, 4, 8, 16 and 32 MiB of random
// bytes: docker names them in MB, 3-4 significant digits.
constexpr long long kFiveBytes = 2'098'000 + 4'196'000 + 8'391'000 + 16'780'000 + 33'560'000;
constexpr const char* kFiveDigest =
    "sha256:63976ff03edc3880baacaa17c0ba3b068aefa022b85ffd62981b8811ad8305d9";

const Case kCases[] = {
    {"docker28-wide.pty", 0, {6, 6, kFiveBytes, kFiveBytes}, kFiveDigest, false, "", {}},
    {"docker20-wide.pty", 0, {6, 6, kFiveBytes, kFiveBytes}, kFiveDigest, false, "", {}},
    // 80 columns: docker leaves out the bar, the numbers stay.
    {"docker28-narrow.pty", 0, {6, 6, kFiveBytes, kFiveBytes}, kFiveDigest, false, "", {}},
    {"docker28-up-to-date.pty", 0, {0, 0, 0, 0}, kFiveDigest, true, "", {}},
    // Off a terminal docker prints no sizes: the layers still count.
    {"docker20-notty.txt",
     0,
     {4, 4, 0, 0},
     "sha256:253c965309fc03ea23020222bf664cbf70b2ab8dbdc35441f8f7a44aca533212",
     false,
     "",
     {}},
    {"docker28-manifest-unknown.pty",
     1,
     {},
     "",
     false,
     "manifest for 127.0.0.1:5555/wp/nope:1 not found: manifest unknown",
     Failure::unknown_image},
    {"docker28-refused.pty",
     1,
     {},
     "",
     false,
     "dial tcp 127.0.0.1:5599: connect: connection refused",
     Failure::unreachable},
    {"docker28-auth.pty", 1, {}, "", false, "no basic auth credentials", Failure::auth},
    // What jl reads from the real sshd's pty after the boot marker: the terminal's echo of the
    // command first, then the command's output (docker 28.2, 80 columns, the bed's registry
    // image: its base layer there already, three of 16, 32 and 64 MiB).
    {"sshd-pty-jl.out",
     -1,
     {4, 4, 16'780'000 + 33'560'000 + 67'130'000, 16'780'000 + 33'560'000 + 67'130'000},
     "sha256:c66cec4c05dcbe4f518d51a6f025d38aea5730ae40c6acf9984adfaa6deffb4e",
     false,
     "",
     {}},
};

std::string stream_of(const Case& c) {
  const std::string recorded = jl_test::read_file(kDir + "/" + c.fixture);
  return c.rc < 0 ? recorded : wrapped(recorded, c.rc);
}

class Recorded : public ::testing::TestWithParam<Case> {};

TEST_P(Recorded, ReadsTheSameInAnyChunks) {
  const Case& c = GetParam();
  const std::string stream = stream_of(c);
  for (std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{2}, std::size_t{7},
                            std::size_t{64}, std::size_t{500}}) {
    SCOPED_TRACE(chunk);
    const Report r = read_in_chunks(stream, chunk);
    EXPECT_TRUE(r.started);
    EXPECT_EQ(r.rc, std::max(c.rc, 0));
    EXPECT_EQ(r.progress, c.progress) << r.progress.layers << " " << r.progress.layers_done << " "
                                      << r.progress.bytes_done << " " << r.progress.bytes_total;
    EXPECT_EQ(r.digest, c.digest);
    EXPECT_EQ(r.up_to_date, c.up_to_date);
    if (*c.reason == '\0') {
      EXPECT_TRUE(r.error.empty()) << r.error;
    } else {
      EXPECT_NE(r.reason().find(c.reason), std::string::npos) << r.reason();
      EXPECT_FALSE(r.reason().starts_with("Error response from daemon")) << r.reason();
      EXPECT_EQ(jl::pull::classify(r.reason()), c.failure) << r.reason();
    }
  }
}

// As the stream arrives, the counts only grow and never pass the totals; bytes are counted
// before the end.
TEST_P(Recorded, ProgressOnlyGrows) {
  const Case& c = GetParam();
  const std::string stream = stream_of(c);
  Reader reader(kNonce);
  Progress last;
  bool partly = false;
  for (char ch : stream) {
    reader.feed(std::string_view(&ch, 1));
    const Progress& p = reader.report().progress;
    EXPECT_GE(p.layers, last.layers);
    EXPECT_GE(p.layers_done, last.layers_done);
    EXPECT_GE(p.bytes_total, last.bytes_total);
    EXPECT_GE(p.bytes_done, last.bytes_done);
    EXPECT_LE(p.bytes_done, p.bytes_total);
    EXPECT_LE(p.layers_done, p.layers);
    partly = partly || (p.bytes_done > 0 && p.bytes_done < p.bytes_total);
    last = p;
  }
  EXPECT_EQ(partly, c.progress.bytes_total > 0);
}

INSTANTIATE_TEST_SUITE_P(Docker, Recorded, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& c) {
                           std::string name = c.param.fixture;
                           for (auto& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) {
                               ch = '_';
                             }
                           }
                           return name;
                         });

TEST(PullReader, ALayerMidwayCountsItsBytes) {
  Reader reader(kNonce);
  reader.feed("@@N0NCE pull\r\n");  // the start marker
  reader.feed(
      "5: Pulling from wp/five\r\n\r\n"
      "\033[1A\033[2K\r3c3b8871db57: Already exists \r\033[1B\r\n"
      "\033[1A\033[2K\rb8a190c51c71: Pulling fs layer \r\033[1B\r\n"
      "\033[1A\033[2K\r3dfd526808dc: Pulling fs layer \r\033[1B\r\n"
      "\033[2A\033[2K\rb8a190c51c71: Downloading [=====>     ]  1.049MB/2.098MB\r\033[2B"
      "\033[1A\033[2K\r3dfd526808dc: Downloading  65.54kB/4.196MB\r\033[1B"
      "\033[2A\033[2K\rb8a190c51c71: Verifying Checksum \r\033[2B"
      "\033[1A\033[2K\r3dfd526808dc: Downloading [=>   ]  1.2MB/4.19");  // cut mid-record
  const auto& r = reader.report();
  ASSERT_EQ(r.layers.size(), 3u);
  EXPECT_EQ(r.layers[0].state, Layer::State::exists);
  EXPECT_EQ(r.layers[1].state, Layer::State::downloaded);
  EXPECT_EQ(r.layers[2].state, Layer::State::downloading);
  EXPECT_EQ(r.progress, (Progress{3, 1, 2'098'000 + 65'540, 2'098'000 + 4'196'000}));
  EXPECT_EQ(jl::pull::describe(r.progress), "1/3 layers, 2.2 MB of 6.3 MB");
  // The record completes with the next chunk.
  reader.feed("6MB\r\033[1B");
  EXPECT_EQ(reader.report().progress.bytes_done, 2'098'000 + 1'200'000);
  EXPECT_EQ(reader.report().layers[2].total, 4'196'000);
}

TEST(PullReader, RetryingStartsTheLayerAgain) {
  Reader reader(kNonce);
  reader.feed("@@N0NCE pull\r\n");
  reader.feed("aaaaaaaaaaaa: Downloading  3MB/4MB\r");
  EXPECT_EQ(reader.report().progress.bytes_done, 3'000'000);
  reader.feed("aaaaaaaaaaaa: Retrying in 5 seconds\r");
  EXPECT_EQ(reader.report().progress, (Progress{1, 0, 0, 4'000'000}));
}

TEST(PullReader, IgnoresWhatComesBeforeTheStartAndAfterTheEnd) {
  Reader reader(kNonce);
  // The terminal echoes jl's own command before the script runs.
  reader.feed("37\r\nsh -c '... m pull ...' jl 'N0NCE' 'docker' 'docker' 'img'\r\n#jl-end\r\n");
  reader.feed("Error: not docker's\r\n");
  EXPECT_FALSE(reader.report().started);
  EXPECT_TRUE(reader.report().error.empty());
  reader.feed("@@N0NCE pull\r\nsudo: a password is required\r\n@@N0NCE pull-rc 1\r\n");
  reader.feed("aaaaaaaaaaaa: Pull complete\r\n");
  const auto& r = reader.report();
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.reason(), "sudo: a password is required");
  EXPECT_EQ(r.progress.layers, 0);
}

TEST(PullReader, DockerMissing) {
  Reader reader(kNonce);
  reader.feed("@@N0NCE docker-missing docker\n");
  reader.finish();
  EXPECT_TRUE(reader.report().docker_missing);
  EXPECT_FALSE(reader.report().started);
}

TEST(PullReader, UnknownEscapesAndControlsAreNoRecords) {
  Reader reader(kNonce);
  reader.feed("@@N0NCE pull\n\033]0;title\007\033(B\033[?25l\033[0m");
  reader.feed("\bbbbbbbbbbbbb: Downloading \t 1kB/2kB\033[K");
  reader.finish();
  EXPECT_EQ(reader.report().progress, (Progress{1, 0, 1000, 2000}));
}

TEST(PullReader, ALongRecordIsBounded) {
  Reader reader(kNonce);
  reader.feed("@@N0NCE pull\n");
  reader.feed(std::string(1 << 20, 'x'));
  reader.feed("\n");
  EXPECT_LE(reader.report().last_other.size(), 300u);
}

TEST(PullSizes, ParsesDockersUnits) {
  struct {
    const char* text;
    std::optional<long long> bytes;
  } const cases[] = {
      {"512B", 512},
      {"163.8kB", 163'800},
      {"15.73MB", 15'730'000},
      {"47.2MB", 47'200'000},
      {"1.2GB", 1'200'000'000},
      {"2TB", 2'000'000'000'000},
      {"1KiB", 1024},
      {"1.5MiB", 1'572'864},
      {"0B", 0},
      {"", std::nullopt},
      {"MB", std::nullopt},
      {"1.2XB", std::nullopt},
      {"1..2MB", std::nullopt},
      {"-1MB", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jl::pull::parse_size(c.text), c.bytes) << c.text;
  }
}

TEST(PullSizes, FormatsInDecimalUnits) {
  EXPECT_EQ(jl::pull::format_size(0), "0 B");
  EXPECT_EQ(jl::pull::format_size(999), "999 B");
  EXPECT_EQ(jl::pull::format_size(1000), "1.0 kB");
  EXPECT_EQ(jl::pull::format_size(163'800), "163.8 kB");
  EXPECT_EQ(jl::pull::format_size(123'449'999), "123.4 MB");
  EXPECT_EQ(jl::pull::format_size(999'960'000), "1.0 GB");
  EXPECT_EQ(jl::pull::format_size(456'700'000'000), "456.7 GB");
}

TEST(PullDescribe, LayersThenBytes) {
  EXPECT_EQ(jl::pull::describe({}), "");
  EXPECT_FALSE(jl::pull::fraction({}));
  EXPECT_EQ(jl::pull::describe({7, 3, 0, 0}), "3/7 layers");
  EXPECT_FALSE(jl::pull::fraction({8, 2, 0, 0}));  // no bar before a size is known
  EXPECT_EQ(jl::pull::describe({7, 3, 123'400'000, 456'700'000}),
            "3/7 layers, 123.4 MB of 456.7 MB");
  EXPECT_DOUBLE_EQ(*jl::pull::fraction({7, 3, 100, 400}), 0.25);
  EXPECT_EQ(jl::pull::describe({4, 2, 117'500'000, 117'500'000}),
            "2/4 layers, 117.5 MB of 117.5 MB, extracting");
  EXPECT_EQ(jl::pull::describe({4, 4, 117'500'000, 117'500'000}),
            "4/4 layers, 117.5 MB of 117.5 MB");
  EXPECT_DOUBLE_EQ(*jl::pull::fraction({4, 4, 117'500'000, 117'500'000}), 1.0);
}

TEST(PullFailure, ClassifiesDockersReasons) {
  struct {
    const char* said;
    Failure failure;
  } const cases[] = {
      {"manifest for reg:5000/x:1 not found: manifest unknown: manifest unknown",
       Failure::unknown_image},
      {"pull access denied for nope, repository does not exist or may require 'docker login': "
       "denied: requested access to the resource is denied",
       Failure::unknown_image},
      {"Head \"http://127.0.0.1:5556/v2/wp/five/manifests/5\": no basic auth credentials",
       Failure::auth},
      {"Get \"https://nvcr.io/v2/nvidia/pytorch/manifests/24.05-py3\": unauthorized: "
       "authentication required",
       Failure::auth},
      {"Get \"http://127.0.0.1:5599/v2/\": dial tcp 127.0.0.1:5599: connect: connection refused",
       Failure::unreachable},
      {"Get \"https://reg.example/v2/\": dial tcp: lookup reg.example on 127.0.0.53:53: no such "
       "host",
       Failure::unreachable},
      {"Get \"https://10.0.0.1:5000/v2/\": http: server gave HTTP response to HTTPS client",
       Failure::unreachable},
      {"Get \"https://r.example/v2/\": net/http: request canceled while waiting for connection "
       "(Client.Timeout exceeded while awaiting headers)",
       Failure::unreachable},
      {"sudo: a password is required", Failure::other},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jl::pull::classify(c.said), c.failure) << c.said;
  }
}

TEST(PullRegistry, TheFirstComponentWhenItNamesAHost) {
  EXPECT_EQ(jl::pull::registry_of("127.0.0.1:5000/jl/lab:1"), "127.0.0.1:5000");
  EXPECT_EQ(jl::pull::registry_of("nvcr.io/nvidia/pytorch:24.05-py3"), "nvcr.io");
  EXPECT_EQ(jl::pull::registry_of("localhost/lab"), "localhost");
  EXPECT_EQ(jl::pull::registry_of("jupyter/base-notebook"), "docker.io");
  EXPECT_EQ(jl::pull::registry_of("ubuntu:22.04"), "docker.io");
}

// The command itself, under dash and busybox sh, with a docker that prints like the real one.
class PullCommand : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(bin.c_str(), 0700), 0);
    jl_test::write_file(bin + "/docker",
                        "#!/bin/sh\n"
                        "printf '%s\\0' \"$@\" >\"$FAKE_DIR/args\"\n"
                        "if [ -t 0 ]; then echo stdin is a terminal; fi\n"
                        "read -r x && echo \"read $x\"\n"
                        "echo '3c3b8871db57: Already exists'\n"
                        "echo 'Error response from daemon: nope' >&2\n"
                        "exit 1\n",
                        0755);
    ASSERT_EQ(::symlink(GetParam(), (bin + "/sh").c_str()), 0);
  }
  jl_test::TempDir tmp;
  std::string bin = tmp.path() + "/bin";
};

TEST_P(PullCommand, PullsWithStdinClosedAndReportsTheStatus) {
  auto r = jl_test::run_sh(jl::pull::command(kNonce, "127.0.0.1:5000/jl/lab:1", {"docker"}),
                           "not for docker\n",
                           std::map<std::string, std::string>{{"PATH", bin + ":/usr/bin:/bin"},
                                                              {"FAKE_DIR", tmp.path()}});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(jl_test::split_nul(jl_test::read_file(tmp.path() + "/args")),
            (std::vector<std::string>{"pull", "127.0.0.1:5000/jl/lab:1"}));
  Reader reader(kNonce);
  reader.feed(r.out);
  reader.finish();
  const auto& rep = reader.report();
  EXPECT_TRUE(rep.started) << r.out;
  EXPECT_EQ(rep.rc, 1) << r.out;
  EXPECT_EQ(rep.reason(), "nope") << r.out;
  EXPECT_EQ(rep.progress.layers_done, 1);
  EXPECT_EQ(r.out.find("read "), std::string::npos) << r.out;
}

TEST(PullCommandText, PassesThroughATerminal) {
  EXPECT_TRUE(jl::shell::fits_terminal(jl::shell::boot_payload(
      jl::pull::command(kNonce, "127.0.0.1:5000/jl/lab:1", {"sudo", "-n", "docker"}))));
}

TEST_P(PullCommand, SaysWhenDockerIsMissing) {
  auto r = jl_test::run_sh(jl::pull::command(kNonce, "lab:1", {"nodocker", "-x"}), {},
                           std::map<std::string, std::string>{{"PATH", bin + ":/usr/bin:/bin"}});
  Reader reader(kNonce);
  reader.feed(r.out);
  reader.finish();
  EXPECT_TRUE(reader.report().docker_missing) << r.out;
  EXPECT_FALSE(reader.report().started);
}

INSTANTIATE_TEST_SUITE_P(Shells, PullCommand, ::testing::Values("/bin/dash", "/bin/busybox"),
                         [](const ::testing::TestParamInfo<const char*>& shell) {
                           return std::string(shell.param).substr(5);
                         });

}  // namespace

namespace {

// A failed pull in words: docker's reason in one line, the registry named in IMAGE, a hint.
TEST(PullProblems, NameDockersReasonAndTheRegistry) {
  jl::Subject s;
  s.host = "gpubox";
  s.container = "proj1";
  s.docker = {"sudo", "-n", "docker"};
  s.app = "127.0.0.1:5100/jl/nope:1";
  s.detail = "manifest for 127.0.0.1:5100/jl/nope:1 not found: manifest unknown: manifest unknown";
  auto w = jl::describe(jl::Problem::image_unknown, s);
  EXPECT_EQ(w.message,
            "cannot pull image '127.0.0.1:5100/jl/nope:1' on gpubox: 127.0.0.1:5100 has no such "
            "image or tag (manifest for 127.0.0.1:5100/jl/nope:1 not found: manifest unknown: "
            "manifest unknown)");
  EXPECT_NE(w.hint.find("first part of IMAGE (127.0.0.1:5100)"), std::string::npos) << w.hint;
  s.detail =
      "Get \"http://127.0.0.1:5599/v2/\": dial tcp 127.0.0.1:5599: connect: connection refused";
  w = jl::describe(jl::Problem::registry_unreachable, s);
  EXPECT_NE(w.message.find("the registry 127.0.0.1:5100 cannot be reached from there"),
            std::string::npos)
      << w.message;
  EXPECT_NE(w.message.find("connection refused"), std::string::npos);
  EXPECT_NE(w.hint.find("sudo -n docker pull 127.0.0.1:5100/jl/nope:1"), std::string::npos)
      << w.hint;
  s.app = "nvcr.io/nvidia/pytorch:24.05-py3";
  s.detail = "Head \"https://nvcr.io/v2/nvidia/pytorch/manifests/24.05-py3\": unauthorized";
  w = jl::describe(jl::Problem::registry_login, s);
  EXPECT_NE(w.message.find("the registry nvcr.io wants a login (Head"), std::string::npos)
      << w.message;
  EXPECT_EQ(w.hint, "log in to it on the host, as the SSH user: sudo -n docker login nvcr.io");
  for (auto p : {jl::Problem::image_unknown, jl::Problem::registry_unreachable,
                 jl::Problem::registry_login, jl::Problem::pull_failed}) {
    auto words = jl::describe(p, s);
    EXPECT_EQ(words.message.find('\n'), std::string::npos);
    EXPECT_FALSE(words.hint.empty());
    EXPECT_EQ(words.exit, jl::Exit::remote);
  }
}

}  // namespace
