#pragma once

// Where and how to connect for a host, as OpenSSH would: `ssh -G` when an OpenSSH client is
// there (it applies Include, every Match criterion, the tokens, CanonicalizeHostname and the
// first-value-wins rule exactly as ssh does), else jl's own reader of the same files.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "jl/core/ssh_resolved.hpp"

namespace jl::ssh {

struct Resolution {
  sshcfg::Resolved settings;
  bool by_openssh = false;         // ssh -G resolved it; else jl's own reader
  std::vector<std::string> notes;  // what jl does not honour or evaluate, for -v (each once)
  sshcfg::Tokens tokens;           // for expanding IdentityFile, CertificateFile, ProxyCommand
};

// Resolve `host` ("alias", "user@host", "host:port"; the user and port given win, as ssh's -l
// and -p). `ssh_client` is the OpenSSH client's path; empty: jl's own reader. Throws jl::Error:
// usage for a missing -F file or a config ssh refuses (with ssh's own words), timeout when
// ssh -G does not finish within `timeout` (a Match exec that hangs).
Resolution resolve(const std::string& host, const std::optional<std::string>& config_file,
                   const std::string& ssh_client, std::chrono::milliseconds timeout);

// '~' and the tokens in a file name from the settings (IdentityFile, CertificateFile).
std::string expand_path(const Resolution& r, const std::string& path);

// The user's home as the passwd entry says (where ssh looks for ~/.ssh).
std::string passwd_home();

// The text OpenSSH would read: the -F file alone, else the user's file then the system's.
std::string ssh_config_text(const std::optional<std::string>& file);

// Read a whole file; nothing when it cannot be read.
std::optional<std::string> read_text_file(const std::string& path);

// An Include pattern as OpenSSH expands it: ~ and paths relative to ~/.ssh, then globbing.
std::vector<std::string> expand_include(const std::string& pattern);

}  // namespace jl::ssh
