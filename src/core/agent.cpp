#include "jl/core/agent.hpp"

#include <algorithm>

namespace jl::agent {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  out += static_cast<char>((v >> 24) & 0xff);
  out += static_cast<char>((v >> 16) & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

std::optional<std::uint32_t> get_u32(std::string_view& in) {
  if (in.size() < 4) {
    return std::nullopt;
  }
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(in[static_cast<std::size_t>(i)]);
  }
  in.remove_prefix(4);
  return v;
}

std::optional<std::string> get_string(std::string_view& in) {
  auto n = get_u32(in);
  if (!n || *n > in.size()) {
    return std::nullopt;
  }
  std::string s(in.substr(0, *n));
  in.remove_prefix(*n);
  return s;
}

void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

}  // namespace

std::string frame(const Message& m) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(m.payload.size() + 1));
  out += static_cast<char>(m.type);
  out += m.payload;
  return out;
}

bool Reader::feed(std::string_view bytes) {
  m_buf.append(bytes);
  if (m_buf.size() >= 4) {
    std::string_view head = m_buf;
    auto n = get_u32(head);
    if (*n == 0 || *n > kMaxMessage) {
      m_broken = true;
    }
  }
  return !m_broken;
}

std::optional<Message> Reader::next() {
  if (m_broken || m_buf.size() < 4) {
    return std::nullopt;
  }
  std::string_view view = m_buf;
  auto n = get_u32(view);
  if (*n == 0 || *n > kMaxMessage) {
    m_broken = true;
    return std::nullopt;
  }
  if (view.size() < *n) {
    return std::nullopt;
  }
  Message m;
  m.type = static_cast<std::uint8_t>(view[0]);
  m.payload = std::string(view.substr(1, *n - 1));
  m_buf.erase(0, 4 + *n);
  // The next message's length may already be here and be broken.
  feed({});
  return m;
}

std::optional<std::vector<Identity>> parse_identities(std::string_view payload) {
  auto count = get_u32(payload);
  if (!count || *count > kMaxMessage / 8) {
    return std::nullopt;
  }
  std::vector<Identity> ids;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto blob = get_string(payload);
    auto comment = blob ? get_string(payload) : std::nullopt;
    if (!comment) {
      return std::nullopt;
    }
    ids.push_back({std::move(*blob), std::move(*comment)});
  }
  if (!payload.empty()) {
    return std::nullopt;
  }
  return ids;
}

std::string identities_payload(const std::vector<Identity>& ids) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(ids.size()));
  for (const auto& id : ids) {
    put_string(out, id.blob);
    put_string(out, id.comment);
  }
  return out;
}

std::optional<std::string> sign_request_key(std::string_view payload) {
  auto key = get_string(payload);
  auto data = key ? get_string(payload) : std::nullopt;
  if (!data || payload.size() != 4) {  // then the flags
    return std::nullopt;
  }
  return key;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) {
      v |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      ++pad;
      continue;
    }
    if (v < 0 || pad > 0) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (pad > 2 || (text.size() % 4) != 0) {
    return std::nullopt;
  }
  return out;
}

bool certifies(std::string_view cert_blob, std::string_view key_blob) {
  auto cert_type = get_string(cert_blob);
  auto key_type = get_string(key_blob);
  if (!cert_type || !key_type || *cert_type != *key_type + "-cert-v01@openssh.com") {
    return false;
  }
  if (!get_string(cert_blob)) {  // the nonce
    return false;
  }
  return !key_blob.empty() && cert_blob.substr(0, key_blob.size()) == key_blob;
}

std::vector<Identity> choose(const std::vector<Identity>& agent_keys,
                             const std::vector<std::string>& wanted, bool identities_only) {
  std::vector<Identity> out;
  const auto seen = [&](const Identity& id) {
    return std::any_of(out.begin(), out.end(),
                       [&](const Identity& o) { return o.blob == id.blob; });
  };
  for (const auto& id : agent_keys) {
    if (std::find(wanted.begin(), wanted.end(), base64(id.blob)) != wanted.end() && !seen(id)) {
      out.push_back(id);
    }
  }
  if (!identities_only) {
    for (const auto& id : agent_keys) {
      if (!seen(id)) {
        out.push_back(id);
      }
    }
  }
  return out;
}

}  // namespace jl::agent
