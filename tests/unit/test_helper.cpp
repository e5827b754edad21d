// The host's helper loop: its answers read back, whole and byte by byte, and the loop itself
// run for real by /bin/sh (dash here) and by busybox's sh, through the login-shell bootstrap
// as the master sends it.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jl/core/helper.hpp"
#include "jl/core/shell.hpp"
#include "support.hpp"

namespace {

using jl::helper::Piece;
using jl::helper::Reader;

struct Job {
  std::uint64_t id = 0;
  std::string out;
  std::string err;
  int status = -1;
};

// The jobs a stream answers, in order; `ready` says whether the loop said it was ready.
std::vector<Job> read_all(std::string_view stream, std::size_t chunk, bool* ready, bool* ok) {
  Reader reader;
  std::vector<Piece> pieces;
  *ok = true;
  for (std::size_t at = 0; at < stream.size() && *ok; at += chunk) {
    *ok = reader.feed(stream.substr(at, chunk), pieces);
  }
  std::vector<Job> jobs;
  Job cur;
  *ready = false;
  for (auto& p : pieces) {
    switch (p.kind) {
      case Piece::Kind::ready:
        *ready = true;
        break;
      case Piece::Kind::out:
        cur.out += p.bytes;
        cur.id = p.id;
        break;
      case Piece::Kind::err:
        cur.err += p.bytes;
        cur.id = p.id;
        break;
      case Piece::Kind::done:
        cur.id = p.id;
        cur.status = p.status;
        jobs.push_back(cur);
        cur = Job{};
        break;
    }
  }
  return jobs;
}

TEST(Helper, AnswersAreReadWholeAndInPieces) {
  const std::string stream =
      "Welcome to the host\n@@jl-boot-1\n@@jl-helper-1\n"
      "@@jl-done 7 0 6 0\nhello\n"
      "@@jl-done 8 3        2 5\nnoerror"  // BSD's wc pads its counts
      "@@jl-done 9 0 0 0\n";
  for (std::size_t chunk : {stream.size(), std::size_t{1}, std::size_t{3}}) {
    bool ready = false;
    bool ok = false;
    auto jobs = read_all(stream, chunk, &ready, &ok);
    EXPECT_TRUE(ok) << chunk;
    EXPECT_TRUE(ready) << chunk;
    ASSERT_EQ(jobs.size(), 3u) << chunk;
    EXPECT_EQ(jobs[0].id, 7u);
    EXPECT_EQ(jobs[0].out, "hello\n");
    EXPECT_EQ(jobs[0].status, 0);
    EXPECT_EQ(jobs[1].id, 8u);
    EXPECT_EQ(jobs[1].out, "no");
    EXPECT_EQ(jobs[1].err, "error");
    EXPECT_EQ(jobs[1].status, 3);
    EXPECT_EQ(jobs[2].id, 9u);
    EXPECT_EQ(jobs[2].out, "");
    EXPECT_EQ(jobs[2].status, 0);
  }
}

TEST(Helper, ABadAnswerLineBreaksTheStream) {
  for (std::string bad : {"@@jl-done 1 0 x 0\n", "@@jl-done 1 256 0 0\n", "@@jl-done 1 0 0\n",
                          "hello\n", "@@jl-done 1 0 0 0 0\n", "@@jl-done 1 -1 0 0\n"}) {
    Reader reader;
    std::vector<Piece> pieces;
    EXPECT_TRUE(reader.feed("@@jl-helper-1\n", pieces));
    EXPECT_FALSE(reader.feed(bad, pieces)) << bad;
    EXPECT_FALSE(reader.feed("@@jl-done 1 0 0 0\n", pieces)) << "stays broken after " << bad;
  }
  Reader reader;
  std::vector<Piece> pieces;
  EXPECT_TRUE(reader.feed("@@jl-helper-1\n@@jl-done 1 0 ", pieces));
  EXPECT_FALSE(reader.feed(std::string(300, '9'), pieces)) << "an answer line without end";
}

TEST(Helper, EndlessNoiseBeforeTheLoopIsNotTheHelper) {
  Reader reader;
  std::vector<Piece> pieces;
  const std::string line(1000, 'x');
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) {
    ok = reader.feed(line + "\n", pieces);
  }
  EXPECT_FALSE(ok);
  EXPECT_FALSE(reader.ready());
  EXPECT_TRUE(pieces.empty());
}

TEST(Helper, JobsCarryTheBootstrapTrailer) {
  EXPECT_EQ(jl::helper::job(5, "echo hi"), "5 15\necho hi\n#jl-end");
}

// The loop as the master starts it: the bootstrap's line runs it, and the jobs follow on stdin.
void run_loop(const std::string& sh) {
  std::string input = jl::shell::boot_payload(jl::helper::script());
  input += jl::helper::job(1, "echo one; echo two >&2; exit 4");
  input += jl::helper::job(2, "cat; printf 'no newline'");  // stdin is empty
  input += jl::helper::job(
      3, jl::shell::sh_c("printf '%s|' \"$@\"", std::vector<std::string>{"a b", "it's", "$x"}));
  input += jl::helper::job(4, "x=changed; cd /");
  input += jl::helper::job(5, "echo \"${x-unset}\"; [ \"$(pwd)\" != / ] && echo kept");
  input += jl::helper::job(6, "kill -9 $$");  // $$ is the loop's own sh
  input += jl::helper::job(7, "echo after");
  const std::string boot(jl::shell::boot_line());
  // The bootstrap's `exec /bin/sh` is this sh here.
  std::string line = boot;
  line.replace(line.find("/bin/sh"), 7, sh);
  auto r = jl_test::run_sh(line, input);
  bool ready = false;
  bool ok = false;
  auto jobs = read_all(r.out, 4096, &ready, &ok);
  EXPECT_TRUE(ok) << r.out;
  EXPECT_TRUE(ready) << r.out;
  ASSERT_EQ(jobs.size(), 5u) << r.out;
  EXPECT_EQ(jobs[0].id, 1u);
  EXPECT_EQ(jobs[0].out, "one\n");
  EXPECT_EQ(jobs[0].err, "two\n");
  EXPECT_EQ(jobs[0].status, 4);
  EXPECT_EQ(jobs[1].out, "no newline");
  EXPECT_EQ(jobs[1].status, 0);
  EXPECT_EQ(jobs[2].out, "a b|it's|$x|");
  EXPECT_EQ(jobs[3].id, 4u);
  // Each job runs in a subshell of its own: a variable or directory it sets stays there.
  EXPECT_EQ(jobs[4].out, "unset\nkept\n");
  // Job 6 killed the loop itself: no answer, and nothing runs after it.
  EXPECT_EQ(r.out.find("after"), std::string::npos);
}

TEST(Helper, TheLoopRunsUnderDash) {
  run_loop("/bin/sh");
}

TEST(Helper, TheLoopRunsUnderBusybox) {
  if (!jl_test::exists("/bin/busybox")) {
    GTEST_FAIL() << "busybox is part of the build's dependencies (tests/deps.sh)";
  }
  run_loop("/bin/busybox sh");
}

}  // namespace

namespace {

// `sh`: the shell that `sh` on the PATH is, as the batch's own `sh -c` finds it.
void run_batch(const std::string& sh) {
  jl_test::TempDir dir;
  const std::string bin = dir / "bin";
  std::filesystem::create_directory(bin);
  std::filesystem::create_symlink(sh, bin + "/sh");
  const std::string flag = dir / "flag";
  // The first waits (up to 5 s) for a file that only the second makes: they run at once.
  const std::vector<std::string> commands = {
      "i=0; while [ ! -e " + flag +
          " ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; "
          "[ -e " +
          flag + " ] && echo saw it",
      "touch " + flag + "; echo two >&2; exit 3",
      "cat; printf 'no newline'",
      jl::shell::sh_c("printf '%s|' \"$@\"", std::vector<std::string>{"a b", "it's", "$x"}),
  };
  auto r = jl_test::run_sh(jl::helper::batch(commands), {},
                           std::map<std::string, std::string>{{"PATH", bin + ":/usr/bin:/bin"}});
  auto results = jl::helper::parse_batch(r.out, commands.size());
  ASSERT_TRUE(results) << r.out;
  EXPECT_EQ((*results)[0].out, "saw it\n");
  EXPECT_EQ((*results)[0].status, 0);
  EXPECT_EQ((*results)[1].err, "two\n");
  EXPECT_EQ((*results)[1].status, 3);
  EXPECT_EQ((*results)[2].out, "no newline");
  EXPECT_EQ((*results)[3].out, "a b|it's|$x|");
  EXPECT_FALSE(jl::helper::parse_batch(r.out, commands.size() + 1)) << "one answer missing";
  EXPECT_FALSE(jl::helper::parse_batch(r.out.substr(0, r.out.size() - 1), commands.size()))
      << "an answer cut short";
}

TEST(Helper, ABatchRunsItsCommandsAtOnceAndAnswersForEachUnderDash) {
  run_batch("/bin/dash");
}

TEST(Helper, ABatchRunsUnderBusybox) {
  run_batch("/bin/busybox");
}

TEST(Helper, ABatchsAnswersComeInOrder) {
  EXPECT_FALSE(jl::helper::parse_batch("@@jl-done 1 0 0 0\n@@jl-done 0 0 0 0\n", 2));
  auto ok = jl::helper::parse_batch("@@jl-done 0 0 1 0\nx@@jl-done 1 2 0 0\n", 2);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)[0].out, "x");
  EXPECT_EQ((*ok)[1].status, 2);
}

}  // namespace
