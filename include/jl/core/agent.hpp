#pragma once

// The ssh-agent protocol, as far as jl's filtering agent needs it (draft-miller-ssh-agent):
// messages framed as uint32 length + type byte + payload; the identities answer parsed and
// rebuilt; a sign request's key. Pure: no sockets here (the relay is in ssh/agent_filter).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl::agent {

inline constexpr std::uint8_t kFailure = 5;             // SSH_AGENT_FAILURE
inline constexpr std::uint8_t kRequestIdentities = 11;  // SSH2_AGENTC_REQUEST_IDENTITIES
inline constexpr std::uint8_t kIdentitiesAnswer = 12;   // SSH2_AGENT_IDENTITIES_ANSWER
inline constexpr std::uint8_t kSignRequest = 13;        // SSH2_AGENTC_SIGN_REQUEST
inline constexpr std::size_t kMaxMessage = 256 * 1024;  // as OpenSSH's agent limits them

struct Message {
  std::uint8_t type = 0;
  std::string payload;  // after the type byte
};

// The wire form of a message.
std::string frame(const Message& m);

// Collects a byte stream into whole messages.
class Reader {
 public:
  // Append bytes; false when the stream is broken (a length of 0 or above kMaxMessage).
  bool feed(std::string_view bytes);
  // The next whole message, if one has arrived.
  std::optional<Message> next();
  // Bytes held that do not yet make a message.
  std::size_t pending() const { return m_buf.size(); }

 private:
  std::string m_buf;
  bool m_broken = false;
};

struct Identity {
  std::string blob;  // the public key (or certificate) in SSH wire format
  std::string comment;
};

// The identities of an answer's payload; nothing when it is malformed.
std::optional<std::vector<Identity>> parse_identities(std::string_view payload);
std::string identities_payload(const std::vector<Identity>& ids);

// The key blob a sign request's payload names; nothing when it is malformed.
std::optional<std::string> sign_request_key(std::string_view payload);

// A key blob as .pub files and ssh_pki_export_pubkey_base64 write it.
std::string base64(std::string_view bytes);

// The bytes of base64 text; nothing when it is not base64.
std::optional<std::string> unbase64(std::string_view text);

// Whether an OpenSSH certificate blob certifies the plain public key blob (PROTOCOL.certkeys:
// the certificate carries the key's own fields after its nonce). libssh 0.10 cannot compare a
// certificate with a key.
bool certifies(std::string_view cert_blob, std::string_view key_blob);

// OpenSSH's choice among the agent's keys (pubkey_prepare): first the keys that match one of
// `wanted` (the IdentityFile keys and certificates, in base64), in the agent's order; then,
// without IdentitiesOnly, the others. Either way, a key the agent holds is offered from the
// agent, so the identity files skip it.
std::vector<Identity> choose(const std::vector<Identity>& agent_keys,
                             const std::vector<std::string>& wanted, bool identities_only);

}  // namespace jl::agent
