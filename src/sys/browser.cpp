#include "jl/sys/browser.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <unistd.h>
#include <cerrno>

#include <vector>

#include "jl/core/text.hpp"
#include "jl/sys/process.hpp"

namespace jl::sys {

namespace {

// Start a program detached (double fork, so no zombie is left), stdio on /dev/null.
bool spawn_detached(const std::string& program, const std::vector<std::string>& args) {
  pid_t child = ::fork();
  if (child < 0) {
    return false;
  }
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);  // not the signals jl holds blocked
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) {
      ::_exit(grandchild < 0 ? 1 : 0);
    }
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

namespace {

// The commands open_browser tries, in order: $BROWSER's (':'-separated), else the platform's.
std::vector<std::string> candidates(const Env& env) {
  std::vector<std::string> out;
  if (auto browser = env.get("BROWSER")) {
    std::string_view list = *browser;
    while (!list.empty()) {
      auto colon = list.find(':');
      auto item = text::trim(list.substr(0, colon));
      if (!item.empty()) {
        out.emplace_back(item);
      }
      list = colon == std::string_view::npos ? std::string_view{} : list.substr(colon + 1);
    }
  } else {
#ifdef __APPLE__
    out.emplace_back("open");
#else
    out.emplace_back("xdg-open");
#endif
  }
  return out;
}

}  // namespace

BrowserOpener find_browser(const Env& env) {
  BrowserOpener b;
  b.candidates = candidates(env);
  b.from_env = env.get("BROWSER").has_value();
#ifndef __APPLE__
  b.needs_display = !b.from_env;
#endif
  for (const auto& c : b.candidates) {
    std::string program = find_program(c, env);
    if (!program.empty()) {
      b.command = c;
      b.path = program;
      break;
    }
  }
  return b;
}

std::string open_browser(const std::string& url, const Env& env) {
  for (const auto& c : candidates(env)) {
    std::string program = find_program(c, env);
    if (!program.empty() && spawn_detached(program, {url})) {
      return c;
    }
  }
  return {};
}

}  // namespace jl::sys
