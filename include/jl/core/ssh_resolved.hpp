#pragma once

// The settings OpenSSH resolves for one host, as `ssh -G` prints them: one "keyword value"
// line each (repeated for IdentityFile and CertificateFile, space-separated lists for the
// known_hosts files), keywords in lower case. `ssh -G` has applied Include, every Match
// criterion, CanonicalizeHostname and the first-value-wins rule; it expands '~' and the
// '%' tokens of the known_hosts files and IdentityAgent, but not those of IdentityFile,
// CertificateFile or ProxyCommand: expand_tokens does that, as ssh does when it uses them.
// With no IdentityFile configured it lists ssh's default identities.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jl/core/ssh_config.hpp"

namespace jl::sshcfg {

struct Resolved {
  std::string host;      // the name ssh was given ("host" line), %n
  std::string hostname;  // %h
  int port = 22;
  std::string user;

  std::vector<std::string> identity_files;  // in order, tokens unexpanded
  bool identities_only = false;
  std::optional<std::string> identity_agent;  // "none", "SSH_AUTH_SOCK", a path; unset: default
  std::vector<std::string> certificate_files;
  bool pubkey_authentication = true;

  std::optional<std::string> host_key_alias;
  std::vector<std::string> user_known_hosts_files;
  std::vector<std::string> global_known_hosts_files;
  std::string strict_host_key_checking = "ask";  // yes, no, ask, accept-new (ssh's spellings)

  std::vector<std::string> proxy_jump;  // hops in order ([user@]host[:port]); empty: direct
  std::optional<std::string> proxy_command;

  std::optional<int> connect_timeout_s;  // unset: none
  int connection_attempts = 1;
  int server_alive_interval_s = 0;
  int server_alive_count_max = 3;

  std::string address_family = "any";  // any, inet, inet6
  std::string ciphers;
  std::string kex_algorithms;
  std::string host_key_algorithms;
  std::string pubkey_accepted_algorithms;
  std::string macs;

  std::vector<std::string> preferred_authentications;  // empty: ssh's default order
  bool password_authentication = true;
  bool kbd_interactive_authentication = true;
  bool batch_mode = false;
  int number_of_password_prompts = 3;

  // Every "keyword value" line as printed, in order (for naming what jl does not honour).
  std::vector<std::pair<std::string, std::string>> lines;

  bool operator==(const Resolved&) const = default;
};

// The keywords whose values jl uses (the fields above).
bool honoured(std::string_view keyword);

// What `r` sets differently from `baseline` (ssh -G of the same host with no config at all)
// that jl does not honour, as "Keyword value" texts, for -v. Keywords that cannot change what
// jl does (logging, X11 when jl never asks for it, ...) are left out.
std::vector<std::string> unhonoured(const Resolved& r, const Resolved& baseline);

// ssh -G prints OpenSSH's own algorithm lists when the config names none. Clear each list that
// equals the baseline's, so that empty means "not configured: jl's and libssh's defaults".
void drop_default_algorithms(Resolved& r, const Resolved& baseline);

// Parse `ssh -G` output. Throws std::runtime_error when a line jl relies on is malformed (a
// port or count that is not a number) or when there is no hostname.
Resolved parse_dump(std::string_view text);

// What the '%' tokens and '~' stand for, as ssh_config(5) TOKENS defines them.
struct Tokens {
  std::string host;         // %h: the hostname
  std::string original;     // %n: the name as given
  int port = 22;            // %p
  std::string remote_user;  // %r
  std::string local_user;   // %u
  std::string home;         // %d and ~
  std::string local_host;   // %L (short) and %l (full)
  std::string jump;         // %j: the ProxyJump value, or empty
};

// Expand '~' at the start and %h %n %p %r %u %d %L %l %j %%. `unknown` receives each token
// jl does not expand (such as %C, a hash), which is left as written.
std::string expand_tokens(std::string_view s, const Tokens& t,
                          std::vector<std::string>* unknown = nullptr);

// jl's own reading, for when there is no ssh binary: the same fields from the config text
// (Host and Match host/originalhost/all; other Match criteria skip their block, with a note),
// the command line's user and port winning as with ssh, and OpenSSH's defaults filled in as
// ssh -G prints them (known_hosts files expanded, identity files not).
struct Local {
  std::string user;  // the local user (%u, and the default remote user)
  std::string home;  // ~ and %d
  std::string host;  // the local host name (%l, %L)
};
Resolved resolve_own(std::string_view config_text, std::string_view host,
                     const std::optional<std::string>& user, std::optional<int> port,
                     const Local& local, const FileReader& read, const Globber& glob,
                     std::vector<std::string>* notes);

// Split a ProxyJump hop "[user@]host[:port]" (an ssh:// URI is accepted too).
struct Hop {
  std::string user;  // empty: the hop's own config decides
  std::string host;
  std::optional<int> port;
};
std::optional<Hop> parse_hop(std::string_view hop);

}  // namespace jl::sshcfg
