#include "jl/core/ssh_config.hpp"

#include <algorithm>
#include <cctype>

#include "jl/core/text.hpp"

namespace jl::sshcfg {

namespace {

using text::lower;

// fnmatch-style '*' and '?' (no character classes, as in OpenSSH's match_pattern).
bool glob_match(std::string_view pattern, std::string_view s) {
  std::size_t p = 0;
  std::size_t i = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == s[i])) {
      ++p;
      ++i;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

// Split a config line into keyword and arguments: "Key value", "Key=value", quoted arguments.
bool split_line(std::string_view line, std::string& key, std::vector<std::string>& args) {
  line = text::trim(line);
  if (line.empty() || line.front() == '#') {
    return false;
  }
  std::size_t i = 0;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '=') {
    ++i;
  }
  key = lower(line.substr(0, i));
  std::string_view rest = text::trim(line.substr(i));
  if (!rest.empty() && rest.front() == '=') {
    rest = text::trim(rest.substr(1));
  }
  args.clear();
  std::string cur;
  bool in_quote = false;
  bool have = false;
  for (char c : rest) {
    if (c == '"') {
      in_quote = !in_quote;
      have = true;
      continue;
    }
    if (!in_quote && (c == ' ' || c == '\t')) {
      if (have) {
        args.push_back(cur);
        cur.clear();
        have = false;
      }
      continue;
    }
    cur += c;
    have = true;
  }
  if (have) {
    args.push_back(cur);
  }
  return !key.empty();
}

// Include, as OpenSSH does it: glob patterns, at most 8 levels deep and 64 files in all (the
// recursion can branch).
struct Includes {
  const FileReader& read;
  const Globber& glob;
  int depth = 0;
  int files = 0;

  // Hand the text of each file an Include line names to `run`. False when the file limit
  // stopped it.
  template <typename Run>
  bool expand(const std::vector<std::string>& args, Run&& run) {
    if (depth >= 8 || !read) {
      return true;
    }
    for (const auto& pattern : args) {
      for (const auto& path : glob ? glob(pattern) : std::vector<std::string>{pattern}) {
        if (++files > 64) {
          return false;
        }
        if (auto content = read(path)) {
          ++depth;
          run(*content);
          --depth;
        }
      }
    }
    return true;
  }
};

struct Evaluator {
  std::string host;
  const std::vector<std::string>& keys;
  Includes includes;
  Result result;
  bool limit_noted = false;

  void run(std::string_view text, bool active_at_start) {
    bool active = active_at_start;
    std::string key;
    std::vector<std::string> args;
    for (auto line : text::lines(text)) {
      if (!split_line(line, key, args)) {
        continue;
      }
      if (key == "host") {
        std::string all;
        for (const auto& a : args) {
          all += a;
          all += ' ';
        }
        active = host_matches(all, host);
        continue;
      }
      if (key == "match") {
        active = match(args);
        continue;
      }
      if (!active) {
        continue;
      }
      if (key == "include") {
        include(args);
        continue;
      }
      if (args.empty()) {
        continue;
      }
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        result.every[key].push_back(args.front());
        if (!result.values.contains(key)) {
          result.values[key] = args.front();
          result.args[key] = args;
        }
      }
    }
  }

  bool match(const std::vector<std::string>& args) {
    if (args.size() == 1 && lower(args[0]) == "all") {
      return true;
    }
    // "Match host PATTERNS" and "Match originalhost PATTERNS" can be judged here.
    bool ok = true;
    for (std::size_t i = 0; i < args.size(); ++i) {
      auto crit = lower(args[i]);
      bool negate = !crit.empty() && crit.front() == '!';
      if (negate) {
        crit.erase(0, 1);
      }
      if (crit == "all") {
        ok = ok && !negate;
        continue;
      }
      if ((crit == "host" || crit == "originalhost") && i + 1 < args.size()) {
        bool m = host_matches(args[++i], host);
        ok = ok && (negate ? !m : m);
        continue;
      }
      result.notes.push_back("Match " + args[i] + " is not evaluated by jl; the block is skipped");
      return false;
    }
    return ok;
  }

  void include(const std::vector<std::string>& args) {
    if (!includes.expand(args, [this](std::string_view text) { run(text, true); }) &&
        !limit_noted) {
      result.notes.push_back("more than 64 included files; the rest is ignored");
      limit_noted = true;
    }
  }
};

// Collects the plain names of Host lines, following Include like Evaluator does.
struct HostLister {
  Includes includes;
  std::vector<std::string> names;

  void run(std::string_view text) {
    std::string key;
    std::vector<std::string> args;
    for (auto line : text::lines(text)) {
      if (!split_line(line, key, args)) {
        continue;
      }
      if (key == "host") {
        for (const auto& word : args) {
          add(word);
        }
      } else if (key == "include") {
        include(args);
      }
    }
  }

  void add(std::string_view word) {
    // "a,b" lists two patterns in one word.
    std::size_t start = 0;
    while (start <= word.size()) {
      auto comma = word.find(',', start);
      auto name = word.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (!name.empty() && name.find_first_of("*?!") == std::string_view::npos &&
          std::find(names.begin(), names.end(), name) == names.end()) {
        names.emplace_back(name);
      }
      if (comma == std::string_view::npos) {
        break;
      }
      start = comma + 1;
    }
  }

  void include(const std::vector<std::string>& args) {
    includes.expand(args, [this](std::string_view text) { run(text); });
  }
};

}  // namespace

std::vector<std::string> host_names(std::string_view text, const FileReader& read,
                                    const Globber& glob) {
  HostLister lister{Includes{read, glob}, {}};
  lister.run(text);
  return lister.names;
}

std::optional<std::string> Result::get(std::string_view key) const {
  auto it = values.find(lower(key));
  if (it == values.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool host_matches(std::string_view patterns, std::string_view host) {
  bool matched = false;
  for (auto item : text::fields(patterns)) {
    // A comma-separated list inside one word counts like separate words.
    std::size_t start = 0;
    while (start <= item.size()) {
      auto comma = item.find(',', start);
      auto pat = item.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (!pat.empty()) {
        bool negate = pat.front() == '!';
        if (negate) {
          pat.remove_prefix(1);
        }
        if (glob_match(lower(pat), lower(host))) {
          if (negate) {
            return false;  // a negated match rules the host out
          }
          matched = true;
        }
      }
      if (comma == std::string_view::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return matched;
}

Result evaluate(std::string_view text, std::string_view alias, const std::vector<std::string>& keys,
                const FileReader& read, const Globber& glob) {
  Evaluator ev{std::string(alias), keys, Includes{read, glob}, {}};
  ev.run(text, true);
  return ev.result;
}

HostKeyPolicy parse_host_key_policy(std::string_view value, bool* lax) {
  auto v = lower(text::trim(value));
  if (lax != nullptr) {
    *lax = false;
  }
  if (v == "yes" || v == "true") {
    return HostKeyPolicy::yes;
  }
  if (v == "accept-new") {
    return HostKeyPolicy::accept_new;
  }
  if ((v == "no" || v == "off" || v == "false") && lax != nullptr) {
    *lax = true;
  }
  return HostKeyPolicy::ask;
}

Keepalive parse_keepalive(const Result& cfg) {
  Keepalive k;
  if (auto v = cfg.get("serveraliveinterval")) {
    if (auto n = text::parse_int(*v, 0, 86400); n && *n > 0) {
      k.interval_s = static_cast<int>(*n);
    }
  }
  if (auto v = cfg.get("serveralivecountmax")) {
    if (auto n = text::parse_int(*v, 1, 1000)) {
      k.count_max = static_cast<int>(*n);
    }
  }
  return k;
}

}  // namespace jl::sshcfg
