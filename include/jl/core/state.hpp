#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl {

// What a session's tunnel last reported about itself, for `jl status` and `jl open`.
enum class TunnelNote {
  none,          // all is well (or no tunnel)
  reconnecting,  // the SSH connection was lost; the tunnel makes a new one
  server_gone,   // reconnected, but the server does not answer
  gave_up,       // a reconnect would need a person (a prompt, a host key): the tunnel ended
};

// The words of a note, as `jl status` shows them: "" (none), "reconnecting",
// "server gone: WHY", "gave up: WHY".
std::string tunnel_note_words(TunnelNote note, std::string_view why);

// One Jupyter server that jl knows about: where it runs and how to reach it.
struct SessionRecord {
  std::string host;                       // as given with -H (alias, user@host, host:port)
  std::optional<std::string> ssh_config;  // the -F file used to reach it, if any
  std::string container;
  std::string container_id;    // the container's full id when jl recorded it (empty: not known)
  std::string app;             // lab, notebook or server
  std::string server_version;  // from the runtime file
  bool legacy = false;         // notebook <= 6 (nbserver runtime file)
  std::string address;         // where the server listens, as seen from the host
  int port = 0;
  std::string base_url = "/";
  std::string token;
  long long pid = 0;         // inside the container
  std::string runtime_file;  // the server's runtime file inside the container
  std::string log;           // log file inside the container, when jl started it
  bool started_by_jl = false;
  std::string started_at;  // ISO 8601 UTC
  int idle_timeout_s = 0;  // Jupyter shuts itself down after this long idle (0: never)
  // A session in a Slurm job (jl up NAME --slurm): the job's id (empty: a Docker container)
  // and the node it runs on. `address` is then the node's address as the login node reaches
  // it, and `pid`, `runtime_file` and `log` are on that node.
  std::string job_id;
  std::string node;
  // Tunnel, when one runs (see `jl open`).
  int local_port = 0;
  long long tunnel_pid = 0;
  TunnelNote tunnel_state = TunnelNote::none;  // what kind of note tunnel_note is
  std::string tunnel_note;  // its words (tunnel_note_words), empty when all is well

  bool operator==(const SessionRecord&) const = default;
};

// A port forward made with `jl forward` (not a Jupyter session).
struct ForwardRecord {
  std::string host;
  std::optional<std::string> ssh_config;
  std::string label;  // CONTAINER:PORT or ADDR:PORT, as given
  std::string target_host;
  int target_port = 0;
  int local_port = 0;
  long long pid = 0;

  bool operator==(const ForwardRecord&) const = default;
};

struct State {
  static constexpr int version = 1;
  std::vector<SessionRecord> sessions;
  std::vector<ForwardRecord> forwards;

  // The session for (host, container), if any.
  SessionRecord* find(std::string_view host, std::string_view container);
  // Insert or replace the session for (record.host, record.container).
  void upsert(SessionRecord record);
  // Remove the session for (host, container); true if there was one.
  bool remove(std::string_view host, std::string_view container);

  ForwardRecord* find_forward(std::string_view host, std::string_view label);
  void upsert_forward(ForwardRecord record);
  bool remove_forward(std::string_view host, std::string_view label);
};

// Serialise to the JSON text of the state file.
std::string serialize_state(const State& state);

// Parse the state file. Throws std::runtime_error with a reason when the text is not a
// state file of a version this jl understands.
State parse_state(std::string_view text);

// Sessions that a command with an optional CONTAINER argument may mean.
std::vector<const SessionRecord*> match_sessions(const State& state,
                                                 const std::optional<std::string>& host,
                                                 const std::optional<std::string>& container);

// "host/container" for messages.
std::string session_label(const SessionRecord& s);

}  // namespace jl
