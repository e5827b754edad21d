#include "jl/core/http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "jl/core/text.hpp"

namespace jl::http {

namespace {

std::string make_request(std::string_view method, std::string_view host, int port,
                         std::string_view path, std::string_view token, std::string_view body,
                         bool close) {
  std::string host_header = host.find(':') != std::string_view::npos
                                ? fmt::format("[{}]:{}", host, port)
                                : fmt::format("{}:{}", host, port);
  std::string out =
      fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: jl\r\n", method, path, host_header);
  if (!token.empty()) {
    out += fmt::format("Authorization: token {}\r\n", token);
  }
  out += "Accept: application/json\r\n";
  if (close) {
    out += "Connection: close\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    out += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
  }
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace

std::string request(std::string_view method, std::string_view host, int port, std::string_view path,
                    std::string_view token, std::string_view body) {
  return make_request(method, host, port, path, token, body, true);
}

std::string request_kept(std::string_view method, std::string_view host, int port,
                         std::string_view path, std::string_view token) {
  return make_request(method, host, port, path, token, {}, false);
}

namespace {

using text::lower;

struct Head {
  Response response;
  std::size_t body_start = 0;
};

std::optional<Head> parse_head(std::string_view raw) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  Head head;
  head.body_start = end + 4;
  auto header_text = raw.substr(0, end);
  bool first = true;
  while (!header_text.empty()) {
    auto eol = header_text.find("\r\n");
    auto line = header_text.substr(0, eol);
    header_text = eol == std::string_view::npos ? std::string_view{} : header_text.substr(eol + 2);
    if (first) {
      first = false;
      // HTTP/1.1 200 OK
      if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') {
        return std::nullopt;
      }
      auto code = text::parse_int(line.substr(9, 3), 100, 999);
      if (!code) {
        return std::nullopt;
      }
      head.response.status = static_cast<int>(*code);
      if (line.size() > 13) {
        head.response.reason = std::string(line.substr(13));
      }
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    head.response.headers[lower(text::trim(line.substr(0, colon)))] =
        std::string(text::trim(line.substr(colon + 1)));
  }
  if (first) {
    return std::nullopt;
  }
  return head;
}

// Decode a chunked body. Returns nothing while incomplete or malformed.
std::optional<std::string> dechunk(std::string_view s) {
  std::string out;
  while (true) {
    auto eol = s.find("\r\n");
    if (eol == std::string_view::npos) {
      return std::nullopt;
    }
    auto size_text = s.substr(0, eol);
    if (auto semi = size_text.find(';'); semi != std::string_view::npos) {
      size_text = size_text.substr(0, semi);
    }
    size_text = text::trim(size_text);
    if (size_text.empty() || size_text.size() > 8) {
      return std::nullopt;
    }
    std::size_t size = 0;
    for (char c : size_text) {
      int d = std::isxdigit(static_cast<unsigned char>(c)) == 0 ? -1
              : (c <= '9')                                      ? c - '0'
                                                                : (std::tolower(c) - 'a' + 10);
      if (d < 0) {
        return std::nullopt;
      }
      size = size * 16 + static_cast<std::size_t>(d);
    }
    s.remove_prefix(eol + 2);
    if (size == 0) {
      return out;
    }
    if (s.size() < size + 2) {
      return std::nullopt;
    }
    out.append(s.substr(0, size));
    s.remove_prefix(size + 2);
  }
}

}  // namespace

std::optional<Response> parse_response(std::string_view raw) {
  auto head = parse_head(raw);
  if (!head) {
    return std::nullopt;
  }
  Response r = std::move(head->response);
  auto body = raw.substr(head->body_start);
  if (auto te = r.headers.find("transfer-encoding");
      te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    auto decoded = dechunk(body);
    if (!decoded) {
      return std::nullopt;
    }
    r.body = std::move(*decoded);
  } else if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
    auto n = text::parse_int(cl->second, 0, 1LL << 40);
    if (!n || body.size() < static_cast<std::size_t>(*n)) {
      return std::nullopt;
    }
    r.body = std::string(body.substr(0, static_cast<std::size_t>(*n)));
  } else {
    r.body = std::string(body);
  }
  return r;
}

bool response_complete(std::string_view raw) {
  auto head = parse_head(raw);
  if (!head) {
    return false;
  }
  const auto& h = head->response.headers;
  auto body = raw.substr(head->body_start);
  if (auto te = h.find("transfer-encoding");
      te != h.end() && lower(te->second).find("chunked") != std::string::npos) {
    return dechunk(body).has_value();
  }
  if (auto cl = h.find("content-length"); cl != h.end()) {
    auto n = text::parse_int(cl->second, 0, 1LL << 40);
    return n && body.size() >= static_cast<std::size_t>(*n);
  }
  if (head->response.status == 204 || head->response.status == 304) {
    return true;
  }
  return false;  // read until the peer closes
}

}  // namespace jl::http
