#include "jl/cmd/context.hpp"
#include "jl/sys/files.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jl/core/error.hpp"
#include "jl/core/mux.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/process.hpp"
#include "jl/sys/unix_socket.hpp"

namespace jl::cmd {

Context::Context(GlobalOptions global, Env env)
    : m_global(std::move(global)),
      m_env(std::move(env)),
      m_inherited_fds(sys::open_descriptors(3)),
      m_ui(UiOptions{m_global.json, m_global.verbose, m_global.quiet, sys::is_tty(STDOUT_FILENO),
                     sys::is_tty(STDERR_FILENO),
                     color_wanted(m_env.get("NO_COLOR") ? "1" : nullptr,
                                  m_env.get("TERM").value_or("").c_str())}),
      m_store(state_dir(m_env), [this](std::string_view w) { m_ui.warn(w); }),
      m_terminal(sys::Terminal::open(true)) {
  m_terminal.set_hooks([this] { m_ui.pause(); }, [this] { m_ui.resume(); });
}

std::string Context::config_path() const {
  return config_dir(m_env) + "/config.json";
}

const FileConfig& Context::file_config() {
  if (m_file_config) {
    return *m_file_config;
  }
  const std::string path = config_path();
  std::ifstream in(path);
  if (!in) {
    m_file_config = FileConfig{};
    return *m_file_config;
  }
  std::stringstream text;
  text << in.rdbuf();
  m_file_config = parse_config(text.str(), path);
  for (const auto& key : m_file_config->unknown_keys) {
    m_ui.warn(fmt::format("{}: unknown key \"{}\" ignored", path, key));
  }
  return *m_file_config;
}

SessionSettings Context::session_settings(const std::optional<std::string>& host,
                                          const std::optional<std::string>& container,
                                          const Profile& flags) {
  return resolve_session(SessionFlags{flags}, m_env, file_config(), host, container);
}

std::vector<std::string> Context::docker_command(const std::string& host,
                                                 const std::string& container) {
  return session_settings(host,
                          container.empty() ? std::nullopt : std::optional<std::string>(container))
      .docker.value;
}

std::optional<Setting<std::string>> Context::host_setting() {
  auto host = resolve_host(m_global.host, m_env, file_config());
  const bool testbed_config = !resolve_ssh_config(m_global.ssh_config, m_env, file_config()) &&
                              ::access(std::string(kTestbedSshConfig).c_str(), R_OK) == 0;
  if (!host && testbed_config) {
    m_using_testbed = true;
    host = Setting<std::string>{std::string(kTestbedHost), Source::testbed,
                                std::string(kTestbedSshConfig)};
  } else if (host && host->value == kTestbedHost && testbed_config) {
    // The default host named explicitly (as completion offers it) means the same bed.
    m_using_testbed = true;
  }
  return host;
}

std::string Context::require_host() {
  auto host = host_setting();
  if (host && host->source == Source::testbed) {
    m_ui.info(fmt::format("no host configured; using the local test bed ({})", kTestbedHost));
  }
  if (!host) {
    throw Error(
        Exit::usage, "no host given",
        fmt::format("pass -H HOST, set JL_HOST, or put {{\"host\": \"HOST\"}} in {}/config.json",
                    config_dir(m_env)));
  }
  m_ui.trace(fmt::format("host {} (from {})", host->value, to_string(host->source)));
  return host->value;
}

std::optional<std::string> Context::explicit_host() const {
  if (m_global.host && !m_global.host->empty()) {
    return m_global.host;
  }
  return m_env.get("JL_HOST");
}

std::optional<std::string> Context::ssh_config() {
  auto cfg = resolve_ssh_config(m_global.ssh_config, m_env, file_config());
  if (!cfg && m_using_testbed) {
    return std::string(kTestbedSshConfig);
  }
  if (!cfg) {
    return std::nullopt;
  }
  std::string path = cfg->value;
  if (path.starts_with("~/")) {
    path = m_env.get("HOME").value_or("") + path.substr(1);
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

std::string Context::ssh_client() const {
  return sys::find_program("ssh", m_env);
}

ssh::Session Context::connect(const std::string& host, const std::optional<std::string>& ssh_config,
                              const std::function<void(ssh::ConnectOptions&)>& adjust) {
  ssh::ConnectOptions options;
  options.host = host;
  options.config_file = ssh_config;
  options.ssh_client = ssh_client();
  options.accept_changed_host_key = m_global.accept_changed_host_key;
  if (adjust) {
    adjust(options);
  }
  ssh::Trace trace;
  if (m_ui.verbose()) {
    trace = [this](std::string_view s) { m_ui.trace(s); };
  }
  const auto shared = sharing(host, ssh_config);
  auto session = [&] {
    auto busy = m_ui.activity(fmt::format("connecting to {}", host));
    if (!shared.enabled()) {
      return ssh::Session::connect(options, m_terminal, trace);
    }
    return ssh::Session::connect_shared(options, shared.socket, m_terminal, trace);
  }();
  // Before the connection there is nothing to undo: Ctrl-C may simply end jl. After it, work
  // on the host must be finished or rolled back, so signals become events.
  if (!m_interrupts) {
    m_interrupts = std::make_unique<sys::Interrupts>();
  }
  session.watch_interrupts(*m_interrupts);
  return session;
}

tunnel::Sharing Context::sharing(const std::string& host,
                                 const std::optional<std::string>& ssh_config) {
  const std::string dir = mux::runtime_dir(m_env, sys::own_uid());
  std::string why;
  if (!sys::private_dir(dir, &why)) {
    m_ui.trace(fmt::format("no connection sharing: {}", why));
    return {};
  }
  const std::string config = ssh_config.value_or("");
  return {dir + "/" + mux::socket_name(host, config, m_store.dir()),
          dir + "/" + mux::lock_name(host, config, m_store.dir())};
}

SessionRecord Context::pick_session(const State& state,
                                    const std::optional<std::string>& container) {
  auto host = explicit_host();
  auto matches = match_sessions(state, host, container);
  if (matches.size() == 1) {
    return *matches.front();
  }
  std::vector<std::string> known;
  for (const auto& s : state.sessions) {
    known.push_back(session_label(s));
  }
  std::string known_text = known.empty() ? "none" : text::join(known, ", ");
  if (matches.empty()) {
    if (container) {
      throw Error(Exit::usage,
                  fmt::format("no known session for container '{}'{}; known sessions: {}",
                              *container, host ? " on " + *host : std::string{}, known_text),
                  "start one with: jl start CONTAINER");
    }
    throw Error(Exit::usage,
                fmt::format("no known session{}", host ? " on " + *host : std::string{}),
                "start one with: jl start CONTAINER");
  }
  std::vector<std::string> labels;
  for (const auto* s : matches) {
    labels.push_back(session_label(*s));
  }
  throw Error(Exit::usage, fmt::format("several sessions match: {}", text::join(labels, ", ")),
              container ? "pick the host with -H HOST" : "name the container (and -H HOST)");
}

std::vector<SessionRecord> Context::pick_sessions(const State& state,
                                                  const std::optional<std::string>& container,
                                                  bool all) {
  if (!all) {
    return {pick_session(state, container)};
  }
  if (container) {
    throw Error(Exit::usage, "give either a CONTAINER or --all, not both");
  }
  std::vector<SessionRecord> out;
  for (const auto* s : match_sessions(state, explicit_host(), std::nullopt)) {
    out.push_back(*s);
  }
  return out;
}

std::string now_iso8601() {
  return text::utc_now("%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace jl::cmd
