#pragma once

// An ssh-agent between libssh and the user's agent, so that libssh offers the agent's keys as
// OpenSSH does: with IdentitiesOnly only those the IdentityFile lines name (in the agent's
// order), and every other key hidden; it also refuses to sign with a key it did not show.
// libssh talks to the agent synchronously in the thread that authenticates, so the relay runs
// in a thread of its own; it touches no libssh object, only the two sockets.

#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jl/sys/fd.hpp"

namespace jl::ssh {

class AgentFilter {
 public:
  // Connect to the agent at `socket_path` and start the relay. `wanted`: the base64 blobs of
  // the identity files' keys and certificates. On failure valid() is false, error() says why.
  AgentFilter(const std::string& socket_path, std::vector<std::string> wanted,
              bool identities_only);
  ~AgentFilter();
  AgentFilter(const AgentFilter&) = delete;
  AgentFilter& operator=(const AgentFilter&) = delete;

  bool valid() const { return m_thread.joinable(); }
  const std::string& error() const { return m_error; }

  // libssh's end (for ssh_set_agent_socket, which takes it over). Once only.
  int release_client_fd() { return m_theirs.release(); }

  // The keys shown to libssh (base64), and how many the agent held but were hidden.
  std::vector<std::string> shown() const;
  std::size_t hidden() const;

 private:
  void relay();

  std::vector<std::string> m_wanted;
  bool m_identities_only = false;
  std::string m_error;
  sys::Fd m_agent;   // the user's agent
  sys::Fd m_ours;    // the relay's end of the pair
  sys::Fd m_theirs;  // libssh's end, until released
  mutable std::mutex m_mutex;
  std::vector<std::string> m_shown;
  std::size_t m_hidden = 0;
  std::thread m_thread;
};

}  // namespace jl::ssh
