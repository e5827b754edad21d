#include "jl/core/ssh_words.hpp"

#include <fmt/format.h>

#include <array>

#include "jl/core/text.hpp"

namespace jl::sshwords {

namespace {

// "Connection refused" -> "connection refused" (only a leading capital followed by lower case,
// so "SSH" and names stay as they are).
std::string sentence_part(std::string_view s) {
  std::string out(text::trim(s));
  if (out.size() >= 2 && out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z') {
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  }
  while (!out.empty() && (out.back() == '.' || out.back() == '\n')) {
    out.pop_back();
  }
  return out;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return text::lower(hay).find(text::lower(needle)) != std::string::npos;
}

// The text after `prefix`, when `s` starts with it.
std::optional<std::string_view> after(std::string_view s, std::string_view prefix) {
  if (!s.starts_with(prefix)) {
    return std::nullopt;
  }
  return s.substr(prefix.size());
}

// libssh's names for the algorithm lists in "kex error : no match for method ...".
std::string method_words(std::string_view m) {
  struct Name {
    std::string_view libssh;
    std::string_view words;
  };
  static constexpr std::array<Name, 6> names{{
      {"kex algos", "key exchange"},
      {"server host key algo", "host key"},
      {"encryption client->server", "cipher"},
      {"encryption server->client", "cipher"},
      {"mac algo client->server", "MAC"},
      {"mac algo server->client", "MAC"},
  }};
  for (const auto& n : names) {
    if (m == n.libssh) {
      return std::string(n.words);
    }
  }
  return std::string(m);
}

}  // namespace

std::optional<ChannelOpenFailure> parse_channel_open_failure(std::string_view t) {
  auto rest = after(text::trim(t), "Channel opening failure: channel ");
  if (!rest) {
    return std::nullopt;
  }
  auto open = rest->find(" error (");
  if (open == std::string_view::npos) {
    return std::nullopt;
  }
  auto digits = rest->substr(open + 8);
  auto close = digits.find(')');
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  auto code = text::parse_int(digits.substr(0, close), 0, 1LL << 32);
  if (!code) {
    return std::nullopt;
  }
  ChannelOpenFailure f;
  f.code = static_cast<int>(*code);
  f.reason = std::string(text::trim(digits.substr(close + 1)));
  switch (f.code) {
    case 1:
      f.kind = OpenFailure::prohibited;
      break;
    case 4:
      f.kind = OpenFailure::resource_shortage;
      break;
    default:
      if (contains_ci(f.reason, "refused")) {
        f.kind = OpenFailure::refused;
      } else if (contains_ci(f.reason, "no route") || contains_ci(f.reason, "unreachable") ||
                 contains_ci(f.reason, "network is down")) {
        f.kind = OpenFailure::unreachable;
      } else if (contains_ci(f.reason, "timed out")) {
        f.kind = OpenFailure::timed_out;
      } else if (contains_ci(f.reason, "name or service") || contains_ci(f.reason, "resolve") ||
                 contains_ci(f.reason, "not known")) {
        f.kind = OpenFailure::not_resolved;
      } else {
        f.kind = OpenFailure::other;
      }
  }
  return f;
}

std::string describe_open_failure(const ChannelOpenFailure& f, std::string_view address, int port,
                                  std::string_view where) {
  const std::string at = fmt::format("{}:{}{}{}", address, port, where.empty() ? "" : " ", where);
  const std::string why = f.reason.empty() ? std::string{} : " (" + sentence_part(f.reason) + ")";
  switch (f.kind) {
    case OpenFailure::refused:
      return fmt::format("nothing listens on {}{}", at, why);
    case OpenFailure::unreachable:
      return fmt::format("the SSH host cannot reach {}{}", at, why);
    case OpenFailure::timed_out:
      return fmt::format("{} does not answer the SSH host's connection{}", at, why);
    case OpenFailure::not_resolved:
      return fmt::format("the SSH host cannot resolve the address of {}{}", at, why);
    case OpenFailure::prohibited:
      return fmt::format(
          "the SSH server does not allow forwarding to {} (AllowTcpForwarding or PermitOpen in "
          "its sshd_config){}",
          at, why);
    case OpenFailure::resource_shortage:
      return fmt::format("the SSH server has no room for another channel to {}{}", at, why);
    case OpenFailure::other:
      break;
  }
  return fmt::format("the SSH host could not connect to {}{}", at,
                     why.empty() ? fmt::format(" (reason {})", f.code) : why);
}

std::string describe(std::string_view raw) {
  const std::string_view t = text::trim(raw);
  if (t.empty() || t == "no error") {
    return "no further detail from the SSH library";
  }
  if (auto f = parse_channel_open_failure(t)) {
    const std::string why =
        f->reason.empty() ? fmt::format("reason {}", f->code) : sentence_part(f->reason);
    return fmt::format("the SSH server could not open the channel: {}", why);
  }
  if (t == "Socket error: disconnected" ||
      t == "Connection correctly closed but no disconnect message") {
    return "the server closed the connection";
  }
  if (auto r = after(t, "Socket error: ")) {
    if (contains_ci(*r, "reset by peer")) {
      return "the connection was reset (by the server, or by something in between)";
    }
    return fmt::format("network error: {}", sentence_part(*r));
  }
  if (auto r = after(t, "Failed to connect: ")) {
    return fmt::format("cannot connect: {}", sentence_part(*r));
  }
  if (auto r = after(t, "Failed to resolve hostname ")) {
    auto paren = r->find(" (");
    if (paren != std::string_view::npos) {
      std::string_view why = r->substr(paren + 2);
      if (!why.empty() && why.back() == ')') {
        why.remove_suffix(1);
      }
      return fmt::format("the name {} does not resolve ({})", r->substr(0, paren),
                         sentence_part(why));
    }
    return fmt::format("the name {} does not resolve", *r);
  }
  if (auto r = after(t, "Timeout connecting to ")) {
    return fmt::format("no answer from {} in time", *r);
  }
  if (auto r = after(t, "Received SSH_MSG_DISCONNECT: ")) {
    auto colon = r->find(':');
    std::string_view why = colon == std::string_view::npos ? *r : r->substr(colon + 1);
    return fmt::format("the server ended the connection: {}", sentence_part(why));
  }
  if (auto r = after(t, "No version of SSH protocol usable (banner: ")) {
    std::string_view banner = *r;
    if (!banner.empty() && banner.back() == ')') {
      banner.remove_suffix(1);
    }
    return fmt::format("the server does not speak SSH 2 (it greeted with \"{}\")",
                       text::trim(banner));
  }
  if (t.starts_with("Receiving banner: too large banner")) {
    return "the server does not speak SSH (its greeting is not an SSH banner)";
  }
  if (auto r = after(t, "kex error : no match for method ")) {
    // METHOD: server [LIST], client [LIST]
    auto colon = r->find(": server [");
    if (colon != std::string_view::npos) {
      std::string_view lists = r->substr(colon + 10);
      auto mid = lists.find("], client [");
      if (mid != std::string_view::npos) {
        std::string_view server = lists.substr(0, mid);
        std::string_view client = lists.substr(mid + 11);
        if (!client.empty() && client.back() == ']') {
          client.remove_suffix(1);
        }
        return fmt::format(
            "the server and jl have no {} algorithm in common (the server offers {}; jl offers "
            "{})",
            method_words(r->substr(0, colon)), server, client);
      }
    }
    return "the server and jl have no algorithm in common";
  }
  if (auto r = after(t, "Access denied for '")) {
    constexpr std::string_view can_continue = "'. Authentication that can continue: ";
    auto q = r->find(can_continue);
    if (q != std::string_view::npos) {
      return fmt::format("the server refused {} authentication (it accepts: {})", r->substr(0, q),
                         text::trim(r->substr(q + can_continue.size())));
    }
  }
  if (t.starts_with("Remote channel is closed")) {
    return "the remote side closed the channel";
  }
  if (t == "Failed to process system configuration files") {
    return "the ssh configuration has a line libssh cannot handle (for example a Match "
           "criterion it does not know)";
  }
  if (auto r = after(t, "Writing packet: error on socket (or connection closed): ")) {
    return fmt::format("the connection broke while sending ({})", sentence_part(*r));
  }
  if (t.starts_with("Writing packet: error on socket")) {
    return "the connection broke while sending";
  }
  if (t == "Failed to verify server hostkey signature") {
    return "the server's host key signature does not verify";
  }
  return std::string(t);
}

}  // namespace jl::sshwords
