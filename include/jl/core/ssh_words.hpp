#pragma once

// What libssh's error texts mean, in words a person can act on. libssh reports most failures
// only as text (ssh_get_error); this is the one place that reads that text, so nothing else
// prints it raw or searches it.

#include <optional>
#include <string>
#include <string_view>

namespace jl::sshwords {

// Why the SSH server could not open a direct-tcpip channel (RFC 4254 section 5.1 reason codes).
enum class OpenFailure {
  refused,            // nothing listens at the address
  unreachable,        // no route to the address, or the network is down
  timed_out,          // the address did not answer the server's connection
  not_resolved,       // the server could not resolve the name
  prohibited,         // the server does not allow forwarding (AllowTcpForwarding, PermitOpen)
  resource_shortage,  // the server has no room for another channel
  other,
};

struct ChannelOpenFailure {
  OpenFailure kind = OpenFailure::other;
  int code = 0;        // the reason code the server sent
  std::string reason;  // the server's own description, e.g. "Connection refused"
};

// Parse libssh's "Channel opening failure: channel N error (CODE) REASON". Nothing when the
// text is not that.
std::optional<ChannelOpenFailure> parse_channel_open_failure(std::string_view libssh_text);

// One phrase for a failed channel to ADDRESS:PORT, as seen from the SSH host; `where` names
// the place (e.g. "inside cont1"), may be empty. E.g. "nothing listens on 172.17.0.2:8888
// inside cont1 (connection refused)".
std::string describe_open_failure(const ChannelOpenFailure& f, std::string_view address, int port,
                                  std::string_view where);

// Words for any libssh error text: known texts are reworded ("the server closed the
// connection"), anything else is kept but never with libssh's internal numbers alone.
std::string describe(std::string_view libssh_text);

}  // namespace jl::sshwords
