#pragma once

// Small helpers shared by the unit tests: temporary directories, files, and running a
// command line through /bin/sh with a chosen environment and standard input.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace jl_test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/jl-unit-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string operator/(std::string_view name) const { return m_path + "/" + std::string(name); }

 private:
  std::string m_path;
};

inline void write_file(const std::string& path, std::string_view text, mode_t mode = 0644) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw std::runtime_error("cannot write " + path);
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  ::chmod(path.c_str(), mode);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Split a buffer of NUL-terminated words.
inline std::vector<std::string> split_nul(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto z = s.find('\0');
    if (z == std::string_view::npos) {
      out.emplace_back(s);
      break;
    }
    out.emplace_back(s.substr(0, z));
    s.remove_prefix(z + 1);
  }
  return out;
}

struct RunResult {
  std::string out;  // stdout and stderr, interleaved
  int status = -1;  // exit status, or 128 + signal
  bool timed_out = false;
};

// Run `command` with /bin/sh -c. `env` replaces the environment when given. Standard input is
// `input` (then end of file). Gives up and kills the command's process group after `limit`.
inline RunResult run_sh(const std::string& command, const std::string& input = {},
                        const std::optional<std::map<std::string, std::string>>& env = {},
                        std::chrono::seconds limit = std::chrono::seconds(60)) {
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> env_strings;
  if (env) {
    for (const auto& [k, v] : *env) {
      env_strings.push_back(k + "=" + v);
    }
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::string sh = "/bin/sh";
  std::string dash_c = "-c";
  std::string cmd = command;
  std::vector<char*> argv = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(out_pipe[1], 2);
    if (env) {
      ::execve(sh.c_str(), argv.data(), envp.data());
    } else {
      ::execv(sh.c_str(), argv.data());
    }
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  // Inputs are small: they fit in the pipe buffer. A child that exits before reading them
  // (a shell that refuses commands) makes the write fail with EPIPE; SIGPIPE is blocked for it,
  // and taken back if it came, so that it never kills the test.
  sigset_t pipe_only;
  sigset_t before;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
  std::string_view rest = input;
  while (!rest.empty()) {
    ssize_t n = ::write(in_pipe[1], rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(in_pipe[1]);
  const timespec now{0, 0};
  while (::sigtimedwait(&pipe_only, nullptr, &now) == SIGPIPE) {
  }
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);

  RunResult r;
  auto until = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      continue;
    }
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    r.status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.status = 128 + WTERMSIG(status);
  }
  return r;
}

// True while `pid` is a process that is not a zombie.
inline bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) {
    return false;
  }
  std::string stat;
  std::getline(in, stat);
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) {
    return false;
  }
  char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

// A stand-in for docker on the PATH of the remote scripts under test: it records its arguments in
// $FAKE_DOCKER_DIR/args-COMMAND, fails with $FAKE_DOCKER_DIR/fail when that file exists, answers
// `ps` and `inspect` from files there, `version` with a fixed version, and runs
// `exec [-i] CONTAINER CMD...` as plain `CMD...` here.
inline constexpr const char* kFakeDocker = R"SH(#!/bin/sh
d=$FAKE_DOCKER_DIR
printf '%s\0' "$@" >"$d/args-$1"
if [ -f "$d/fail" ]; then cat "$d/fail" >&2; exit 1; fi
case $1 in
  inspect)
    if [ -f "$d/inspect" ]; then cat "$d/inspect"; exit 0; fi
    for c; do :; done
    echo "Error: No such container: $c" >&2
    exit 1;;
  ps)
    cat "$d/ps" 2>/dev/null
    exit 0;;
  version)
    echo 24.0.7
    exit 0;;
  exec)
    shift
    [ "$1" = -i ] && shift
    shift
    exec "$@";;
esac
echo "fake docker: unsupported command $1" >&2
exit 125
)SH";

// What `docker inspect --format '{{.State.Running}} {{json .}}'` prints for container "box".
inline std::string inspect_line(bool running) {
  nlohmann::json j = {
      {"Id", "5d1918fcea8c0e6a"},
      {"Name", "/box"},
      {"State", {{"Status", running ? "running" : "exited"}, {"Running", running}}},
      {"Config", {{"User", ""}}},
      {"HostConfig", {{"NetworkMode", "default"}}},
      {"NetworkSettings", {{"Networks", {{"bridge", {{"IPAddress", "172.17.0.2"}}}}}}},
  };
  return std::string(running ? "true " : "false ") + j.dump() + "\n";
}

// A process's command line, its arguments joined by spaces; empty when it is gone.
inline std::string cmdline_of(pid_t pid) {
  try {
    auto s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    for (auto& c : s) {
      c = c == '\0' ? ' ' : c;
    }
    return s;
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace jl_test
