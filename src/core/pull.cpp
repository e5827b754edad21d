#include "jl/core/pull.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

#include "jl/core/probe.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::pull {

namespace {

// A record longer than this is not docker's progress: the rest of it is dropped.
constexpr std::size_t kRecordLimit = 4096;
constexpr std::size_t kKeepLimit = 300;

bool is_hex_id(std::string_view s) {
  return s.size() >= 12 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string bounded(std::string_view s) {
  return std::string(s.substr(0, kKeepLimit));
}

// The sizes after a status word: an optional bar "[==>  ]", then "CURRENT/TOTAL" or "CURRENT".
void read_sizes(std::string_view rest, long long* current, long long* total) {
  if (auto close = rest.rfind(']'); close != std::string_view::npos) {
    rest = rest.substr(close + 1);
  }
  auto words = text::fields(rest);
  if (words.empty()) {
    return;
  }
  std::string_view numbers = words.front();
  const auto slash = numbers.find('/');
  if (auto c = parse_size(numbers.substr(0, slash))) {
    *current = *c;
  }
  if (slash != std::string_view::npos) {
    if (auto t = parse_size(numbers.substr(slash + 1))) {
      *total = *t;
    }
  }
}

}  // namespace

std::string command(std::string_view nonce, const std::string& image,
                    const std::vector<std::string>& docker) {
  const auto& words = probe::docker_words(docker);
  std::vector<std::string> args = {std::string(nonce), words.front(), shell::join(words), image};
  return shell::sh_c(scripts::pull_image(), args);
}

std::string Report::reason() const {
  constexpr std::string_view kDaemon = "Error response from daemon: ";
  if (!error.empty()) {
    return error.starts_with(kDaemon) ? error.substr(kDaemon.size()) : error;
  }
  return last_other;
}

Reader::Reader(std::string nonce) : m_nonce(std::move(nonce)) {}

void Reader::feed(std::string_view chunk) {
  for (char c : chunk) {
    if (m_escape == Escape::esc) {
      // ESC [ starts a control sequence; any other ESC x is two bytes long.
      m_escape = c == '[' ? Escape::csi : Escape::none;
      continue;
    }
    if (m_escape == Escape::csi) {
      if (c >= 0x40 && c <= 0x7e) {
        m_escape = Escape::none;  // the final byte
      }
      continue;
    }
    if (c == '\033') {
      end_record();
      m_escape = Escape::esc;
    } else if (c == '\r' || c == '\n') {
      end_record();
    } else if (c == '\t') {
      m_record += ' ';
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      // other control characters mean nothing here
    } else if (m_record.size() < kRecordLimit) {
      m_record += c;
    }
  }
}

void Reader::finish() {
  end_record();
  m_escape = Escape::none;
}

void Reader::end_record() {
  if (m_record.empty()) {
    return;
  }
  record(text::trim(m_record));
  m_record.clear();
}

void Reader::record(std::string_view r) {
  if (r.empty()) {
    return;
  }
  const std::string marker = "@@" + m_nonce + " ";
  if (r.starts_with(marker)) {
    auto words = text::fields(r.substr(marker.size()));
    if (words.empty()) {
      return;
    }
    if (words[0] == "pull") {
      m_report.started = true;
    } else if (words[0] == "pull-rc" && words.size() > 1) {
      if (auto v = text::parse_int(words[1], 0, 255)) {
        m_report.rc = static_cast<int>(*v);
      }
    } else if (words[0] == "docker-missing") {
      m_report.docker_missing = true;
    }
    return;
  }
  // Before the start marker: what the terminal echoed of jl's own command; after docker's
  // exit status: nothing of docker's.
  if (!m_report.started || m_report.rc) {
    return;
  }
  if (r.starts_with("Digest: ")) {
    m_report.digest = std::string(text::trim(r.substr(8)));
    return;
  }
  if (r.starts_with("Status: ")) {
    m_report.status = std::string(text::trim(r.substr(8)));
    m_report.up_to_date = m_report.status.starts_with("Image is up to date");
    return;
  }
  if (r.starts_with("Error") || r.starts_with("error")) {
    m_report.error = bounded(r);
    return;
  }
  if (auto colon = r.find(": "); colon != std::string_view::npos) {
    const auto id = r.substr(0, colon);
    const auto status = text::trim(r.substr(colon + 2));
    if (status.starts_with("Pulling from ")) {
      return;  // the header: "TAG: Pulling from REPOSITORY"
    }
    if (is_hex_id(id)) {
      layer(id, status);
      return;
    }
  }
  m_report.last_other = bounded(r);
}

void Reader::layer(std::string_view id, std::string_view status) {
  auto& layers = m_report.layers;
  auto it = std::find_if(layers.begin(), layers.end(), [&](const Layer& l) { return l.id == id; });
  if (it == layers.end()) {
    layers.push_back(Layer{std::string(id)});
    it = layers.end() - 1;
  }
  Layer& l = *it;
  using S = Layer::State;
  auto starts = [&](std::string_view word) { return status.starts_with(word); };
  if (starts("Pulling fs layer") || starts("Waiting")) {
    l.state = S::waiting;
  } else if (starts("Retrying")) {
    l.state = S::waiting;  // docker starts the download again
    l.current = 0;
  } else if (starts("Downloading")) {
    l.state = S::downloading;
    read_sizes(status.substr(11), &l.current, &l.total);
  } else if (starts("Verifying Checksum") || starts("Download complete")) {
    l.state = S::downloaded;
  } else if (starts("Extracting")) {
    l.state = S::extracting;
    long long extracted = 0;
    read_sizes(status.substr(10), &extracted, &l.total);
  } else if (starts("Pull complete")) {
    l.state = S::complete;
  } else if (starts("Already exists")) {
    l.state = S::exists;
  }
  recount();
}

void Reader::recount() {
  Progress p;
  using S = Layer::State;
  for (const auto& l : m_report.layers) {
    ++p.layers;
    if (l.state == S::complete || l.state == S::exists) {
      ++p.layers_done;
    }
    if (l.state == S::exists || l.total <= 0) {
      continue;
    }
    p.bytes_total += l.total;
    switch (l.state) {
      case S::waiting:
      case S::downloading:
        p.bytes_done += std::min(l.current, l.total);
        break;
      default:
        p.bytes_done += l.total;
    }
  }
  if (!(p == m_report.progress)) {
    m_report.progress = p;
    ++m_changes;
  }
}

std::optional<long long> parse_size(std::string_view text) {
  text = text::trim(text);
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
    ++i;
  }
  if (i == 0 || i > 24) {
    return std::nullopt;
  }
  const std::string number(text.substr(0, i));
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  const std::string unit = text::lower(text.substr(i));
  struct Unit {
    std::string_view name;
    double factor;
  };
  static constexpr std::array<Unit, 12> kUnits = {{
      {"b", 1},
      {"kb", 1e3},
      {"mb", 1e6},
      {"gb", 1e9},
      {"tb", 1e12},
      {"pb", 1e15},
      {"kib", 1024.0},
      {"mib", 1024.0 * 1024},
      {"gib", 1024.0 * 1024 * 1024},
      {"tib", 1024.0 * 1024 * 1024 * 1024},
      {"", 1},
      {"bytes", 1},
  }};
  for (const auto& u : kUnits) {
    if (unit == u.name) {
      const double bytes = value * u.factor;
      if (bytes > 9e18) {
        return std::nullopt;
      }
      return std::llround(bytes);
    }
  }
  return std::nullopt;
}

std::string format_size(long long bytes) {
  if (bytes < 1000) {
    return fmt::format("{} B", std::max(bytes, 0LL));
  }
  static constexpr std::array<std::string_view, 5> kNames = {"kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  value /= 1000;
  // Move up a unit when the value would print as 1000.0 or more.
  while (value >= 999.95 && unit + 1 < kNames.size()) {
    value /= 1000;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kNames[unit]);
}

std::string describe(const Progress& p) {
  if (p.layers == 0) {
    return {};
  }
  std::string out = fmt::format("{}/{} layers", p.layers_done, p.layers);
  if (p.bytes_total > 0) {
    out += fmt::format(", {} of {}", format_size(p.bytes_done), format_size(p.bytes_total));
    if (p.bytes_done >= p.bytes_total && p.layers_done < p.layers) {
      out += ", extracting";
    }
  }
  return out;
}

std::optional<double> fraction(const Progress& p) {
  if (p.bytes_total <= 0) {
    return std::nullopt;
  }
  return std::clamp(static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total), 0.0,
                    1.0);
}

Failure classify(std::string_view docker_said) {
  const std::string s = text::lower(docker_said);
  auto has = [&](std::string_view w) { return s.find(w) != std::string::npos; };
  for (auto w :
       {"connection refused", "no such host", "i/o timeout", "timeout exceeded",
        "tls handshake timeout", "network is unreachable", "no route to host", "server misbehaving",
        "connection reset", "http response to https client", "x509:", "tls: "}) {
    if (has(w)) {
      return Failure::unreachable;
    }
  }
  for (auto w : {"manifest unknown", "not found", "repository does not exist", "name unknown"}) {
    if (has(w)) {
      return Failure::unknown_image;
    }
  }
  for (auto w : {"no basic auth credentials", "unauthorized", "authentication required",
                 "requested access to the resource is denied", "docker login"}) {
    if (has(w)) {
      return Failure::auth;
    }
  }
  return Failure::other;
}

std::string registry_of(std::string_view image) {
  const auto slash = image.find('/');
  if (slash == std::string_view::npos) {
    return "docker.io";
  }
  const auto first = image.substr(0, slash);
  if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
      first == "localhost") {
    return std::string(first);
  }
  return "docker.io";
}

}  // namespace jl::pull
