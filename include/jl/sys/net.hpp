#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "jl/sys/fd.hpp"

namespace jl::sys {

// A non-blocking TCP listener on 127.0.0.1 (never another address). `port` 0 takes any free
// port. Returns an invalid Fd and sets `error` (e.g. "Address already in use") on failure.
Fd listen_loopback(int port, std::string* error);

// The local port a socket is bound to.
int local_port(int fd);

// Is something accepting connections on 127.0.0.1:port?
bool port_in_use(int port);

// A blocking exchange with 127.0.0.1:port: connect, send `request`, read until the peer
// closes or `complete` says the reply is whole, all within `timeout`. Nothing on failure.
std::optional<std::string> exchange_loopback(int port, std::string_view request,
                                             std::chrono::milliseconds timeout,
                                             bool (*complete)(std::string_view));

// A TCP connection to host:port as ssh makes it: every address the name resolves to (of the
// family asked for: 0 any, 4 IPv4, 6 IPv6), in order, until one accepts, all within `timeout`.
// The socket is left blocking.
struct TcpConnect {
  Fd fd;
  enum class Failure { none, resolve, refused, timeout, other } failure = Failure::none;
  std::string error;    // in words, when fd is invalid
  std::string address;  // the address connected to (or last tried)
};
TcpConnect connect_tcp(const std::string& host, int port, int family,
                       std::chrono::milliseconds timeout);

// The build's flavour of the OS interfaces in sys: "linux", "macos", or "posix" (the
// plain-POSIX fallbacks, also what the portable build uses on Linux).
const char* platform();

// A stream socket of `family` (AF_INET, AF_INET6, AF_UNIX), non-blocking and close-on-exec,
// whose writes never raise SIGPIPE. Invalid (errno says why) on failure.
//   - Linux: SOCK_NONBLOCK | SOCK_CLOEXEC, and MSG_NOSIGNAL on each send;
//   - macOS: fcntl, and SO_NOSIGPIPE on the socket;
//   - elsewhere: fcntl, and SO_NOSIGPIPE where there is one, else SIGPIPE ignored.
Fd stream_socket(int family);

// Give a socket made elsewhere (accepted, passed along) the same flags.
void prepare_socket(int fd);

// send() that never raises SIGPIPE (EPIPE instead), retried on EINTR; `dont_wait` makes it
// non-blocking on a blocking socket (MSG_DONTWAIT). As send() returns.
long send_some(int fd, const void* data, std::size_t size, bool dont_wait = false);

// Make the OS notice a dead peer on a connected TCP socket after about `interval` x `count`
// of silence, even with data unacknowledged:
//   - Linux: TCP keepalive (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT) and TCP_USER_TIMEOUT;
//   - macOS: TCP keepalive (TCP_KEEPALIVE, TCP_KEEPINTVL, TCP_KEEPCNT) and TCP_RXT_CONNDROPTIME;
//   - elsewhere: SO_KEEPALIVE alone (the OS's own schedule): the owner's keepalive timer
//     is what notices then.
void detect_dead_peer(int fd, int interval_s, int count);

// Who listens on 127.0.0.1:port ("pid 123: python3 -m http.server"), where the OS lets us
// see it (Linux: /proc); empty elsewhere or when unknown.
std::string port_holder(int port);

// Two connected stream sockets (close-on-exec, blocking); invalid Fds on failure.
std::pair<Fd, Fd> socket_pair();

// Set O_NONBLOCK and TCP_NODELAY on a connected socket.
void tune_socket(int fd);

// What the kernel knows of a TCP connection's sent data: how many segments are not yet
// acknowledged, and how many times in a row the retransmission timer has fired (each time it
// doubles). Nothing where the OS does not say (not Linux) or `fd` is not TCP.
struct TcpStall {
  unsigned unacked = 0;
  unsigned backoff = 0;
};
std::optional<TcpStall> tcp_stall(int fd);

}  // namespace jl::sys
