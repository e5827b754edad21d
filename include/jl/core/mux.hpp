#pragma once

// Connection sharing: the words jl's commands and a host's master (the tunnel process that
// holds the SSH connection) say to each other over the master's control socket, as OpenSSH's
// ControlMaster does. Pure: no sockets here.
//
// A command opens one control connection per request and writes one JSON line; the master
// answers with one JSON line. Descriptors travel beside the request (SCM_RIGHTS):
//
//   hello                      -> {"ok":true,"pid":..,"endpoint":..,"user":..}
//   exec  CMD [pty], fds io,err -> {"ok":true,"pty":bool} then, when the channel has closed
//                                 and io and err were drained and shut, {"exit":N|null}
//   run   CMD, fds io,err      -> the same for a POSIX sh command line with an empty stdin,
//                                 which the master may run on its helper (core/helper): io
//                                 brings shell::kBootMarker and the command's stdout
//   tcp   HOST PORT, fd io      -> {"ok":true} or {"ok":false,"error":RAW}; io is the stream.
//         With "keep": one HTTP exchange; a command that read a whole answer writes "k\n" on
//         the control connection before it closes it, and the master keeps the channel for the
//         next such request to the same place, which it then answers at once with
//         {"ok":true,"reused":true} (one round trip saved: the channel's open)
//   forward SPEC, fd listener   -> {"ok":true,"pid":..}: the master serves that tunnel too
//   close LOCK                  -> {"ok":true,"closed":bool}
//   ping (on an exec's control connection, at any time) -> {"pong":true}
//
// A master that is reconnecting answers {"ok":false,"busy":true}; the command then makes its
// own connection.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/config.hpp"

namespace jl::mux {

inline constexpr int kVersion = 1;
// The longest line either side accepts (a remote script travels in an exec's stdin, not here).
inline constexpr std::size_t kMaxLine = 64 * 1024;

// The directory of control sockets: $XDG_RUNTIME_DIR/jl, else $TMPDIR/jl-UID, else
// /tmp/jl-UID. The caller creates it 0700 and checks its owner.
std::string runtime_dir(const Env& env, long long uid);

// The control socket's file name for a master of `host` as jl names it, with the ssh config
// file (empty: none) and jl's state directory: "HASH.sock" (a short name, since a socket path
// has room for about 100 bytes). The lock that makes one process the master is "HASH.lock".
std::string socket_name(std::string_view host, std::string_view ssh_config,
                        std::string_view state_dir);
std::string lock_name(std::string_view host, std::string_view ssh_config,
                      std::string_view state_dir);

// A tunnel handed to the master: everything it needs to serve the tunnel, keep its state
// record and check its server after a reconnect.
struct ForwardSpec {
  enum class Kind { session, forward } kind = Kind::session;
  std::string host;  // jl's name of the host
  std::string name;  // the container (session) or the -L label (forward)
  std::string lock;  // the tunnel's lock file, which the master holds while it serves it
  std::string log;   // the tunnel's log file (0600); empty: the master's own
  std::string target_host;
  int target_port = 0;
  // A session's server, asked for after a reconnect: GET {base_url}api/status with the token.
  std::string base_url;
  std::string token;
  // A session in a Slurm job: the job, asked every so often whether it still runs.
  std::string job_id;
};

struct Request {
  enum class Op { hello, exec, tcp, forward, close, ping, run } op = Op::hello;
  // exec: the command line, and a terminal's size when one is wanted; run: the command
  std::string command;
  std::optional<std::pair<int, int>> pty;  // columns, rows
  // tcp: where the host connects, and whether the channel may serve later exchanges
  std::string host;
  int port = 0;
  bool keep = false;
  // forward
  ForwardSpec forward;
  // close: the tunnel's lock file
  std::string lock;
};

// One line (ending in "\n").
std::string encode(const Request& request);
// Nothing when the line is not a request this version knows; `error` says why.
std::optional<Request> decode_request(std::string_view line, std::string* error);
// How many descriptors come with a request.
int fds_for(Request::Op op);

struct Reply {
  bool ok = false;
  bool busy = false;     // the master is reconnecting: make your own connection
  std::string error;     // why not (for tcp: libssh's words, for the channel-open reader)
  long long pid = 0;     // hello, forward
  std::string endpoint;  // hello: user@host:port of the master's connection
  std::string user;      // hello: the account logged in as
  bool pty = false;      // exec: the command runs on a terminal
  bool closed = false;   // close: a tunnel was closed
  bool reused = false;   // tcp: a kept channel (its server may have closed it meanwhile)
  bool pong = false;     // ping
  bool ended = false;    // exec: the command ended (exit_status when it gave one)
  std::optional<int> exit_status;
};

std::string encode(const Reply& reply);
std::optional<Reply> decode_reply(std::string_view line, std::string* error);

// Collects bytes into lines.
class LineReader {
 public:
  // Add bytes; false when a line grew beyond kMaxLine (the peer is not speaking this protocol).
  bool feed(std::string_view bytes);
  // The next whole line without its "\n", if there is one.
  std::optional<std::string> next();
  bool empty() const { return m_buf.empty(); }

 private:
  std::string m_buf;
};

}  // namespace jl::mux
