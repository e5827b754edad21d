#include "jl/ssh/resolve.hpp"

#include <fmt/format.h>
#include <glob.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "jl/core/config.hpp"
#include "jl/core/error.hpp"
#include "jl/core/text.hpp"
#include "jl/sys/files.hpp"
#include "jl/sys/process.hpp"

namespace jl::ssh {

std::string passwd_home() {
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "/";
}

std::optional<std::string> read_text_file(const std::string& path) {
  return sys::read_file(path);
}

std::vector<std::string> expand_include(const std::string& pattern) {
  std::string p = pattern;
  if (p.starts_with("~/")) {
    p = passwd_home() + p.substr(1);
  } else if (!p.empty() && p.front() != '/') {
    p = passwd_home() + "/.ssh/" + p;
  }
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(p.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      out.emplace_back(g.gl_pathv[i]);
    }
  }
  ::globfree(&g);
  return out;
}

std::string ssh_config_text(const std::optional<std::string>& file) {
  if (file) {
    return read_text_file(*file).value_or("");
  }
  std::string text = read_text_file(passwd_home() + "/.ssh/config").value_or("");
  text += "\nHost *\n";  // end any open block: the system file starts afresh
  text += read_text_file("/etc/ssh/ssh_config").value_or("");
  return text;
}

namespace {

void check_config_file(const std::optional<std::string>& file) {
  if (!file) {
    return;
  }
  struct stat st {};
  if (::stat(file->c_str(), &st) != 0) {
    throw Error(Exit::usage, fmt::format("ssh config file '{}' does not exist", *file),
                "check the -F argument (or JL_SSH_CONFIG / \"ssh_config\" in jl's config)");
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(Exit::usage, fmt::format("ssh config '{}' is not a file", *file),
                "pass the config file itself with -F");
  }
}

sshcfg::Local local_identity() {
  sshcfg::Local l;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) {
    l.user = pw->pw_name;
  }
  l.home = passwd_home();
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) {
    l.host = name;
  }
  return l;
}

// What ssh printed on stderr that is about the config (not its notes about terminals).
std::string ssh_complaint(const std::string& err) {
  std::vector<std::string> kept;
  for (auto line : text::lines(err)) {
    line = text::trim(line);
    if (line.empty() || line.starts_with("Pseudo-terminal will not be allocated")) {
      continue;
    }
    kept.emplace_back(line);
  }
  return kept.empty() ? std::string("no reason given") : text::join(kept, "; ");
}

std::vector<std::string> dump_command(const std::string& ssh_client, const HostSpec& spec,
                                      const std::string& config) {
  std::vector<std::string> argv = {ssh_client, "-G", "-F", config};
  if (spec.user) {
    argv.insert(argv.end(), {"-l", *spec.user});
  }
  if (spec.port) {
    argv.insert(argv.end(), {"-p", std::to_string(*spec.port)});
  }
  argv.insert(argv.end(), {"--", spec.host});
  return argv;
}

sshcfg::Resolved read_dump(const sys::ProcessResult& result, std::chrono::milliseconds timeout,
                           const std::optional<std::string>& config_file) {
  const auto shown = config_file ? *config_file : std::string("~/.ssh/config");
  if (result.timed_out) {
    throw Error(Exit::timeout,
                fmt::format("ssh -G did not finish reading {} within {} s", shown,
                            std::chrono::duration_cast<std::chrono::seconds>(timeout).count()),
                "a Match exec command in the ssh config may hang; `ssh -G HOST` shows the same");
  }
  if (result.exit_code != 0) {
    throw Error(
        Exit::usage,
        fmt::format("ssh cannot use the ssh config {}: {}", shown, ssh_complaint(result.err)),
        "`ssh HOST` fails the same way; fix the line ssh names");
  }
  try {
    return sshcfg::parse_dump(result.out);
  } catch (const std::runtime_error& e) {
    throw Error(Exit::other, fmt::format("cannot read what ssh -G printed: {}", e.what()),
                "is `ssh` OpenSSH's client? jl reads ssh -G output");
  }
}

sshcfg::Resolved run_dump(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::optional<std::string>& config_file) {
  return read_dump(sys::run_process(argv, timeout), timeout, config_file);
}

}  // namespace

Resolution resolve(const std::string& host, const std::optional<std::string>& config_file,
                   const std::string& ssh_client, std::chrono::milliseconds timeout) {
  check_config_file(config_file);
  const HostSpec spec = parse_host_spec(host);
  const sshcfg::Local local = local_identity();
  Resolution r;
  bool resolved = false;
  if (!ssh_client.empty()) {
    auto argv = dump_command(ssh_client, spec, config_file.value_or(""));
    if (!config_file) {
      argv.erase(argv.begin() + 2, argv.begin() + 4);  // no -F: ssh reads its usual files
    }
    auto first = sys::run_process(argv, timeout);
    const bool not_openssh =
        !first.started ||
        (first.exit_code != 0 && (first.err.find("illegal option") != std::string::npos ||
                                  first.err.find("unknown option") != std::string::npos ||
                                  first.err.find("invalid option") != std::string::npos));
    if (!not_openssh) {
      r.settings = read_dump(first, timeout, config_file);
      const auto baseline = run_dump(dump_command(ssh_client, spec, "none"), timeout, config_file);
      sshcfg::drop_default_algorithms(r.settings, baseline);
      r.notes = sshcfg::unhonoured(r.settings, baseline);
      for (auto& n : r.notes) {
        n = "jl does not use this setting of the ssh config: " + n;
      }
      r.by_openssh = true;
      resolved = true;
    } else {
      r.notes.push_back(
          fmt::format("{} is not OpenSSH's client; jl reads the ssh config itself", ssh_client));
    }
  }
  if (!resolved) {
    std::vector<std::string> notes;
    try {
      r.settings = sshcfg::resolve_own(ssh_config_text(config_file), spec.host, spec.user,
                                       spec.port, local, read_text_file, expand_include, &notes);
    } catch (const std::runtime_error& e) {
      throw Error(Exit::usage, e.what(), "ssh refuses this config too");
    }
    r.notes.insert(r.notes.end(), notes.begin(), notes.end());
  }
  auto& s = r.settings;
  r.tokens.host = s.hostname;
  r.tokens.original = s.host.empty() ? spec.host : s.host;
  r.tokens.port = s.port;
  r.tokens.remote_user = s.user;
  r.tokens.local_user = local.user;
  r.tokens.home = local.home;
  r.tokens.local_host = local.host;
  r.tokens.jump = text::join(s.proxy_jump, ",");
  return r;
}

std::string expand_path(const Resolution& r, const std::string& path) {
  return sshcfg::expand_tokens(path, r.tokens);
}

}  // namespace jl::ssh
