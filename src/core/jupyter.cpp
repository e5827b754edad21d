#include "jl/core/jupyter.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "jl/core/text.hpp"

namespace jl::jupyter {

std::string_view to_string(App app) {
  switch (app) {
    case App::lab:
      return "lab";
    case App::notebook:
      return "notebook";
    case App::server:
      return "server";
  }
  return "server";
}

std::optional<App> app_from_string(std::string_view s) {
  if (s == "lab") {
    return App::lab;
  }
  if (s == "notebook") {
    return App::notebook;
  }
  if (s == "server") {
    return App::server;
  }
  return std::nullopt;
}

std::string_view executable(App app) {
  switch (app) {
    case App::lab:
      return "jupyter-lab";
    case App::notebook:
      return "jupyter-notebook";
    case App::server:
      return "jupyter-server";
  }
  return "jupyter-server";
}

std::optional<RuntimeInfo> parse_runtime_file(std::string_view json, std::string_view path,
                                              std::string* error) {
  auto fail = [&](std::string why) -> std::optional<RuntimeInfo> {
    if (error != nullptr) {
      *error = std::move(why);
    }
    return std::nullopt;
  };
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail("not a JSON object");
  }
  RuntimeInfo info;
  info.file = std::string(path);
  auto slash = path.rfind('/');
  auto base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  info.legacy = base.starts_with("nbserver-");

  auto get_string = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) {
      out = it->get<std::string>();
    }
  };
  auto get_bool = [&](const char* key, bool& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_boolean()) {
      out = it->get<bool>();
    }
  };
  auto pid = j.find("pid");
  if (pid == j.end() || !pid->is_number_integer() || pid->get<long long>() <= 0) {
    return fail("no valid \"pid\"");
  }
  info.pid = pid->get<long long>();
  auto port = j.find("port");
  if (port != j.end() && port->is_number_integer()) {
    auto p = port->get<long long>();
    if (p < 0 || p > 65535) {
      return fail("\"port\" out of range");
    }
    info.port = static_cast<int>(p);
  }
  get_string("hostname", info.hostname);
  get_string("base_url", info.base_url);
  get_string("token", info.token);
  get_string("sock", info.sock);
  get_string("root_dir", info.root_dir);
  if (info.root_dir.empty()) {
    get_string("notebook_dir", info.root_dir);
  }
  get_string("version", info.version);
  get_bool("password", info.password);
  get_bool("secure", info.secure);
  if (info.port == 0 && info.sock.empty()) {
    return fail("neither \"port\" nor \"sock\"");
  }
  info.base_url = normalise_base_url(info.base_url);
  return info;
}

std::set<int> listening_ports(std::string_view proc_net_tcp) {
  // Lines look like: "  0: 00000000:22B8 00000000:0000 0A ..." (sl, local, remote, state).
  std::set<int> ports;
  for (auto line : text::lines(proc_net_tcp)) {
    auto f = text::fields(line);
    if (f.size() < 4 || f[3] != "0A") {
      continue;
    }
    auto local = f[1];
    auto colon = local.rfind(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    auto hex = local.substr(colon + 1);
    if (hex.empty() || hex.size() > 4) {
      continue;
    }
    int port = 0;
    bool ok = true;
    for (char c : hex) {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                       : -1;
      if (d < 0) {
        ok = false;
        break;
      }
      port = port * 16 + d;
    }
    if (ok && port > 0) {
      ports.insert(port);
    }
  }
  return ports;
}

std::optional<int> first_free_port(const std::set<int>& busy, int start) {
  for (int p = start; p >= 1 && p <= 65535; ++p) {
    if (!busy.contains(p)) {
      return p;
    }
  }
  return std::nullopt;
}

std::optional<App> choose_app(const std::set<App>& installed) {
  for (App a : {App::lab, App::notebook, App::server}) {
    if (installed.contains(a)) {
      return a;
    }
  }
  return std::nullopt;
}

bool valid_container_name(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) {
    return false;
  }
  for (char c : name) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string_view landing_path(App app, bool legacy_notebook) {
  switch (app) {
    case App::lab:
      return "lab";
    case App::notebook:
      // Notebook 6 and 7 both serve their file browser at /tree.
      static_cast<void>(legacy_notebook);
      return "tree";
    case App::server:
      return "";
  }
  return "";
}

std::string normalise_base_url(std::string_view base_url) {
  std::string out(base_url);
  if (out.empty() || out.front() != '/') {
    out.insert(out.begin(), '/');
  }
  if (out.back() != '/') {
    out.push_back('/');
  }
  return out;
}

std::string local_url(int local_port, std::string_view base_url, App app, bool legacy_notebook,
                      std::string_view token) {
  return fmt::format("http://127.0.0.1:{}{}{}?token={}", local_port, normalise_base_url(base_url),
                     landing_path(app, legacy_notebook), token);
}

std::string mask_token(std::string_view token) {
  if (token.empty()) {
    return "(none)";
  }
  if (token.size() <= 8) {
    return "****";
  }
  return fmt::format("{}…", token.substr(0, 4));
}

namespace {

// For a double-quoted HTML attribute and for a JavaScript string inside <script>.
std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string js_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' ||
        static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string open_page(std::string_view url) {
  const std::string attr = html_escape(url);
  return fmt::format(
      "<!DOCTYPE html>\n"
      "<html>\n"
      "<head>\n"
      "<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"0;url={0}\">\n"
      "<title>Opening Jupyter</title>\n"
      "</head>\n"
      "<body>\n"
      "<p>This page should send you to Jupyter. If it does not, <a href=\"{0}\">open "
      "Jupyter</a>.</p>\n"
      "<script>window.location.replace({1});</script>\n"
      "</body>\n"
      "</html>\n",
      attr, js_string(url));
}

namespace {

// Days from 1970-01-01 to a civil date (proleptic Gregorian).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

std::optional<long long> digits(std::string_view s, std::size_t at, std::size_t n, long long lo,
                                long long hi) {
  if (at + n > s.size()) {
    return std::nullopt;
  }
  long long v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

std::optional<long long> epoch(long long y, long long mo, long long d, long long h, long long mi,
                               long long sec) {
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + sec;
}

}  // namespace

std::optional<long long> parse_iso8601(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00)
  auto y = digits(t, 0, 4, 1970, 9999);
  auto mo = digits(t, 5, 2, 1, 12);
  auto d = digits(t, 8, 2, 1, 31);
  auto h = digits(t, 11, 2, 0, 23);
  auto mi = digits(t, 14, 2, 0, 59);
  auto sec = digits(t, 17, 2, 0, 60);
  if (!y || !mo || !d || !h || !mi || !sec || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != ' ') || t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  std::string_view rest = t.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t n = 1;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      ++n;
    }
    if (n == 1) {
      return std::nullopt;
    }
    rest.remove_prefix(n);
  }
  if (rest != "Z" && rest != "+00:00" && rest != "z") {
    return std::nullopt;
  }
  return epoch(*y, *mo, *d, *h, *mi, *sec);
}

std::optional<long long> parse_http_date(std::string_view t) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (t.size() != 29 || t.substr(3, 2) != ", " || t.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto d = digits(t, 5, 2, 1, 31);
  long long mo = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    if (t.substr(8, 3) == kMonths[i]) {
      mo = static_cast<long long>(i) + 1;
    }
  }
  auto y = digits(t, 12, 4, 1970, 9999);
  auto h = digits(t, 17, 2, 0, 23);
  auto mi = digits(t, 20, 2, 0, 59);
  auto sec = digits(t, 23, 2, 0, 60);
  if (!d || mo == 0 || !y || !h || !mi || !sec || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' ||
      t[19] != ':' || t[22] != ':') {
    return std::nullopt;
  }
  return epoch(*y, mo, *d, *h, *mi, *sec);
}

Activity parse_activity(std::string_view body, std::string_view http_date, long long local_now) {
  Activity a;
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return a;
  }
  auto count = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() && it->get<long long>() >= 0 &&
                   it->get<long long>() < 1'000'000
               ? static_cast<int>(it->get<long long>())
               : -1;
  };
  a.kernels = count("kernels");
  a.connections = count("connections");
  auto last = j.find("last_activity");
  if (last != j.end() && last->is_string()) {
    if (auto then = parse_iso8601(last->get<std::string>())) {
      const long long now = parse_http_date(http_date).value_or(local_now);
      a.idle_s = std::max(0LL, now - *then);
    }
  }
  return a;
}

std::string_view log_message(std::string_view line) {
  // "[L ...] message": a level letter, the time (and date), the app's name.
  if (line.size() < 5 || line[0] != '[' || line[1] < 'A' || line[1] > 'Z' || line[2] != ' ') {
    return line;
  }
  const auto close = line.find("] ");
  if (close == std::string_view::npos || close > 64) {
    return line;
  }
  return line.substr(close + 2);
}

std::optional<long long> idle_shutdown(std::string_view log_tail) {
  // jupyter_server and notebook 6 alike: "No kernels or terminals for %d seconds; shutting
  // down." (older notebooks: "No kernels for %d seconds; shutting down.").
  constexpr std::string_view kEnd = " seconds; shutting down.";
  const auto end = log_tail.rfind(kEnd);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t start = end;
  while (start > 0 && log_tail[start - 1] >= '0' && log_tail[start - 1] <= '9') {
    --start;
  }
  const auto before = log_tail.substr(0, start);
  if (start == end ||
      !(before.ends_with("No kernels or terminals for ") || before.ends_with("No kernels for "))) {
    return std::nullopt;
  }
  return text::parse_int(log_tail.substr(start, end - start), 0, 1LL << 40);
}

}  // namespace jl::jupyter
