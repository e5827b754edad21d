#include "jl/core/jupyter.hpp"

#include <fmt/format.h>

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

}  // namespace jl::jupyter
