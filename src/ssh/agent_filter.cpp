#include "jl/ssh/agent_filter.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>

#include "jl/core/agent.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/unix_socket.hpp"

namespace jl::ssh {

namespace {

// How long the agent may take to answer one request (a key added with `ssh-add -c` waits for
// the user to confirm).
constexpr auto kAgentDeadline = std::chrono::seconds(30);

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Read into `reader` until it holds a whole message; nothing at EOF, error or the deadline.
std::optional<agent::Message> read_message(int fd, agent::Reader& reader,
                                           std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  while (true) {
    if (auto m = reader.next()) {
      return m;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      return std::nullopt;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      continue;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || !reader.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
      return std::nullopt;
    }
  }
}

}  // namespace

AgentFilter::AgentFilter(const std::string& socket_path, std::vector<std::string> wanted,
                         bool identities_only)
    : m_wanted(std::move(wanted)), m_identities_only(identities_only) {
  m_agent = sys::connect_unix(socket_path, &m_error);
  if (!m_agent.valid()) {
    return;
  }
  auto [a, b] = sys::socket_pair();
  if (!a.valid()) {
    m_error = "cannot make a socket pair";
    return;
  }
  m_ours = std::move(a);
  m_theirs = std::move(b);
  m_thread = std::thread([this] { relay(); });
}

AgentFilter::~AgentFilter() {
  if (m_thread.joinable()) {
    // Wakes the relay (its read returns 0); libssh's end may stay open with the session.
    ::shutdown(m_ours.get(), SHUT_RDWR);
    m_thread.join();
  }
}

std::vector<std::string> AgentFilter::shown() const {
  std::lock_guard lock(m_mutex);
  return m_shown;
}

std::size_t AgentFilter::hidden() const {
  std::lock_guard lock(m_mutex);
  return m_hidden;
}

void AgentFilter::relay() {
  agent::Reader from_libssh;
  agent::Reader from_agent;
  const auto forever = std::chrono::steady_clock::time_point::max();
  while (auto request = read_message(m_ours.get(), from_libssh, forever)) {
    agent::Message reply{agent::kFailure, {}};
    bool forward = true;
    if (request->type == agent::kSignRequest) {
      // Sign only with a key that was shown.
      auto key = agent::sign_request_key(request->payload);
      std::lock_guard lock(m_mutex);
      forward =
          key && std::find(m_shown.begin(), m_shown.end(), agent::base64(*key)) != m_shown.end();
    }
    if (forward && write_all(m_agent.get(), agent::frame(*request))) {
      auto answer = read_message(m_agent.get(), from_agent,
                                 std::chrono::steady_clock::now() + kAgentDeadline);
      if (!answer) {
        // The agent is gone or stuck: answer this one, and every later one, with failure.
        m_agent.reset();
      } else {
        reply = std::move(*answer);
      }
    }
    if (request->type == agent::kRequestIdentities && reply.type == agent::kIdentitiesAnswer) {
      auto ids = agent::parse_identities(reply.payload);
      if (!ids) {
        reply = {agent::kFailure, {}};
      } else {
        auto chosen = agent::choose(*ids, m_wanted, m_identities_only);
        std::lock_guard lock(m_mutex);
        m_shown.clear();
        for (const auto& id : chosen) {
          m_shown.push_back(agent::base64(id.blob));
        }
        m_hidden = ids->size() - chosen.size();
        reply.payload = agent::identities_payload(chosen);
      }
    }
    if (!write_all(m_ours.get(), agent::frame(reply))) {
      return;
    }
  }
}

}  // namespace jl::ssh
