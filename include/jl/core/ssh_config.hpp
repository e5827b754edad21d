#pragma once

// A reader for the OpenSSH client configuration, for the settings libssh 0.10 ignores or gets
// wrong: ServerAliveInterval/CountMax (ignored), StrictHostKeyChecking accept-new (not parsed),
// and Host blocks after a HostName (libssh matches them against the HostName instead of the
// name given). Semantics follow ssh_config(5): for each keyword the first value obtained wins;
// Host patterns support '*', '?' and '!' negation and match the name given on the command line.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl::sshcfg {

// Reads an included file (already expanded to a path); nothing if it cannot be read.
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;
// Expands an Include pattern (globbing, ~, relative to ~/.ssh) to paths, sorted.
using Globber = std::function<std::vector<std::string>(const std::string& pattern)>;

struct Result {
  // Keyword (lower case) -> first value obtained, for the keywords jl asked for.
  std::map<std::string, std::string> values;
  // Keyword -> every argument of the line that gave the first value (UserKnownHostsFile takes
  // several; ProxyCommand is the rest of its line).
  std::map<std::string, std::vector<std::string>> args;
  // Keyword -> the first argument of every line that applies, in order (IdentityFile and
  // CertificateFile accumulate instead of the first one winning).
  std::map<std::string, std::vector<std::string>> every;
  // Problems worth a warning (e.g. a Match criterion jl does not evaluate).
  std::vector<std::string> notes;

  std::optional<std::string> get(std::string_view key) const;
};

// Evaluate `text` for the host `alias`, collecting `keys` (lower case).
Result evaluate(std::string_view text, std::string_view alias, const std::vector<std::string>& keys,
                const FileReader& read = {}, const Globber& glob = {});

// The host names a config offers for completion: the words of its Host lines that are plain
// names (no '*', '?' or '!' pattern), in order and without repeats, including those of Included
// files (every Include is followed, whichever block it is in).
std::vector<std::string> host_names(std::string_view text, const FileReader& read = {},
                                    const Globber& glob = {});

// Does a Host pattern list ("a*,!b c") match `host`?
bool host_matches(std::string_view patterns, std::string_view host);

// StrictHostKeyChecking as jl applies it.
enum class HostKeyPolicy {
  ask,         // the default: unknown hosts are asked about on a terminal, refused without one
  yes,         // unknown hosts are refused
  accept_new,  // unknown hosts are added without asking
};

// Map a StrictHostKeyChecking value. "no"/"off" is laxer than jl allows and gives `ask`
// (`*lax` is set so the caller can say so); unknown words also give `ask`.
HostKeyPolicy parse_host_key_policy(std::string_view value, bool* lax = nullptr);

// ServerAliveInterval / ServerAliveCountMax, with jl's defaults (15 s x 2: a dead peer is found
// within 30 s). An interval of 0 keeps jl's default: the tunnel always needs a dead-peer check.
struct Keepalive {
  int interval_s = 15;
  int count_max = 2;
};
Keepalive parse_keepalive(const Result& cfg);

}  // namespace jl::sshcfg
