#include "jl/core/container_spec.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "jl/core/text.hpp"

namespace jl::container {

namespace {

constexpr long long kMiB = 1024LL * 1024;
constexpr long long kGiB = kMiB * 1024;
constexpr long long kTiB = kGiB * 1024;
constexpr int kMaxGpus = 64;
constexpr long long kMaxId = 2147483647LL;   // 2^31 - 1
constexpr std::size_t kMaxNameLength = 255;  // docker's limit for the name part of a reference

constexpr std::string_view kGpusHint = "use all, a count (2), device indices (0,2) or free:N";
constexpr std::string_view kSizeHint = "use a number of bytes with an optional unit k, m or g";

// The value as it goes into a one-line message: control characters written as escapes.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

// Says why `text` is refused as the value of `option`, and returns nothing.
template <typename T>
std::optional<T> refuse(std::string* error, std::string_view option, std::string_view text,
                        std::string_view why) {
  if (error != nullptr) {
    *error = fmt::format("invalid {} '{}': {}", option, shown(text), why);
  }
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z');
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}

// A number written with digits only (no sign, no spaces), in [lo, hi].
std::optional<long long> number(std::string_view text, long long lo, long long hi) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) {
    return std::nullopt;
  }
  long long value = 0;
  for (char c : text) {
    value = value * 10 + (c - '0');
    if (value > hi) {
      return std::nullopt;
    }
  }
  if (value < lo) {
    return std::nullopt;
  }
  return value;
}

bool has_newline(std::string_view text) {
  return text.find_first_of("\n\r") != text.npos;
}

// Whether `text` is well-formed UTF-8 (so that it fits in the JSON of the label).
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t more = 0;
    unsigned int code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
      code = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      code = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      code = c & 0x07u;
    } else {
      return false;
    }
    if (i + more >= text.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= more; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xc0u) != 0x80u) {
        return false;
      }
      code = (code << 6) | (d & 0x3fu);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((more == 2 && code < 0x800) || (more == 3 && code < 0x10000) ||
        (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
      return false;
    }
    i += more + 1;
  }
  return true;
}

// Why a path is not fit for a label or an argument, if it is not: a newline, another control
// character or bytes that are not UTF-8.
std::optional<std::string_view> bad_text(std::string_view text) {
  if (has_newline(text)) {
    return "it contains a newline";
  }
  if (text.find('\0') != text.npos) {
    return "it contains a NUL byte";
  }
  if (!valid_utf8(text)) {
    return "it is not valid UTF-8";
  }
  return std::nullopt;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto at = text.find(sep, start);
    if (at == text.npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

// path-component: [a-z0-9]+ with single separators '.', '_', "__" or runs of '-' between.
bool valid_path_component(std::string_view part) {
  if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) {
    return false;
  }
  for (std::size_t i = 0; i < part.size();) {
    if (is_lower_alnum(part[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < part.size() && !is_lower_alnum(part[j])) {
      ++j;
    }
    const auto sep = part.substr(i, j - i);
    const bool dashes = std::all_of(sep.begin(), sep.end(), [](char c) { return c == '-'; });
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
      return false;
    }
    i = j;
  }
  return true;
}

// domain: components [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by '.', then :PORT.
bool valid_domain(std::string_view domain) {
  std::string_view host = domain;
  if (auto colon = domain.find(':'); colon != domain.npos) {
    host = domain.substr(0, colon);
    if (!number(domain.substr(colon + 1), 1, 65535)) {
      return false;
    }
  }
  for (auto part : split(host, '.')) {
    if (part.empty() || !is_alnum(part.front()) || !is_alnum(part.back())) {
      return false;
    }
    if (!std::all_of(part.begin(), part.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
      return false;
    }
  }
  return true;
}

std::string size_words(long long bytes) {
  if (bytes % kGiB == 0) {
    return fmt::format("{}g", bytes / kGiB);
  }
  if (bytes % kMiB == 0) {
    return fmt::format("{}m", bytes / kMiB);
  }
  return fmt::format("{} bytes", bytes);
}

std::string device_list(const std::vector<int>& devices) {
  std::string out;
  for (int d : devices) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(d);
  }
  return out;
}

std::string env_word(const std::pair<std::string, std::string>& kv) {
  return kv.first + "=" + kv.second;
}

}  // namespace

std::optional<Gpus> parse_gpus(std::string_view text, std::string* error) {
  auto bad = [&](std::string_view why) { return refuse<Gpus>(error, "--gpus", text, why); };
  if (text == "all") {
    return Gpus{};
  }
  if (text.empty()) {
    return bad(kGpusHint);
  }
  if (text.starts_with("free:")) {
    auto n = number(text.substr(5), 1, kMaxGpus);
    if (!n) {
      return bad("free:N takes a count from 1 to 64");
    }
    Gpus g;
    g.kind = Gpus::Kind::free;
    g.count = static_cast<int>(*n);
    return g;
  }
  std::string_view list = text;
  if (list.size() >= 2 && list.front() == '"' && list.back() == '"') {
    list = list.substr(1, list.size() - 2);
    if (!list.starts_with("device=")) {
      return bad(kGpusHint);
    }
  }
  const bool named = list.starts_with("device=");
  if (named) {
    list.remove_prefix(7);
  } else if (list.find(',') == list.npos) {
    auto n = number(list, 1, kMaxGpus);
    if (!n) {
      return bad(std::all_of(list.begin(), list.end(), is_digit)
                     ? std::string_view("a count must be from 1 to 64 (one device: device=N)")
                     : kGpusHint);
    }
    Gpus g;
    g.kind = Gpus::Kind::count;
    g.count = static_cast<int>(*n);
    return g;
  }
  Gpus g;
  g.kind = Gpus::Kind::devices;
  for (auto part : split(list, ',')) {
    if (part.empty()) {
      return bad("a device index is missing");
    }
    auto index = number(part, 0, kMaxGpus - 1);
    if (!index) {
      return bad(std::all_of(part.begin(), part.end(), is_digit)
                     ? std::string_view("device indices must be from 0 to 63")
                     : kGpusHint);
    }
    const int i = static_cast<int>(*index);
    if (std::find(g.devices.begin(), g.devices.end(), i) != g.devices.end()) {
      return bad(fmt::format("device {} is given twice", i));
    }
    g.devices.push_back(i);
  }
  return g;
}

std::string to_string(const Gpus& gpus) {
  switch (gpus.kind) {
    case Gpus::Kind::all:
      return "all";
    case Gpus::Kind::count:
      return std::to_string(gpus.count);
    case Gpus::Kind::free:
      return fmt::format("free:{}", gpus.count);
    case Gpus::Kind::devices:
      break;
  }
  std::string joined = device_list(gpus.devices);
  return gpus.devices.size() == 1 ? "device=" + joined : joined;
}

std::optional<Volume> parse_volume(std::string_view text, std::string* error) {
  auto bad = [&](std::string_view why) { return refuse<Volume>(error, "-v", text, why); };
  if (auto why = bad_text(text)) {
    return bad(*why);
  }
  auto parts = split(text, ':');
  if (parts.size() < 2) {
    return bad("use HOST:CONTAINER, HOST:CONTAINER:ro or HOST:CONTAINER:rw");
  }
  if (parts.size() > 3) {
    return bad("too many ':' (a path cannot contain one)");
  }
  Volume v;
  v.host = std::string(parts[0]);
  v.container = std::string(parts[1]);
  if (v.host.empty()) {
    return bad("the host path is empty");
  }
  if (v.container.empty()) {
    return bad("the container path is empty");
  }
  if (v.host.front() != '/' && !v.host.starts_with("~/")) {
    return bad("the host path must be absolute (or start with ~/)");
  }
  if (v.container.front() != '/') {
    return bad("the container path must be absolute");
  }
  if (parts.size() == 3) {
    if (parts[2] == "ro") {
      v.read_only = true;
    } else if (parts[2].find('/') != std::string_view::npos) {
      return bad("too many ':' (a path cannot contain one)");
    } else if (parts[2] != "rw") {
      return bad("the mode must be ro or rw");
    }
  }
  return v;
}

std::string to_string(const Volume& volume) {
  return volume.host + ":" + volume.container + (volume.read_only ? ":ro" : "");
}

std::optional<long long> parse_size(std::string_view text, std::string* error) {
  auto bad = [&](std::string_view why) {
    return refuse<long long>(error, "--shm-size", text, why);
  };
  std::size_t end = 0;
  while (end < text.size() && is_digit(text[end])) {
    ++end;
  }
  const auto digits = text.substr(0, end);
  const auto unit = text::lower(text.substr(end));
  long long scale = 0;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "k" || unit == "kb") {
    scale = 1024;
  } else if (unit == "m" || unit == "mb") {
    scale = kMiB;
  } else if (unit == "g" || unit == "gb") {
    scale = kGiB;
  }
  if (digits.empty() || scale == 0) {
    return bad(fmt::format("{} (1073741824, 512m, 1g)", kSizeHint));
  }
  auto value = number(digits, 0, kTiB);
  if (!value || *value > kTiB / scale) {
    return bad("the size must be at most 1 TiB (1024g)");
  }
  const long long bytes = *value * scale;
  if (bytes < kMiB) {
    return bad("the size must be at least 1 MiB (1m)");
  }
  return bytes;
}

std::optional<User> parse_user(std::string_view text, std::string* error) {
  auto bad = [&](std::string_view why) { return refuse<User>(error, "--user", text, why); };
  if (text == "host") {
    User u;
    u.host = true;
    return u;
  }
  auto colon = text.find(':');
  if (colon == text.npos) {
    return bad("use host or UID:GID (numbers)");
  }
  auto uid = number(text.substr(0, colon), 0, kMaxId);
  auto gid = number(text.substr(colon + 1), 0, kMaxId);
  if (!uid || !gid) {
    return bad("use host or UID:GID, numbers from 0 to 2147483647");
  }
  User u;
  u.uid = *uid;
  u.gid = *gid;
  return u;
}

std::string to_string(const User& user) {
  return user.host ? std::string("host") : fmt::format("{}:{}", user.uid, user.gid);
}

std::optional<std::string> parse_workdir(std::string_view text, std::string* error) {
  auto bad = [&](std::string_view why) {
    return refuse<std::string>(error, "--workdir", text, why);
  };
  if (auto why = bad_text(text)) {
    return bad(*why);
  }
  if (text.empty() || text.front() != '/') {
    return bad("the directory must be an absolute path in the container");
  }
  return std::string(text);
}

std::optional<std::pair<std::string, std::string>> parse_env(std::string_view text,
                                                             std::string* error) {
  using Pair = std::pair<std::string, std::string>;
  auto bad = [&](std::string_view why) { return refuse<Pair>(error, "-e", text, why); };
  if (auto why = bad_text(text)) {
    return bad(*why);
  }
  auto eq = text.find('=');
  if (eq == text.npos) {
    return bad("use NAME=VALUE");
  }
  const auto name = text.substr(0, eq);
  if (name.empty() || is_digit(name.front()) || !std::all_of(name.begin(), name.end(), is_word)) {
    return bad("the name must be letters, digits and '_', not starting with a digit");
  }
  return Pair(std::string(name), std::string(text.substr(eq + 1)));
}

std::optional<Pull> parse_pull(std::string_view text, std::string* error) {
  for (auto p : {Pull::missing, Pull::always, Pull::never}) {
    if (text == to_string(p)) {
      return p;
    }
  }
  return refuse<Pull>(error, "--pull", text, "use missing, always or never");
}

std::string_view to_string(Pull pull) {
  switch (pull) {
    case Pull::missing:
      return "missing";
    case Pull::always:
      return "always";
    case Pull::never:
      return "never";
  }
  return "missing";
}

bool valid_image(std::string_view image) {
  std::string_view name = image;
  if (auto at = name.find('@'); at != name.npos) {
    const auto digest = name.substr(at + 1);
    constexpr std::string_view kAlgorithm = "sha256:";
    if (!digest.starts_with(kAlgorithm) || digest.size() != kAlgorithm.size() + 64 ||
        !std::all_of(digest.begin() + kAlgorithm.size(), digest.end(), is_hex)) {
      return false;
    }
    name = name.substr(0, at);
  }
  const auto slash = name.rfind('/');
  if (auto colon = name.rfind(':'); colon != name.npos && (slash == name.npos || colon > slash)) {
    const auto tag = name.substr(colon + 1);
    if (tag.empty() || tag.size() > 128 || !is_word(tag.front()) ||
        !std::all_of(tag.begin(), tag.end(),
                     [](char c) { return is_word(c) || c == '.' || c == '-'; })) {
      return false;
    }
    name = name.substr(0, colon);
  }
  if (name.empty() || name.size() > kMaxNameLength) {
    return false;
  }
  auto parts = split(name, '/');
  std::size_t first = 0;
  if (parts.size() > 1 &&
      (parts[0].find_first_of(".:") != std::string_view::npos || parts[0] == "localhost")) {
    if (!valid_domain(parts[0])) {
      return false;
    }
    first = 1;
  }
  return std::all_of(parts.begin() + static_cast<std::ptrdiff_t>(first), parts.end(),
                     valid_path_component);
}

std::string to_label(const Spec& spec) {
  nlohmann::json j = nlohmann::json::object();
  j["image"] = spec.image;
  if (spec.gpus) {
    j["gpus"] = to_string(*spec.gpus);
  }
  if (!spec.volumes.empty()) {
    auto& list = j["volumes"] = nlohmann::json::array();
    for (const auto& v : spec.volumes) {
      list.push_back(to_string(v));
    }
  }
  if (spec.shm_size) {
    j["shm_size"] = *spec.shm_size;
  }
  if (spec.ipc_host) {
    j["ipc_host"] = true;
  }
  if (spec.user) {
    j["user"] = to_string(*spec.user);
  }
  if (!spec.workdir.empty()) {
    j["workdir"] = spec.workdir;
  }
  if (!spec.env.empty()) {
    auto& list = j["env"] = nlohmann::json::array();
    for (const auto& kv : spec.env) {
      list.push_back(env_word(kv));
    }
  }
  // The parsers keep text that is not UTF-8 out of a spec; replace it anyway rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Spec> from_label(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  // A string field parsed by `parse`, into `out`; false when it is there and wrong.
  auto field = [&](const char* key, auto parse, auto& out) {
    auto it = j.find(key);
    if (it == j.end()) {
      return true;
    }
    if (!it->is_string()) {
      return false;
    }
    auto value = parse(it->get<std::string>());
    if (!value) {
      return false;
    }
    out = std::move(*value);
    return true;
  };
  auto list = [&](const char* key, auto parse, auto& out) {
    auto it = j.find(key);
    if (it == j.end()) {
      return true;
    }
    if (!it->is_array() || it->empty()) {
      return false;
    }
    for (const auto& item : *it) {
      if (!item.is_string()) {
        return false;
      }
      auto value = parse(item.get<std::string>());
      if (!value) {
        return false;
      }
      out.push_back(std::move(*value));
    }
    return true;
  };
  constexpr std::array<std::string_view, 8> kKeys = {"image",    "gpus", "volumes", "shm_size",
                                                     "ipc_host", "user", "workdir", "env"};
  for (const auto& item : j.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), item.key()) == kKeys.end()) {
      return std::nullopt;
    }
  }
  Spec spec;
  auto image = j.find("image");
  if (image == j.end() || !image->is_string()) {
    return std::nullopt;
  }
  spec.image = image->get<std::string>();
  if (!valid_image(spec.image)) {
    return std::nullopt;
  }
  const bool ok =
      field(
          "gpus", [](const std::string& s) { return parse_gpus(s, nullptr); }, spec.gpus) &&
      field(
          "user", [](const std::string& s) { return parse_user(s, nullptr); }, spec.user) &&
      field(
          "workdir", [](const std::string& s) { return parse_workdir(s, nullptr); },
          spec.workdir) &&
      list(
          "volumes", [](const std::string& s) { return parse_volume(s, nullptr); }, spec.volumes) &&
      list(
          "env", [](const std::string& s) { return parse_env(s, nullptr); }, spec.env);
  if (!ok) {
    return std::nullopt;
  }
  if (auto it = j.find("shm_size"); it != j.end()) {
    if (!it->is_number_integer()) {
      return std::nullopt;
    }
    const auto bytes = it->get<long long>();
    if (bytes < kMiB || bytes > kTiB) {
      return std::nullopt;
    }
    spec.shm_size = bytes;
  }
  if (auto it = j.find("ipc_host"); it != j.end()) {
    if (!it->is_boolean()) {
      return std::nullopt;
    }
    spec.ipc_host = it->get<bool>();
  }
  if (spec.ipc_host && spec.shm_size) {
    return std::nullopt;
  }
  return spec;
}

std::vector<std::string> differences(const Spec& asked, const Spec& made) {
  std::vector<std::string> lines;
  auto differ = [&](std::string_view option, const std::string& a, const std::string& m) {
    lines.push_back(fmt::format("{}: {} (asked) vs {} (container)", option, a, m));
  };
  auto or_none = [](std::string s) { return s.empty() ? std::string("none") : s; };
  if (asked.image != made.image) {
    differ("image", or_none(asked.image), or_none(made.image));
  }
  if (asked.gpus != made.gpus) {
    differ("--gpus", asked.gpus ? to_string(*asked.gpus) : "none",
           made.gpus ? to_string(*made.gpus) : "none");
  }
  if (asked.volumes != made.volumes) {
    auto words = [](const std::vector<Volume>& volumes) {
      std::vector<std::string> out;
      for (const auto& v : volumes) {
        out.push_back(to_string(v));
      }
      return text::join(out, " ");
    };
    differ("-v", or_none(words(asked.volumes)), or_none(words(made.volumes)));
  }
  if (asked.shm_size != made.shm_size) {
    differ("--shm-size", asked.shm_size ? size_words(*asked.shm_size) : "none",
           made.shm_size ? size_words(*made.shm_size) : "none");
  }
  if (asked.ipc_host != made.ipc_host) {
    differ("--ipc", asked.ipc_host ? "host" : "none", made.ipc_host ? "host" : "none");
  }
  if (asked.user != made.user) {
    differ("--user", asked.user ? to_string(*asked.user) : "none",
           made.user ? to_string(*made.user) : "none");
  }
  if (asked.workdir != made.workdir) {
    differ("--workdir", or_none(asked.workdir), or_none(made.workdir));
  }
  if (asked.env != made.env) {
    auto words = [](const std::vector<std::pair<std::string, std::string>>& env) {
      std::vector<std::string> out;
      for (const auto& kv : env) {
        out.push_back(env_word(kv));
      }
      return text::join(out, " ");
    };
    differ("-e", or_none(words(asked.env)), or_none(words(made.env)));
  }
  return lines;
}

std::vector<std::string> run_arguments(const std::string& name, const Spec& spec,
                                       long long host_uid, long long host_gid,
                                       const std::string& home, const std::vector<int>& chosen) {
  const bool free = spec.gpus && spec.gpus->kind == Gpus::Kind::free;
  if (free && static_cast<int>(chosen.size()) != spec.gpus->count) {
    throw std::invalid_argument("--gpus free:N needs its N devices chosen before docker run");
  }
  if (!free && !chosen.empty()) {
    throw std::invalid_argument("devices are chosen only for --gpus free:N");
  }
  if (spec.shm_size && spec.ipc_host) {
    throw std::invalid_argument("--shm-size and --ipc host cannot both be given");
  }
  std::vector<std::string> args = {"run",
                                   "-d",
                                   "--init",
                                   "--name",
                                   name,
                                   "--label",
                                   fmt::format("{}=jl", kMadeByLabel),
                                   "--label",
                                   fmt::format("{}={}", kSpecLabel, to_label(spec)),
                                   "--ulimit",
                                   "memlock=-1",
                                   "--ulimit",
                                   "stack=67108864"};
  if (free) {
    args.push_back("--label");
    args.push_back(fmt::format("{}={}", kDevicesLabel, device_list(chosen)));
    args.push_back("--gpus");
    args.push_back("\"device=" + device_list(chosen) + "\"");
  } else if (spec.gpus) {
    args.push_back("--gpus");
    if (spec.gpus->kind == Gpus::Kind::devices) {
      // docker splits the value of --gpus on commas unless the device list is quoted.
      args.push_back("\"device=" + device_list(spec.gpus->devices) + "\"");
    } else {
      args.push_back(to_string(*spec.gpus));
    }
  }
  for (const auto& v : spec.volumes) {
    Volume expanded = v;
    if (v.host.starts_with("~/")) {
      if (home.empty() || home.front() != '/') {
        throw std::invalid_argument(fmt::format("the home directory '{}' is not absolute", home));
      }
      std::string_view base = home;
      while (base.ends_with('/')) {
        base.remove_suffix(1);
      }
      expanded.host = std::string(base) + "/" + v.host.substr(2);
    }
    args.push_back("-v");
    args.push_back(to_string(expanded));
  }
  if (spec.shm_size) {
    args.push_back("--shm-size");
    args.push_back(std::to_string(*spec.shm_size));
  }
  if (spec.ipc_host) {
    args.push_back("--ipc");
    args.push_back("host");
  }
  if (spec.user) {
    const User& u = *spec.user;
    args.push_back("--user");
    args.push_back(u.host ? fmt::format("{}:{}", host_uid, host_gid) : to_string(u));
    // The user may have no home in the image's /etc/passwd: give it one it can write to.
    args.push_back("-e");
    args.push_back("HOME=/tmp");
  }
  if (!spec.workdir.empty()) {
    args.push_back("-w");
    args.push_back(spec.workdir);
  }
  for (const auto& kv : spec.env) {
    args.push_back("-e");
    args.push_back(env_word(kv));
  }
  args.push_back(spec.image);
  args.push_back("tail");
  args.push_back("-f");
  args.push_back("/dev/null");
  return args;
}

}  // namespace jl::container
