#include "jl/core/ssh_resolved.hpp"

#include <fmt/format.h>

#include <stdexcept>

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
