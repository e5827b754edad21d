#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace jl::jupyter {

// The Jupyter front ends jl can start. `server` is a bare jupyter_server.
enum class App { lab, notebook, server };
std::string_view to_string(App app);
std::optional<App> app_from_string(std::string_view s);

// The executable that starts an app inside the container.
std::string_view executable(App app);

// What the runtime file of a running server says (jpserver-PID.json or nbserver-PID.json).
struct RuntimeInfo {
  std::string file;     // path inside the container
  bool legacy = false;  // nbserver-*.json: notebook <= 6
  long long pid = 0;
  int port = 0;
  std::string hostname;  // the --ip it was started with
  std::string base_url = "/";
  std::string token;
  bool password = false;
  bool secure = false;
  std::string sock;  // a UNIX socket instead of a port, when set
  std::string root_dir;
  std::string version;  // jupyter_server's (or notebook's) version
};

// Parse a runtime file. Returns nothing when it is not a usable runtime file; `error` says why.
std::optional<RuntimeInfo> parse_runtime_file(std::string_view json, std::string_view path,
                                              std::string* error = nullptr);

// TCP ports in LISTEN state, from the text of /proc/net/tcp and /proc/net/tcp6.
std::set<int> listening_ports(std::string_view proc_net_tcp);

// The first port >= `start` that is not in `busy`; nothing if none up to 65535.
std::optional<int> first_free_port(const std::set<int>& busy, int start);

// Choose the app for --app auto: lab if installed, else notebook, else server.
std::optional<App> choose_app(const std::set<App>& installed);

// Docker's rule for container names (and ids): [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 253 bytes.
bool valid_container_name(std::string_view name);

// The path of the browser page for an app, relative to base_url ("lab", "tree" or "").
std::string_view landing_path(App app, bool legacy_notebook);

// http://127.0.0.1:PORT<base_url><landing>?token=TOKEN
std::string local_url(int local_port, std::string_view base_url, App app, bool legacy_notebook,
                      std::string_view token);

// The page jl hands the browser instead of the URL, so that the token is in no process's argv
// (as Jupyter's own jpserver-PID-open.html does): it sends the browser on to `url` at once.
std::string open_page(std::string_view url);

// A base_url normalised to start and end with '/'.
std::string normalise_base_url(std::string_view base_url);

// A token shown to people: its first four characters, then an ellipsis.
std::string mask_token(std::string_view token);

// What GET api/status says of a server's activity.
struct Activity {
  // Seconds since its last activity (a kernel's, a terminal's or a tracked request's; the
  // status checks themselves are not tracked), by the server's own clock: the answer's Date
  // header, else `local_now`.
  std::optional<long long> idle_s;
  int kernels = -1;      // -1: not said
  int connections = -1;  // the kernels' client connections
};
Activity parse_activity(std::string_view status_body, std::string_view http_date,
                        long long local_now);

// Seconds since the epoch of a UTC time as Jupyter writes it ("2026-12-04T18:30:00.123456Z",
// "...+00:00") and as HTTP's Date header does ("Fri, 04 Dec 2026 18:30:00 GMT").
std::optional<long long> parse_iso8601(std::string_view text);
std::optional<long long> parse_http_date(std::string_view text);

// A line of Jupyter's log without the prefix Jupyter puts before each message
// ("[I 2026-12-04 20:05:11.227 ServerApp] ", "[W 18:41:11.717 NotebookApp] "): what it says.
// A line without that prefix is returned as it is.
std::string_view log_message(std::string_view line);

// Whether a server's log ends with Jupyter's own idle shutdown (shutdown_no_activity_timeout):
// how many seconds it said it had been idle.
std::optional<long long> idle_shutdown(std::string_view log_tail);

}  // namespace jl::jupyter
