// `jl __complete KIND` (the dynamic part of shell completion, shared by bash, zsh and fish).

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>

#include "jl/cmd/complete.hpp"
#include "jl/core/complete.hpp"
#include "jl/core/error.hpp"
#include "jl/core/text.hpp"
#include "jl/remote/host.hpp"

namespace jl::cmd {

namespace {

using namespace std::chrono_literals;

// The most a container list may take, from start to the last byte: the shell waits for it.
constexpr auto kContainersDeadline = 3s;
// libssh's blocking steps (TCP connect, key exchange, each authentication step).
constexpr auto kConnectTimeout = 2s;

// Ends the process quietly with status 0 when `limit` passes: the backstop for blocking steps
// no deadline reaches (name resolution, libssh's blocking connect). Disarmed when destroyed.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::milliseconds limit) {
    struct sigaction sa {};
    sa.sa_handler = &Watchdog::expire;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGALRM, &sa, &m_previous);
    itimerval t{};
    t.it_value.tv_sec = static_cast<time_t>(limit.count() / 1000);
    t.it_value.tv_usec = static_cast<suseconds_t>((limit.count() % 1000) * 1000);
    ::setitimer(ITIMER_REAL, &t, nullptr);
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() {
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &m_previous, nullptr);
  }

 private:
  static void expire(int) { ::_exit(0); }
  struct sigaction m_previous {};
};

// Completion output goes into the user's prompt: nothing may appear on stderr.
void silence_stderr() {
  sys::Fd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  if (null.valid()) {
    std::fflush(stderr);
    ::dup2(null.get(), STDERR_FILENO);
  }
}

void print_lines(const Context& ctx, const std::vector<std::string>& lines) {
  if (!lines.empty()) {
    ctx.ui().out(text::join(lines, "\n"));
  }
}

// The cached list, when the file is ours, a regular file and fresh.
std::optional<std::vector<std::string>> read_cache(const std::string& path) {
  sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != ::getuid() || st.st_size > 1024 * 1024) {
    return std::nullopt;
  }
  auto written = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
  if (!complete::cache_fresh(written, std::chrono::system_clock::now())) {
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  ssize_t n = ::read(fd.get(), text.data(), text.size());
  if (n != st.st_size) {
    return std::nullopt;
  }
  return complete::parse_container_names(text);
}

// Create `dir` and its missing parents, 0700 (the XDG rule for the cache directory).
bool make_dirs(const std::string& dir) {
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string partial = dir.substr(0, pos);
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return false;
    }
  }
  return true;
}

// Replace the cache file atomically, mode 0600. Failing to cache is not worth a word.
void write_cache(const std::string& dir, const std::string& path,
                 const std::vector<std::string>& names) {
  if (!make_dirs(dir)) {
    return;
  }
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  std::string text;
  for (const auto& n : names) {
    text += n;
    text += '\n';
  }
  {
    sys::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) {
      return;
    }
    ::fchmod(fd.get(), 0600);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      ::unlink(tmp.c_str());
      return;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
  }
}

// The running containers of the chosen host: from the cache, else over SSH within the deadline.
std::vector<std::string> running_containers(Context& ctx) {
  const std::string host = ctx.require_host();
  const auto ssh_config = ctx.ssh_config();
  const std::string dir = complete::cache_dir(ctx.env());
  const std::string path = dir + "/" + complete::containers_cache_name(host, ssh_config);
  if (auto cached = read_cache(path)) {
    ctx.ui().trace(fmt::format("containers of {} from the cache {}", host, path));
    return *cached;
  }
  std::vector<std::string> names;
  {
    Watchdog watchdog(kContainersDeadline);
    const auto deadline = ssh::deadline_in(kContainersDeadline);
    ssh::ConnectOptions options;
    options.host = host;
    options.config_file = ssh_config;
    options.ssh_client = ctx.ssh_client();
    options.timeout = kConnectTimeout;
    options.never_prompt = true;  // no host-key question, no password, no passphrase
    ssh::Trace trace;
    if (ctx.ui().verbose()) {
      trace = [&ctx](std::string_view s) { ctx.ui().trace(s); };
    }
    // A live tunnel to the host lends its connection: no new login at all.
    const auto shared = ctx.sharing(host, ssh_config);
    auto session = shared.enabled()
                       ? ssh::Session::connect_shared(options, shared.socket, ctx.terminal(), trace)
                       : ssh::Session::connect(options, ctx.terminal(), trace);
    const auto docker = ctx.session_settings(host, std::nullopt).docker.value;
    remote::Host remote(session, host, docker);
    std::string why;
    auto running = remote.running_containers(deadline, &why);
    if (!running) {
      ctx.ui().trace(fmt::format("docker ps failed: {}", why));
      return {};
    }
    names = std::move(*running);
  }
  write_cache(dir, path, names);
  return names;
}

}  // namespace

int run_complete(Context& ctx, const CompleteOptions& o) {
  if (!ctx.ui().verbose()) {
    silence_stderr();
  }
  try {
    if (o.kind == "hosts") {
      // The hosts of the ssh config in use, then the default host when it is the local test
      // bed (what -H falls back to), then those of known sessions.
      auto names = ssh::config_host_names(ctx.ssh_config());
      if (auto host = ctx.host_setting(); host && host->source == Source::testbed) {
        names = complete::merge_unique(std::move(names), {host->value});
      }
      print_lines(ctx, complete::merge_unique(std::move(names),
                                              complete::session_hosts(ctx.store().peek())));
    } else if (o.kind == "sessions") {
      print_lines(ctx, complete::session_containers(ctx.store().peek(), ctx.explicit_host()));
    } else if (o.kind == "containers") {
      print_lines(ctx, running_containers(ctx));
    }
  } catch (const std::exception& e) {
    ctx.ui().trace(fmt::format("no completion: {}", e.what()));
  }
  return 0;
}

void setup_complete(CLI::App& app, Dispatch& dispatch) {
  auto options = std::make_shared<CompleteOptions>();
  // What the completion scripts ask jl for; hidden from help (an empty group).
  auto* sub = app.add_subcommand("__complete", "Candidates for shell completion");
  sub->group("");
  sub->add_option("KIND", options->kind, "hosts, sessions or containers")
      ->required()
      ->check(CLI::IsMember({"hosts", "sessions", "containers"}));
  sub->callback([options, &dispatch] {
    dispatch.run = [options](Context& ctx) { return run_complete(ctx, *options); };
  });
}

}  // namespace jl::cmd
