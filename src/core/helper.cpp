#include "jl/core/helper.hpp"

#include <fmt/format.h>

#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::helper {

namespace {

constexpr std::string_view kReady = "@@jl-helper-1";
constexpr std::string_view kDone = "@@jl-done";
constexpr std::size_t kMaxHeader = 256;
constexpr long long kMaxBytes = 1LL << 40;

}  // namespace

std::string_view script() {
  return scripts::helper();
}

std::string job(std::uint64_t id, std::string_view command) {
  std::string body(command);
  body += "\n#jl-end";
  return fmt::format("{} {}\n{}", id, body.size(), body);
}

std::string batch(std::span<const std::string> commands) {
  std::string s =
      "d=$(mktemp -d \"${TMPDIR:-/tmp}/jl-batch.XXXXXX\") || exit 1\n"
      "trap 'rm -rf \"$d\"' EXIT\n";
  std::string ids;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    s += fmt::format(
        "{{ (eval {}) </dev/null >\"$d/{}.o\" 2>\"$d/{}.e\"; echo \"$?\" >\"$d/{}.s\"; }} &\n",
        shell::quote(commands[i]), i, i, i);
    ids += fmt::format(" {}", i);
  }
  s += "wait\n";
  s += fmt::format("for i in{}; do\n", ids);
  s += "  printf '@@jl-done %s %s %s %s\\n' \"$i\" \"$(cat \"$d/$i.s\")\" "
       "$(wc -c <\"$d/$i.o\") $(wc -c <\"$d/$i.e\")\n"
       "  cat \"$d/$i.o\" \"$d/$i.e\"\n"
       "done\n";
  return shell::sh_c(s, {});
}

std::optional<std::vector<Result>> parse_batch(std::string_view out, std::size_t count) {
  Reader reader(false);
  std::vector<Piece> pieces;
  if (!reader.feed(out, pieces) || reader.answering()) {
    return std::nullopt;
  }
  std::vector<Result> results;
  Result cur;
  for (auto& p : pieces) {
    if (p.id != results.size()) {
      return std::nullopt;  // in order, each once
    }
    switch (p.kind) {
      case Piece::Kind::out:
        cur.out += p.bytes;
        break;
      case Piece::Kind::err:
        cur.err += p.bytes;
        break;
      case Piece::Kind::done:
        cur.status = p.status;
        results.push_back(std::move(cur));
        cur = Result{};
        break;
      case Piece::Kind::ready:
        return std::nullopt;
    }
  }
  if (results.size() != count) {
    return std::nullopt;
  }
  return results;
}

bool Reader::feed(std::string_view chunk, std::vector<Piece>& pieces) {
  while (!chunk.empty()) {
    switch (m_state) {
      case State::broken:
        return false;
      case State::noise:
      case State::header: {
        const auto nl = chunk.find('\n');
        const auto part = chunk.substr(0, nl);
        m_line.append(part);
        chunk.remove_prefix(nl == std::string_view::npos ? chunk.size() : nl + 1);
        if (m_state == State::noise) {
          // The login's noise (a .bashrc that prints) comes before the loop's first line.
          m_noise += part.size() + (nl == std::string_view::npos ? 0 : 1);
          if (m_noise > kNoiseLimit) {
            m_state = State::broken;
            return false;
          }
        } else if (m_line.size() > kMaxHeader) {
          m_state = State::broken;
          return false;
        }
        if (nl == std::string_view::npos) {
          break;
        }
        std::string line = std::move(m_line);
        m_line.clear();
        if (m_state == State::noise) {
          if (line == kReady) {
            m_state = State::header;
            pieces.push_back({Piece::Kind::ready, {}, 0, 0});
          }
          break;
        }
        const auto f = text::fields(line);
        const auto id = f.size() == 5 ? text::parse_int(f[1], 0, kMaxBytes) : std::nullopt;
        const auto status = f.size() == 5 ? text::parse_int(f[2], 0, 255) : std::nullopt;
        const auto out = f.size() == 5 ? text::parse_int(f[3], 0, kMaxBytes) : std::nullopt;
        const auto err = f.size() == 5 ? text::parse_int(f[4], 0, kMaxBytes) : std::nullopt;
        if (f.size() != 5 || f[0] != kDone || !id || !status || !out || !err) {
          m_state = State::broken;
          return false;
        }
        m_id = static_cast<std::uint64_t>(*id);
        m_status = static_cast<int>(*status);
        m_out_left = static_cast<std::uint64_t>(*out);
        m_err_left = static_cast<std::uint64_t>(*err);
        m_state = State::out;
        break;
      }
      case State::out:
      case State::err: {
        auto& left = m_state == State::out ? m_out_left : m_err_left;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        if (n > 0) {
          pieces.push_back({m_state == State::out ? Piece::Kind::out : Piece::Kind::err,
                            std::string(chunk.substr(0, n)), m_id, 0});
          chunk.remove_prefix(n);
          left -= n;
        }
        break;
      }
    }
    // A part that is whole moves on, also when it was empty (and the chunk is used up).
    if (m_state == State::out && m_out_left == 0) {
      m_state = State::err;
    }
    if (m_state == State::err && m_err_left == 0) {
      pieces.push_back({Piece::Kind::done, {}, m_id, m_status});
      m_state = State::header;
    }
  }
  return m_state != State::broken;
}

}  // namespace jl::helper
