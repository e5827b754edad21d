// jl logs' pure parts: the streaming reader, and the script run for real by /bin/sh with a
// stand-in `docker` whose `exec -i` runs the command here, following included: closing its
// stdin must end it and leave no tail behind.

#include "jl/core/logs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support.hpp"

namespace {

using jl::logs::Reader;
using jl_test::read_file;
using jl_test::run_sh;
using jl_test::split_nul;
using jl_test::write_file;
using Outcome = Reader::Outcome;

TEST(LogsReader, StreamsWholeLinesBetweenTheMarkers) {
  Reader r("N1");
  EXPECT_TRUE(r.feed("@@N1 beg").empty());
  EXPECT_EQ(r.outcome(), Outcome::pending);
  auto a = r.feed("in\nline one\nline t");
  EXPECT_EQ(r.outcome(), Outcome::streaming);
  EXPECT_EQ(a, (std::vector<std::string>{"line one"}));
  auto b = r.feed("wo\n\n@@N2 begin not ours\n");
  EXPECT_EQ(b, (std::vector<std::string>{"line two", "", "@@N2 begin not ours"}));
  auto c = r.feed("last without newline@@N1 end\n");
  EXPECT_EQ(c, (std::vector<std::string>{"last without newline"}));
  EXPECT_EQ(r.outcome(), Outcome::ended);
  EXPECT_FALSE(r.finish().has_value());
}

TEST(LogsReader, FailuresAndWhatDockerSaid) {
  Reader missing("N");
  missing.feed("@@N missing\n");
  EXPECT_EQ(missing.outcome(), Outcome::missing);

  Reader unreadable("N");
  unreadable.feed("@@N unreadable jupyter\n");
  EXPECT_EQ(unreadable.outcome(), Outcome::unreadable);
  EXPECT_EQ(unreadable.user(), "jupyter");

  Reader docker("N");
  EXPECT_TRUE(docker.feed("Error response from daemon: container abc is not running\n").empty());
  EXPECT_EQ(docker.outcome(), Outcome::pending);
  EXPECT_EQ(docker.before(), "Error response from daemon: container abc is not running\n");

  Reader partial("N");
  partial.feed("@@N begin\nhalf");
  EXPECT_EQ(partial.finish(), std::optional<std::string>("half"));
}

constexpr const char* kFakeDocker = R"SH(#!/bin/sh
d=$FAKE_DOCKER_DIR
printf '%s\0' "$@" >"$d/args-$1"
if [ -f "$d/fail" ]; then cat "$d/fail" >&2; exit 1; fi
[ "$1" = exec ] || exit 125
shift
[ "$1" = -i ] && shift
shift
exec "$@"
)SH";

class LogsScript : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(bin.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir(docker_dir.c_str(), 0700), 0);
    write_file(bin + "/docker", kFakeDocker, 0755);
    std::string text;
    for (int i = 1; i <= 20; ++i) {
      text += "line " + std::to_string(i) + "\n";
    }
    write_file(log, text, 0600);
  }

  std::map<std::string, std::string> env() const {
    return {{"PATH", bin + ":/usr/bin:/bin"}, {"FAKE_DOCKER_DIR", docker_dir}};
  }

  std::vector<std::string> show(const std::string& file, int lines, Reader& reader) {
    auto r = run_sh(jl::logs::command(nonce, "box", file, lines, false), {}, env());
    EXPECT_FALSE(r.timed_out);
    auto out = reader.feed(r.out);
    if (auto last = reader.finish()) {
      out.push_back(*last);
    }
    return out;
  }

  jl_test::TempDir tmp;
  std::string bin = tmp / "bin";
  std::string docker_dir = tmp / "docker";
  std::string log = tmp / "jupyter 'x' $y.log";
  std::string nonce = std::string("5b9e2c7a1f3d");
};

TEST_F(LogsScript, TheLastLines) {
  Reader reader(nonce);
  auto lines = show(log, 3, reader);
  EXPECT_EQ(lines, (std::vector<std::string>{"line 18", "line 19", "line 20"}));
  EXPECT_EQ(reader.outcome(), Outcome::ended);
  auto args = split_nul(read_file(docker_dir + "/args-exec"));
  ASSERT_GE(args.size(), 11U);
  EXPECT_EQ(args[1], "-i");
  EXPECT_EQ(args[2], "box");
  EXPECT_EQ(args[8], log);  // the path reaches the script as one word
  EXPECT_EQ(args[9], "3");
  EXPECT_EQ(args[10], "0");

  Reader none(nonce);
  EXPECT_TRUE(show(log, 0, none).empty());
  EXPECT_EQ(none.outcome(), Outcome::ended);
}

TEST_F(LogsScript, AMissingLogAndDockerFailing) {
  Reader missing(nonce);
  EXPECT_TRUE(show(tmp / "nope.log", 5, missing).empty());
  EXPECT_EQ(missing.outcome(), Outcome::missing);

  write_file(docker_dir + "/fail", "Error response from daemon: container box is not running\n");
  Reader failed(nonce);
  EXPECT_TRUE(show(log, 5, failed).empty());
  EXPECT_EQ(failed.outcome(), Outcome::pending);
  EXPECT_NE(failed.before().find("is not running"), std::string::npos);
  EXPECT_THROW((void)jl::logs::command(nonce, "box", log, 1, false, {}), std::invalid_argument);
}

// Processes whose command line contains `text`.
std::vector<pid_t> processes_with(const std::string& text) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) {
    return out;
  }
  while (auto* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid <= 0 || !jl_test::process_alive(pid)) {
      continue;
    }
    std::string cmd;
    try {
      cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    } catch (const std::exception&) {
      continue;
    }
    for (auto& c : cmd) {
      c = c == '\0' ? ' ' : c;
    }
    if (cmd.starts_with("tail ") && cmd.find(text) != std::string::npos) {
      out.push_back(pid);
    }
  }
  ::closedir(d);
  return out;
}

TEST_F(LogsScript, FollowStreamsUntilStdinEndsAndLeavesNoTail) {
  int in[2];
  int out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const std::string cmd = jl::logs::command(nonce, "box", log, 2, true);
  const std::string path = "PATH=" + bin + ":/usr/bin:/bin";
  const std::string fake = "FAKE_DOCKER_DIR=" + docker_dir;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    const char* envp[] = {path.c_str(), fake.c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char**>(argv), const_cast<char**>(envp));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  Reader reader(nonce);
  std::vector<std::string> lines;
  // Read until `want` has arrived, for at most 5 s.
  auto read_until = [&](const std::string& want) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::find(lines.begin(), lines.end(), want) == lines.end() &&
           std::chrono::steady_clock::now() < until) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      char buf[4096];
      auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      for (auto& l : reader.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
        lines.push_back(std::move(l));
      }
    }
    return std::find(lines.begin(), lines.end(), want) != lines.end();
  };
  EXPECT_TRUE(read_until("line 20"));
  EXPECT_EQ(lines, (std::vector<std::string>{"line 19", "line 20"}));
  EXPECT_EQ(processes_with(log).size(), 1U);  // tail -f runs
  {
    std::ofstream append(log, std::ios::app);
    append << "written later\n";
  }
  const auto appended = std::chrono::steady_clock::now();
  EXPECT_TRUE(read_until("written later"));
  EXPECT_LT(std::chrono::steady_clock::now() - appended, std::chrono::seconds(2));
  EXPECT_EQ(reader.outcome(), Outcome::streaming);

  // End of stdin: the script stops tail and ends.
  ::close(in[1]);
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 100 && !exited; ++i) {
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(exited) << "the script did not end when its stdin did";
  read_until("never");
  EXPECT_EQ(reader.outcome(), Outcome::ended);
  EXPECT_TRUE(processes_with(log).empty()) << "tail is still running";
  ::close(out[0]);
}

}  // namespace
