#pragma once

// The SSH transport: one libssh session per jl invocation, owned by one thread. It connects
// with the user's ssh config, verifies the host key, authenticates, and then runs exec and
// direct-tcpip channels on that one connection. Every wait has a deadline.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jl/core/mux.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/ssh/resolve.hpp"
#include "jl/sys/fd.hpp"

struct ssh_session_struct;
struct ssh_event_struct;

namespace jl::sys {
class Terminal;
class Interrupts;
}  // namespace jl::sys

namespace jl::ssh {

struct Resolution;

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadline_in(std::chrono::milliseconds d) {
  return Clock::now() + d;
}

// The stages of Session::connect, in order. `ready` is reported just before connect returns.
enum class ConnectStage { config, tcp, host_key, auth, ready };

// What known_hosts says about the key the server showed.
struct HostKeyInfo {
  enum class Verdict { known, unknown, changed, other_type } verdict = Verdict::unknown;
  std::string type;         // e.g. ssh-ed25519
  std::string fingerprint;  // SHA256:...
  std::string known_hosts;  // the file consulted
};

struct ConnectOptions {
  std::string host;                        // alias, user@host, host:port
  std::optional<std::string> config_file;  // like ssh -F; otherwise ~/.ssh/config
  // OpenSSH's client, which resolves the config (ssh -G) and makes ProxyJump hops; empty: jl
  // reads the config itself.
  std::string ssh_client;
  std::chrono::seconds timeout{10};  // TCP connect + key exchange, and each auth step
  // Connect even though the host key CHANGED (this run only; the known key is not replaced).
  bool accept_changed_host_key = false;
  // Never ask anything (background reconnects): a prompt needed means failure.
  bool never_prompt = false;
  // A background reconnect: a TCP connection that gets no answer is started afresh after 1 s,
  // then every 2 s, within the connect timeout, so that a SYN goes out soon after a path comes
  // back instead of at TCP's own doubling backoff (up to seconds later).
  bool fresh_syns = false;
  // Never add a key to known_hosts (no prompt, no accept-new): an unknown key means failure.
  bool known_hosts_read_only = false;
  // Called as each stage begins; when connect throws, the last stage reported is the one that
  // failed. May be empty.
  std::function<void(ConnectStage)> on_stage;
  // Called with known_hosts' verdict before jl's host-key policy acts on it. May be empty.
  std::function<void(const HostKeyInfo&)> on_host_key;
  // How many ProxyJump hops lead to this host (set by connect for the hops it makes; a chain
  // that nests deeper than 8 is a loop in the config).
  int jump_depth = 0;
};

// The dead-peer check the user's ssh config asks for (ServerAliveInterval x CountMax).
struct KeepaliveSettings {
  int interval_s = 15;
  int count_max = 2;
};

struct ExecResult {
  int exit_status = -1;  // -1 when the command ended without one (e.g. killed by a signal)
  std::string out;
  std::string err;
};

// The outcome of a TCP exchange through a direct-tcpip channel.
struct TcpResult {
  bool opened = false;  // false: the host could not connect to the address (error says why)
  std::string error;    // in words
  std::optional<sshwords::ChannelOpenFailure> failure;  // why the channel did not open
  std::string data;                                     // what the peer sent back
};

class Session;
class MuxLink;

// The plain host names (Host lines without patterns, Included files too) of the ssh config jl
// reads: `config_file` alone (as ssh -F), else ~/.ssh/config and /etc/ssh/ssh_config.
std::vector<std::string> config_host_names(const std::optional<std::string>& config_file);

// A command running on the host over an exec channel, for a conversation: read what it prints
// so far, answer on its stdin, then wait for it to end.
class RemoteProcess {
 public:
  RemoteProcess(RemoteProcess&&) noexcept;
  RemoteProcess& operator=(RemoteProcess&&) noexcept;
  ~RemoteProcess();

  // Send bytes to the command's stdin.
  void write(std::string_view data, Deadline deadline);
  // Send EOF on stdin.
  void close_stdin(Deadline deadline);
  // Wait until `ready(stdout so far)` holds; false if the command ended first.
  bool wait_for(const std::function<bool(std::string_view)>& ready, Deadline deadline);
  // Wait for the command to end; returns everything it printed and its exit status.
  ExecResult finish(Deadline deadline);
  // Standard output so far.
  std::string_view out() const;
  // Whether it runs on a pseudo-terminal (asked for, and not refused by the server).
  bool on_terminal() const;
  // Wait until more standard output arrives, the command ends, or `until` passes (not an error
  // here), and hand over what arrived: the process keeps none of it, so output can stream for
  // as long as the command runs. `*ended` says whether the command has ended.
  std::string read_some(Deadline until, bool* ended);

 private:
  friend class Session;
  struct State;
  explicit RemoteProcess(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

// Something that reports progress (verbose output); may be empty.
using Trace = std::function<void(std::string_view)>;

// A TCP exchange started now and finished later (Session::start_tcp_exchange). Over a master's
// connection it runs from the start, beside anything else the command has started (a script
// started with Session::start): their round trips overlap. Over jl's own connection it runs
// when finished. Dropped unfinished, it is abandoned (its channel closed).
class TcpExchange {
 public:
  TcpExchange(TcpExchange&&) noexcept;
  TcpExchange& operator=(TcpExchange&&) noexcept;
  ~TcpExchange();
  // Wait for the answer: what Session::tcp_exchange returns.
  TcpResult finish(Deadline deadline);

 private:
  friend class Session;
  struct State;
  explicit TcpExchange(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

class Session {
 public:
  // Connect, check the host key and authenticate. Throws jl::Error (Exit::ssh or
  // Exit::timeout) with a readable message.
  static Session connect(const ConnectOptions& options, sys::Terminal& terminal, Trace trace);

  // The same over a master's connection (connection sharing): when the master at `socket`
  // answers within a moment, the session's channels run on its SSH connection (no TCP
  // connection, key exchange or login of its own). Otherwise, and whenever the master turns
  // out to be gone or busy when a channel is opened, the session connects as connect() does.
  static Session connect_shared(const ConnectOptions& options, const std::string& socket,
                                sys::Terminal& terminal, Trace trace);

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Start a command through the remote user's shell and keep talking to it. With `pty`, the
  // command runs on a pseudo-terminal of that size (as `ssh -t` does): its stdout and stderr
  // both arrive as stdout, with "\r\n" line ends, and it ends (SIGHUP) when the channel
  // closes. Its stdin is then that terminal: the command must not read it, and must pass
  // through the terminal's line editing unchanged (shell::fits_terminal; else Exit::other).
  // A server that refuses terminals (PermitTTY no, no-pty in authorized_keys) gets the same
  // command without one: RemoteProcess::on_terminal() says which.
  struct Pty {
    int cols = 200;
    int rows = 50;
  };
  RemoteProcess spawn(std::string_view command, Deadline deadline,
                      std::optional<Pty> pty = std::nullopt);

  // Run a command through the remote user's shell, feeding `input` to its stdin (then EOF).
  ExecResult exec(std::string_view command, std::string_view input, Deadline deadline);
  // Start a command with an empty stdin, to finish() later: over a master's connection it runs
  // on the master's shell helper when that is free, beside the exchanges started meanwhile.
  RemoteProcess start(std::string_view command, Deadline deadline);

  // Open a direct-tcpip channel to host:port (as the SSH server sees it), send `request`, and
  // read until the peer closes or `complete` says the reply is whole.
  // With `keep` (an HTTP request made by http::request_kept), over a master's connection: a
  // channel the master kept from an earlier exchange to the same place serves it when there
  // is one (one round trip instead of two), and this one is kept after a whole answer.
  TcpResult tcp_exchange(const std::string& host, int port, std::string_view request,
                         Deadline deadline, const std::function<bool(std::string_view)>& complete,
                         bool keep = false);
  // The same, started now and finished later (TcpExchange).
  TcpExchange start_tcp_exchange(const std::string& host, int port, std::string request,
                                 Deadline deadline, std::function<bool(std::string_view)> complete,
                                 bool keep);

  // For the forwarding engine, which drives the session itself: the raw libssh session, its
  // socket, and non-blocking packet processing: up to `max_rounds` rounds while there is
  // something to do (returns false when the connection is gone).
  ssh_session_struct* native() const;
  int fd() const;
  bool process_io(int max_rounds = 1);

  // Around a fork() that hands this session to the child: the jump hosts' pumps (threads,
  // which fork does not copy) stop before it and start again in the child.
  void pause_jumps();
  void resume_jumps();

  // Say goodbye to the server now (the destructor does the same).
  void disconnect();

  // From now on, a readable `interrupts.fd()` interrupts the current network wait: it throws
  // jl::Error(Exit::interrupted) once per signal; the caller rolls back.
  void watch_interrupts(sys::Interrupts& interrupts);
  // The interrupts watched now (the last watch_interrupts), or null.
  sys::Interrupts* watched_interrupts() const;
  // Stop watching them (a tunnel watches its stop signals itself).
  void unwatch_interrupts();

  // ServerAliveInterval / ServerAliveCountMax for this host, with jl's defaults.
  KeepaliveSettings keepalive() const;

  // For long waits (a tunnel, a followed log): the kernel gives up on data the server does not
  // acknowledge within interval x count (TCP_USER_TIMEOUT, plus TCP keepalive), so a silent
  // dead peer ends the connection instead of hanging it.
  void detect_dead_peer();
  // Ask the server for an answer (a keepalive request); with detect_dead_peer(), a peer that
  // does not acknowledge it is found dead by the kernel.
  void send_keepalive();
  // When something last arrived from the server while jl waited on it (for a KeepaliveTimer).
  // A process that is frozen (or a peer behind a proxy) still acknowledges TCP, so this is the
  // check that counts.
  Clock::time_point last_heard() const;

  // "user@hostname:port" as actually used after the ssh config was applied.
  const std::string& endpoint() const;

  // The pid of the master whose connection this session uses; 0 when it has its own.
  long long master_pid() const;
  // Make sure the session has a connection of its own (a tunnel serves from one): connect now
  // when it runs over a master's. Throws as connect() does.
  void own_connection();
  // Hand a tunnel's listening socket to the master this session runs over, which then serves
  // it too. Its pid when it took it; nothing (and `why`) when it did not, or there is none.
  std::optional<long long> hand_over(const mux::ForwardSpec& spec, int listener, std::string* why);

 private:
  struct Impl;
  friend class RemoteProcess;
  friend class TcpExchange;
  explicit Session(std::unique_ptr<Impl> impl);
  // connect() with the transport given: a jump host's channel (`via` names the jump host).
  // Without one, the config's ProxyCommand, ProxyJump or a TCP connection.
  static Session connect_via(const ConnectOptions& options, sys::Terminal& terminal, Trace trace,
                             sys::Fd* transport, const std::string& via);
  // The ProxyJump chain of the config: returns the transport to the host (the relays live in
  // `impl`).
  static sys::Fd open_jump_chain(Impl& impl, const ConnectOptions& options, const Resolution& res,
                                 sys::Terminal& user_terminal);
  // What connecting again takes, for a session that runs over a master's connection.
  struct Redo;
  std::unique_ptr<Impl> m_impl;  // jl's own connection; null while it uses a master's
  std::unique_ptr<MuxLink> m_mux;
  std::unique_ptr<Redo> m_redo;
  Clock::time_point m_master_heard = Clock::now();
};

}  // namespace jl::ssh
