#include "jl/core/ssh_resolved.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <stdexcept>

#include "jl/core/ssh_config.hpp"
#include "jl/core/text.hpp"

namespace jl::sshcfg {

namespace {

std::vector<std::string> split_on(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto at = s.find(sep);
    auto item = text::trim(s.substr(0, at));
    if (!item.empty()) {
      out.emplace_back(item);
    }
    s = at == std::string_view::npos ? std::string_view{} : s.substr(at + 1);
  }
  return out;
}

bool truth(std::string_view key, std::string_view v) {
  if (v == "yes" || v == "true") {
    return true;
  }
  if (v == "no" || v == "false") {
    return false;
  }
  throw std::runtime_error(fmt::format("ssh -G: {} is '{}', not yes or no", key, v));
}

int number(std::string_view key, std::string_view v, long long lo, long long hi) {
  auto n = text::parse_int(v, lo, hi);
  if (!n) {
    throw std::runtime_error(fmt::format("ssh -G: {} is '{}', not a number", key, v));
  }
  return static_cast<int>(*n);
}

}  // namespace

Resolved parse_dump(std::string_view text) {
  Resolved r;
  bool have_hostname = false;
  for (auto line : text::lines(text)) {
    line = text::trim(line);
    if (line.empty()) {
      continue;
    }
    auto sp = line.find(' ');
    const std::string key = text::lower(line.substr(0, sp));
    const std::string_view v =
        sp == std::string_view::npos ? std::string_view{} : text::trim(line.substr(sp + 1));
    r.lines.emplace_back(key, std::string(v));
    if (key == "host") {
      r.host = std::string(v);
    } else if (key == "hostname") {
      r.hostname = std::string(v);
      have_hostname = !v.empty();
    } else if (key == "port") {
      r.port = number(key, v, 1, 65535);
    } else if (key == "user") {
      r.user = std::string(v);
    } else if (key == "identityfile") {
      r.identity_files.emplace_back(v);
    } else if (key == "identitiesonly") {
      r.identities_only = truth(key, v);
    } else if (key == "identityagent") {
      r.identity_agent = std::string(v);
    } else if (key == "certificatefile") {
      r.certificate_files.emplace_back(v);
    } else if (key == "pubkeyauthentication") {
      r.pubkey_authentication = truth(key, v);
    } else if (key == "hostkeyalias") {
      r.host_key_alias = std::string(v);
    } else if (key == "userknownhostsfile") {
      r.user_known_hosts_files = split_on(v, ' ');
    } else if (key == "globalknownhostsfile") {
      r.global_known_hosts_files = split_on(v, ' ');
    } else if (key == "stricthostkeychecking") {
      if (v == "true" || v == "yes") {
        r.strict_host_key_checking = "yes";
      } else if (v == "false" || v == "no" || v == "off") {
        r.strict_host_key_checking = "no";
      } else {
        r.strict_host_key_checking = std::string(v);
      }
    } else if (key == "proxyjump") {
      r.proxy_jump = v == "none" ? std::vector<std::string>{} : split_on(v, ',');
    } else if (key == "proxycommand") {
      if (v != "none") {
        r.proxy_command = std::string(v);
      }
    } else if (key == "connecttimeout") {
      if (v == "none") {
        r.connect_timeout_s.reset();
      } else {
        r.connect_timeout_s = number(key, v, 0, 1LL << 30);
      }
    } else if (key == "connectionattempts") {
      r.connection_attempts = number(key, v, 1, 1000);
    } else if (key == "serveraliveinterval") {
      r.server_alive_interval_s = number(key, v, 0, 1LL << 30);
    } else if (key == "serveralivecountmax") {
      r.server_alive_count_max = number(key, v, 0, 1LL << 30);
    } else if (key == "addressfamily") {
      r.address_family = std::string(v);
    } else if (key == "ciphers") {
      r.ciphers = std::string(v);
    } else if (key == "kexalgorithms") {
      r.kex_algorithms = std::string(v);
    } else if (key == "hostkeyalgorithms") {
      r.host_key_algorithms = std::string(v);
    } else if (key == "pubkeyacceptedalgorithms" || key == "pubkeyacceptedkeytypes") {
      r.pubkey_accepted_algorithms = std::string(v);
    } else if (key == "macs") {
      r.macs = std::string(v);
    } else if (key == "preferredauthentications") {
      r.preferred_authentications = split_on(v, ',');
    } else if (key == "passwordauthentication") {
      r.password_authentication = truth(key, v);
    } else if (key == "kbdinteractiveauthentication") {
      r.kbd_interactive_authentication = truth(key, v);
    } else if (key == "batchmode") {
      r.batch_mode = truth(key, v);
    } else if (key == "numberofpasswordprompts") {
      r.number_of_password_prompts = number(key, v, 0, 1000);
    }
  }
  if (!have_hostname) {
    throw std::runtime_error("ssh -G printed no hostname");
  }
  return r;
}

namespace {

// The keywords parse_dump reads into fields.
constexpr std::string_view kHonoured[] = {
    "host",
    "hostname",
    "port",
    "user",
    "identityfile",
    "identitiesonly",
    "identityagent",
    "certificatefile",
    "pubkeyauthentication",
    "hostkeyalias",
    "userknownhostsfile",
    "globalknownhostsfile",
    "stricthostkeychecking",
    "proxyjump",
    "proxycommand",
    "connecttimeout",
    "connectionattempts",
    "serveraliveinterval",
    "serveralivecountmax",
    "addressfamily",
    "ciphers",
    "kexalgorithms",
    "hostkeyalgorithms",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "macs",
    "preferredauthentications",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "batchmode",
    "numberofpasswordprompts",
};

// Settings that cannot change what jl does: logging, and the client features jl never uses
// (X11, agent or port forwarding it is not asked for, escape characters, a local command...).
// ForwardAgent, LocalForward, RemoteForward, DynamicForward and ControlMaster are NOT here: a
// user who set them expects something, and hears that jl does not do it.
constexpr std::string_view kIrrelevant[] = {
    "loglevel",
    "logverbose",
    "escapechar",
    "requesttty",
    "sessiontype",
    "stdinnull",
    "forkafterauthentication",
    "visualhostkey",
    "fingerprinthash",
    "hashknownhosts",
    "updatehostkeys",
    "forwardx11",
    "forwardx11trusted",
    "forwardx11timeout",
    "xauthlocation",
    "permitlocalcommand",
    "localcommand",
    "clearallforwardings",
    "exitonforwardfailure",
    "gatewayports",
    "streamlocalbindmask",
    "streamlocalbindunlink",
    "syslogfacility",
    "addkeystoagent",
    "securitykeyprovider",
    "canonicalizefallbacklocal",
    "canonicalizehostname",
    "canonicalizemaxdots",
    "canonicalizepermittedcnames",
    "canonicaldomains",
    "obscurekeystroketiming",
    "tag",
    "enableescapecommandline",
};

bool listed(std::span<const std::string_view> list, std::string_view key) {
  return std::find(list.begin(), list.end(), key) != list.end();
}

}  // namespace

bool honoured(std::string_view keyword) {
  return listed(kHonoured, keyword);
}

std::vector<std::string> unhonoured(const Resolved& r, const Resolved& baseline) {
  std::vector<std::string> out;
  for (const auto& [key, value] : r.lines) {
    if (honoured(key) || listed(kIrrelevant, key)) {
      continue;
    }
    bool same = false;
    for (const auto& [bkey, bvalue] : baseline.lines) {
      if (bkey == key && bvalue == value) {
        same = true;
        break;
      }
    }
    if (!same) {
      out.push_back(fmt::format("{} {}", key, value));
    }
  }
  return out;
}

void drop_default_algorithms(Resolved& r, const Resolved& baseline) {
  auto drop = [](std::string& mine, const std::string& theirs) {
    if (mine == theirs) {
      mine.clear();
    }
  };
  drop(r.ciphers, baseline.ciphers);
  drop(r.kex_algorithms, baseline.kex_algorithms);
  drop(r.host_key_algorithms, baseline.host_key_algorithms);
  drop(r.pubkey_accepted_algorithms, baseline.pubkey_accepted_algorithms);
  drop(r.macs, baseline.macs);
}

Resolved resolve_own(std::string_view config_text, std::string_view host,
                     const std::optional<std::string>& user, std::optional<int> port,
                     const Local& local, const FileReader& read, const Globber& glob,
                     std::vector<std::string>* notes) {
  std::vector<std::string> keys;
  for (auto k : kHonoured) {
    keys.emplace_back(k);
  }
  const Result cfg = evaluate(config_text, host, keys, read, glob);
  if (notes != nullptr) {
    notes->insert(notes->end(), cfg.notes.begin(), cfg.notes.end());
  }
  auto first = [&](std::string_view key) { return cfg.get(key); };
  auto all_args = [&](const std::string& key) -> std::vector<std::string> {
    auto it = cfg.args.find(key);
    return it == cfg.args.end() ? std::vector<std::string>{} : it->second;
  };
  auto every = [&](const std::string& key) -> std::vector<std::string> {
    auto it = cfg.every.find(key);
    return it == cfg.every.end() ? std::vector<std::string>{} : it->second;
  };
  auto yes = [&](std::string_view key, bool fallback) {
    auto v = first(key);
    if (!v) {
      return fallback;
    }
    auto l = text::lower(*v);
    return l == "yes" || l == "true";
  };
  auto num = [&](std::string_view key, int fallback, long long lo, long long hi) {
    auto v = first(key);
    if (!v) {
      return fallback;
    }
    auto n = text::parse_int(*v, lo, hi);
    if (!n) {
      throw std::runtime_error(fmt::format("bad {} '{}' for {} in the ssh config", key, *v, host));
    }
    return static_cast<int>(*n);
  };

  Resolved r;
  r.host = std::string(host);
  Tokens t;
  t.original = r.host;
  t.host = r.host;
  t.local_user = local.user;
  t.home = local.home;
  t.local_host = local.host;
  r.hostname = first("hostname") ? expand_tokens(*first("hostname"), t) : r.host;
  r.port = port ? *port : num("port", 22, 1, 65535);
  r.user = user ? *user : first("user").value_or(local.user);
  t.host = r.hostname;
  t.port = r.port;
  t.remote_user = r.user;

  r.identity_files = every("identityfile");
  if (r.identity_files.empty()) {
    r.identity_files = {"~/.ssh/id_rsa",     "~/.ssh/id_ecdsa",      "~/.ssh/id_ecdsa_sk",
                        "~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss",
                        "~/.ssh/id_dsa"};
  }
  r.identities_only = yes("identitiesonly", false);
  if (auto v = first("identityagent")) {
    r.identity_agent = expand_tokens(*v, t);
  }
  r.certificate_files = every("certificatefile");
  r.pubkey_authentication = yes("pubkeyauthentication", true);
  if (auto v = first("hostkeyalias")) {
    r.host_key_alias = *v;
  }
  auto files = [&](const std::string& key, std::vector<std::string> fallback) {
    auto v = all_args(key);
    if (v.empty()) {
      v = std::move(fallback);
    }
    for (auto& f : v) {
      f = expand_tokens(f, t);
    }
    return v;
  };
  r.user_known_hosts_files =
      files("userknownhostsfile", {"~/.ssh/known_hosts", "~/.ssh/known_hosts2"});
  r.global_known_hosts_files =
      files("globalknownhostsfile", {"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"});
  if (auto v = first("stricthostkeychecking")) {
    auto l = text::lower(*v);
    r.strict_host_key_checking = l == "yes" || l == "true"                 ? "yes"
                                 : l == "no" || l == "false" || l == "off" ? "no"
                                                                           : l;
  }
  if (auto v = first("proxyjump"); v && text::lower(*v) != "none") {
    r.proxy_jump = split_on(*v, ',');
    t.jump = *v;
  }
  if (auto v = all_args("proxycommand"); !v.empty() && text::lower(v.front()) != "none") {
    r.proxy_command = text::join(v, " ");
  }
  if (auto v = first("connecttimeout"); v && text::lower(*v) != "none") {
    r.connect_timeout_s = num("connecttimeout", 0, 0, 1LL << 30);
  }
  r.connection_attempts = num("connectionattempts", 1, 1, 1000);
  r.server_alive_interval_s = num("serveraliveinterval", 0, 0, 1LL << 30);
  r.server_alive_count_max = num("serveralivecountmax", 3, 0, 1LL << 30);
  r.address_family = text::lower(first("addressfamily").value_or("any"));
  r.ciphers = first("ciphers").value_or("");
  r.kex_algorithms = first("kexalgorithms").value_or("");
  r.host_key_algorithms = first("hostkeyalgorithms").value_or("");
  r.pubkey_accepted_algorithms =
      first("pubkeyacceptedalgorithms").value_or(first("pubkeyacceptedkeytypes").value_or(""));
  r.macs = first("macs").value_or("");
  if (auto v = first("preferredauthentications")) {
    r.preferred_authentications = split_on(*v, ',');
  }
  r.password_authentication = yes("passwordauthentication", true);
  r.kbd_interactive_authentication = yes("kbdinteractiveauthentication", true);
  r.batch_mode = yes("batchmode", false);
  r.number_of_password_prompts = num("numberofpasswordprompts", 3, 0, 1000);
  return r;
}

std::string expand_tokens(std::string_view s, const Tokens& t, std::vector<std::string>* unknown) {
  std::string out;
  std::size_t i = 0;
  if (s.starts_with("~/") || s == "~") {
    out = t.home;
    i = 1;
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '%' || i + 1 == s.size()) {
      out += c;
      continue;
    }
    const char k = s[++i];
    switch (k) {
      case '%':
        out += '%';
        break;
      case 'h':
        out += t.host;
        break;
      case 'n':
        out += t.original;
        break;
      case 'p':
        out += std::to_string(t.port);
        break;
      case 'r':
        out += t.remote_user;
        break;
      case 'u':
        out += t.local_user;
        break;
      case 'd':
        out += t.home;
        break;
      case 'l':
        out += t.local_host;
        break;
      case 'L':
        out += t.local_host.substr(0, t.local_host.find('.'));
        break;
      case 'j':
        out += t.jump;
        break;
      default:
        out += '%';
        out += k;
        if (unknown != nullptr) {
          unknown->push_back(std::string("%") + k);
        }
    }
  }
  return out;
}

std::optional<Hop> parse_hop(std::string_view hop) {
  hop = text::trim(hop);
  if (hop.starts_with("ssh://")) {
    hop.remove_prefix(6);
    if (!hop.empty() && hop.back() == '/') {
      hop.remove_suffix(1);
    }
  }
  Hop h;
  if (auto at = hop.rfind('@'); at != std::string_view::npos) {
    h.user = std::string(hop.substr(0, at));
    hop = hop.substr(at + 1);
    if (h.user.empty()) {
      return std::nullopt;
    }
  }
  std::string_view port;
  if (hop.starts_with('[')) {
    auto close = hop.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    h.host = std::string(hop.substr(1, close - 1));
    auto rest = hop.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port = rest.substr(1);
    }
  } else if (auto colon = hop.find(':'); colon != std::string_view::npos) {
    if (hop.find(':', colon + 1) != std::string_view::npos) {
      h.host = std::string(hop);  // a bare IPv6 address
    } else {
      h.host = std::string(hop.substr(0, colon));
      port = hop.substr(colon + 1);
    }
  } else {
    h.host = std::string(hop);
  }
  if (h.host.empty() || h.host.find_first_of(" \t/") != std::string::npos) {
    return std::nullopt;
  }
  if (!port.empty() || (hop.ends_with(':') && !hop.starts_with('['))) {
    auto n = text::parse_int(port, 1, 65535);
    if (!n) {
      return std::nullopt;
    }
    h.port = static_cast<int>(*n);
  }
  return h;
}

}  // namespace jl::sshcfg
