#pragma once

// Unix stream sockets for connection sharing: the master's control socket, connections to it,
// descriptors passed along (SCM_RIGHTS), and who is at the other end.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/sys/fd.hpp"

namespace jl::sys {

// Make `dir` if missing (mode 0700) and check that it is a directory of this user that no one
// else may enter. False with `error` in words otherwise.
bool private_dir(const std::string& dir, std::string* error);

// A listening Unix socket at `path` (non-blocking, close-on-exec), reachable by this user
// only (mode 0600). Whatever was at `path` is replaced: the caller holds the lock that makes
// the path its own. An invalid Fd and `error` in words on failure.
Fd listen_unix(const std::string& path, std::string* error);

// Is `path` a socket (not a plain file, not a link) owned by this user?
bool own_socket(const std::string& path);

// Connect to the Unix socket at `path` without blocking: a listener whose backlog is full
// (a stopped process) fails at once. The socket stays non-blocking.
Fd connect_unix_now(const std::string& path, std::string* error);

// The same, left blocking (an ssh-agent's socket).
Fd connect_unix(const std::string& path, std::string* error);

// Accept a connection (non-blocking, close-on-exec); invalid when none is waiting.
Fd accept_now(int listener);

// The user id of the process at the other end of a Unix socket, if the OS says.
std::optional<long long> peer_uid(int sock);

// This process's user id.
long long own_uid();

// Send all of `bytes` on a non-blocking socket, with `fds` riding on the first byte, within
// `timeout`. False on failure (errno says why).
bool send_all(int sock, std::string_view bytes, const std::vector<int>& fds,
              std::chrono::milliseconds timeout);

// Read what is there (up to `max` bytes), with any descriptors that came along. Returns the
// bytes read: 0 at the end, -1 on an error or when nothing is there (errno EAGAIN).
long recv_with_fds(int sock, char* buf, std::size_t max, std::vector<Fd>* fds);

// Wait until `fd` is readable or `timeout` passes (a poll that does not restart on signals).
bool wait_readable(int fd, std::chrono::milliseconds timeout);

}  // namespace jl::sys
