#include "jl/ssh/session.hpp"

#include <fmt/format.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>  // ssh_send_keepalive, usable by clients
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <algorithm>
#include <cstring>
#include <vector>

#include "channel_state.hpp"
#include "jl/core/agent.hpp"
#include "jl/core/config.hpp"
#include "jl/core/error.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/ssh_config.hpp"
#include "jl/core/ssh_words.hpp"
#include "jl/core/text.hpp"
#include "jl/ssh/agent_filter.hpp"
#include "jl/ssh/jump.hpp"
#include "jl/ssh/prompt.hpp"
#include "jl/ssh/resolve.hpp"
#include "jl/sys/interrupts.hpp"
#include "jl/sys/net.hpp"
#include "jl/sys/terminal.hpp"
#include "mux_client.hpp"

namespace jl::ssh {

namespace {

struct SessionDeleter {
  void operator()(ssh_session s) const {
    if (ssh_is_connected(s) != 0) {
      ssh_disconnect(s);
    }
    ssh_free(s);
  }
};
struct EventDeleter {
  void operator()(ssh_event e) const { ssh_event_free(e); }
};
struct ChannelDeleter {
  void operator()(ssh_channel c) const { ssh_channel_free(c); }
};
struct KeyDeleter {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
struct CharDeleter {
  void operator()(char* p) const { ssh_string_free_char(p); }
};

using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using EventPtr = std::unique_ptr<ssh_event_struct, EventDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;
using CharPtr = std::unique_ptr<char, CharDeleter>;

int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* user) {
  static_cast<ChannelState*>(user)->take(std::string_view(static_cast<const char*>(data), len),
                                         is_stderr != 0);
  return static_cast<int>(len);
}
void on_eof(ssh_session, ssh_channel, void* user) {
  static_cast<ChannelState*>(user)->eof = true;
}
void on_close(ssh_session, ssh_channel, void* user) {
  static_cast<ChannelState*>(user)->closed = true;
}
void on_exit_status(ssh_session, ssh_channel, int status, void* user) {
  static_cast<ChannelState*>(user)->exit_status = status;
}

// Owns a channel and detaches its callbacks before freeing it, so that packets arriving
// after we are done can never reach state that no longer exists.
class Channel {
 public:
  Channel(ssh_session s, ChannelState& st) : m_channel(ssh_channel_new(s)), m_callbacks{} {
    m_callbacks.userdata = &st;
    m_callbacks.channel_data_function = on_data;
    m_callbacks.channel_eof_function = on_eof;
    m_callbacks.channel_close_function = on_close;
    m_callbacks.channel_exit_status_function = on_exit_status;
    ssh_callbacks_init(&m_callbacks);
    if (m_channel) {
      ssh_set_channel_callbacks(m_channel.get(), &m_callbacks);
    }
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    if (m_channel) {
      ssh_remove_channel_callbacks(m_channel.get(), &m_callbacks);
      if (ssh_channel_is_open(m_channel.get()) != 0) {
        ssh_channel_close(m_channel.get());
      }
    }
  }
  ssh_channel get() const { return m_channel.get(); }
  explicit operator bool() const { return m_channel != nullptr; }

 private:
  ChannelPtr m_channel;
  ssh_channel_callbacks_struct m_callbacks;
};

constexpr const char* kFastCiphers =
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,"
    "aes192-ctr,aes256-ctr";

bool cpu_has_aes() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes") != 0;
#elif defined(__aarch64__)
  return true;  // ARMv8 cores with crypto extensions run GCM fast; without, it is still fine
#else
  return false;
#endif
}

std::string describe_connect_error(const std::string& libssh_error) {
  return libssh_error.empty() ? std::string("unknown error") : libssh_error;
}

}  // namespace

std::vector<std::string> config_host_names(const std::optional<std::string>& config_file) {
  return sshcfg::host_names(ssh_config_text(config_file), read_text_file, expand_include);
}

struct Session::Impl {
  // The jump hosts this session runs over (ProxyJump), closed after the session itself.
  std::vector<std::unique_ptr<JumpRelay>> jumps;
  SessionPtr session;
  Clock::time_point last_heard = Clock::now();
  sys::Interrupts* interrupts = nullptr;
  bool interrupted = false;
  std::pair<sys::Interrupts*, bool*> interrupt_hook{nullptr, nullptr};

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    // ssh_event_free does not free what ssh_event_add_fd allocated.
    if (interrupts != nullptr && event) {
      ssh_event_remove_fd(event.get(), interrupts->fd());
    }
    // This session first, then its jump hosts from the last to the first: each says goodbye
    // over the hops before it.
    event.reset();
    session.reset();
    while (!jumps.empty()) {
      jumps.pop_back();
    }
  }
  KeepaliveSettings keepalive;
  EventPtr event;
  std::string endpoint;
  std::string alias;
  std::string user;  // the account logged in as
  Trace trace;

  void log(std::string_view what) const {
    if (trace) {
      trace(what);
    }
  }

  std::string error() const { return sshwords::describe(ssh_get_error(session.get())); }

  // Let libssh move packets for a while; throw when the deadline has passed or the
  // connection is gone.
  void pump(Deadline deadline, std::string_view doing) {
    auto now = Clock::now();
    if (now >= deadline) {
      throw Error(Exit::timeout, fmt::format("timed out {} on {}", doing, endpoint),
                  "the host or the network is slow or stuck; try again, or raise --timeout");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int ms = static_cast<int>(std::clamp<long long>(left, 1, 250));
    int rc = ssh_event_dopoll(event.get(), ms);
    if (rc == SSH_OK) {
      last_heard = Clock::now();  // something arrived (and was processed)
    }
    if (interrupted) {
      interrupted = false;
      throw Error(Exit::interrupted, fmt::format("interrupted while {}", doing));
    }
    if (rc == SSH_ERROR) {
      int status = ssh_get_status(session.get());
      if ((status & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0 || ssh_is_connected(session.get()) == 0) {
        throw Error(Exit::ssh, fmt::format("the SSH connection to {} was lost ({})", endpoint,
                                           describe_connect_error(error())));
      }
    }
  }

  // Call a non-blocking libssh function until it stops saying SSH_AGAIN.
  template <typename F>
  int until_done(F&& f, Deadline deadline, std::string_view doing) {
    while (true) {
      int rc = f();
      if (rc != SSH_AGAIN) {
        return rc;
      }
      pump(deadline, doing);
    }
  }

  void write_all(ssh_channel ch, std::string_view data, Deadline deadline) {
    while (!data.empty()) {
      int n = ssh_channel_write(ch, data.data(), static_cast<uint32_t>(data.size()));
      if (n == SSH_ERROR) {
        throw Error(Exit::ssh,
                    fmt::format("writing to a channel on {} failed: {}", endpoint, error()));
      }
      data.remove_prefix(static_cast<std::size_t>(n));
      if (!data.empty()) {
        pump(deadline, "sending data");
      }
    }
  }
};

namespace {

// known_hosts as OpenSSH reads it: every UserKnownHostsFile, then every GlobalKnownHostsFile,
// all at once (a key found in any is known; else a different key of the type anywhere means
// CHANGED), under HostKeyAlias when there is one (then without the port, as ssh does). Leaves
// the session pointing at the name and the first user file, where a new key is written.
// HostKeyGuard puts the real name and port back.
struct HostKeyGuard {
  ssh_session s;
  const sshcfg::Resolved& cfg;
  HostKeyGuard(ssh_session session, const sshcfg::Resolved& c) : s(session), cfg(c) {
    if (cfg.host_key_alias) {
      ssh_options_set(s, SSH_OPTIONS_HOST, cfg.host_key_alias->c_str());
      unsigned int p = 22;
      ssh_options_set(s, SSH_OPTIONS_PORT, &p);
    }
  }
  HostKeyGuard(const HostKeyGuard&) = delete;
  HostKeyGuard& operator=(const HostKeyGuard&) = delete;
  ~HostKeyGuard() {
    if (cfg.host_key_alias) {
      ssh_options_set(s, SSH_OPTIONS_HOST, cfg.hostname.c_str());
      unsigned int p = static_cast<unsigned int>(cfg.port);
      ssh_options_set(s, SSH_OPTIONS_PORT, &p);
    }
  }
};

int known_rank(ssh_known_hosts_e e) {
  switch (e) {
    case SSH_KNOWN_HOSTS_OK:
      return 4;
    case SSH_KNOWN_HOSTS_CHANGED:
      return 3;
    case SSH_KNOWN_HOSTS_OTHER:
      return 2;
    case SSH_KNOWN_HOSTS_ERROR:
      return 1;
    default:
      return 0;
  }
}

ssh_known_hosts_e check_known_hosts(ssh_session s, const sshcfg::Resolved& cfg, std::string* file) {
  std::vector<std::string> files = cfg.user_known_hosts_files;
  files.insert(files.end(), cfg.global_known_hosts_files.begin(),
               cfg.global_known_hosts_files.end());
  const std::string first_user = cfg.user_known_hosts_files.empty()
                                     ? passwd_home() + "/.ssh/known_hosts"
                                     : cfg.user_known_hosts_files.front();
  ssh_known_hosts_e best = SSH_KNOWN_HOSTS_NOT_FOUND;
  *file = first_user;
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  for (const auto& f : files) {
    if (::access(f.c_str(), R_OK) != 0) {
      continue;
    }
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, f.c_str());
    const auto verdict = ssh_session_is_known_server(s);
    if (known_rank(verdict) > known_rank(best)) {
      best = verdict;
      *file = f;
    }
    if (best == SSH_KNOWN_HOSTS_OK) {
      break;
    }
  }
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, first_user.c_str());
  return best;
}

void verify_host_key(ssh_session s, const std::string& shown_host, sys::Terminal& terminal,
                     sshcfg::HostKeyPolicy policy, const ConnectOptions& options,
                     const sshcfg::Resolved& cfg) {
  HostKeyGuard guard(s, cfg);
  const bool accept_changed = options.accept_changed_host_key;
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(s, &raw) != SSH_OK) {
    throw Error(Exit::ssh, fmt::format("cannot read the host key of {}: {}", shown_host,
                                       sshwords::describe(ssh_get_error(s))));
  }
  KeyPtr key(raw);
  unsigned char* hash = nullptr;
  size_t hash_len = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len) != 0) {
    throw Error(Exit::ssh, fmt::format("cannot hash the host key of {}", shown_host));
  }
  CharPtr fingerprint(ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len));
  ssh_clean_pubkey_hash(&hash);
  std::string fp = fingerprint ? fingerprint.get() : "?";
  std::string type = ssh_key_type_to_char(ssh_key_type(key.get()));
  std::string known_hosts;
  const auto known = check_known_hosts(s, cfg, &known_hosts);
  if (options.on_host_key && known != SSH_KNOWN_HOSTS_ERROR) {
    using V = HostKeyInfo::Verdict;
    V verdict = known == SSH_KNOWN_HOSTS_OK        ? V::known
                : known == SSH_KNOWN_HOSTS_CHANGED ? V::changed
                : known == SSH_KNOWN_HOSTS_OTHER   ? V::other_type
                                                   : V::unknown;
    options.on_host_key(HostKeyInfo{verdict, type, fp, known_hosts});
  }
  switch (known) {
    case SSH_KNOWN_HOSTS_OK:
      return;
    case SSH_KNOWN_HOSTS_CHANGED:
      if (accept_changed) {
        terminal.say(
            fmt::format("WARNING: the host key of {} has changed (now {} {}); "
                        "connecting anyway for this run, as asked\n",
                        shown_host, type, fp));
        return;
      }
      throw Error(Exit::ssh,
                  fmt::format("the host key of {} has CHANGED (now {} {}); refusing to connect: "
                              "someone may be intercepting the connection",
                              shown_host, type, fp),
                  fmt::format("if the host was really reinstalled, remove its old key from {} "
                              "(ssh-keygen -R HOST -f FILE) and connect again",
                              known_hosts.empty() ? "known_hosts" : known_hosts));
    case SSH_KNOWN_HOSTS_OTHER:
      throw Error(Exit::ssh,
                  fmt::format("the host key of {} is of another type than the one known (now "
                              "{} {}); refusing to connect",
                              shown_host, type, fp),
                  fmt::format("if the host really changed its key, remove the old one from {} "
                              "(ssh-keygen -R HOST -f FILE)",
                              known_hosts.empty() ? "known_hosts" : known_hosts));
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND: {
      if (policy == sshcfg::HostKeyPolicy::yes) {
        throw Error(Exit::ssh,
                    fmt::format("the host key of {} is not known ({} {}) and your ssh config "
                                "says StrictHostKeyChecking yes",
                                shown_host, type, fp),
                    "check the fingerprint and add the key to known_hosts (e.g. connect once "
                    "with ssh -o StrictHostKeyChecking=ask)");
      }
      if (options.known_hosts_read_only) {
        throw Error(Exit::ssh,
                    fmt::format("the host key of {} is not known ({} {})", shown_host, type, fp),
                    "check the fingerprint, then accept the key once with `ssh HOST` (with -F "
                    "FILE if you use one), or run jl start from a terminal");
      }
      if (policy == sshcfg::HostKeyPolicy::accept_new) {
        if (ssh_session_update_known_hosts(s) != SSH_OK) {
          throw Error(Exit::ssh, fmt::format("cannot add the host key to {}: {}",
                                             known_hosts.empty() ? "known_hosts" : known_hosts,
                                             sshwords::describe(ssh_get_error(s))));
        }
        // Like ssh, say so even without a terminal: it changed a file of the user's.
        fmt::print(stderr, "jl: warning: permanently added {} ({} {}) to {}\n", shown_host, type,
                   fp, known_hosts.empty() ? "known_hosts" : known_hosts);
        return;
      }
      if (!terminal.interactive()) {
        throw Error(Exit::ssh,
                    fmt::format("the host key of {} is not known ({} {}), and there is no "
                                "terminal to ask whether to trust it",
                                shown_host, type, fp),
                    "check the fingerprint, then accept the key once with `ssh HOST` "
                    "(with -F FILE if you use one), or run jl from a terminal");
      }
      terminal.say(
          fmt::format("The authenticity of host '{}' can't be established.\n{} key "
                      "fingerprint is {}.\n",
                      shown_host, type, fp));
      while (true) {
        auto answer = terminal.ask(
            "Are you sure you want to continue connecting (yes/no/[fingerprint])? ", true);
        if (!answer || *answer == "no") {
          throw Error(Exit::ssh,
                      fmt::format("host key of {} not accepted; nothing was written", shown_host));
        }
        if (*answer == "yes" || *answer == fp) {
          break;
        }
        terminal.say("Please type 'yes', 'no' or the fingerprint: ");
      }
      if (ssh_session_update_known_hosts(s) != SSH_OK) {
        throw Error(Exit::ssh, fmt::format("cannot add the host key to {}: {}",
                                           known_hosts.empty() ? "known_hosts" : known_hosts,
                                           sshwords::describe(ssh_get_error(s))));
      }
      terminal.say(fmt::format("Added {} to the list of known hosts.\n", shown_host));
      return;
    }
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  throw Error(Exit::ssh, fmt::format("cannot check the host key of {}: {}", shown_host,
                                     sshwords::describe(ssh_get_error(s))));
}

std::string methods_text(int methods) {
  std::vector<std::string> names;
  if ((methods & SSH_AUTH_METHOD_PUBLICKEY) != 0) {
    names.emplace_back("publickey");
  }
  if ((methods & SSH_AUTH_METHOD_INTERACTIVE) != 0) {
    names.emplace_back("keyboard-interactive");
  }
  if ((methods & SSH_AUTH_METHOD_PASSWORD) != 0) {
    names.emplace_back("password");
  }
  if ((methods & SSH_AUTH_METHOD_HOSTBASED) != 0) {
    names.emplace_back("hostbased");
  }
  if ((methods & SSH_AUTH_METHOD_GSSAPI_MIC) != 0) {
    names.emplace_back("gssapi-with-mic");
  }
  return names.empty() ? std::string("none") : text::join(names, ", ");
}

enum class Tried { success, partial, denied };

// Public keys from files, as ssh offers them: each IdentityFile in order (with its certificate:
// CertificateFile, or KEY-cert.pub next to KEY), asking the server first with the public half
// (KEY.pub, else derived from the key) so that a passphrase is asked only for a key the server
// would take.
// A key as .pub files write it (base64 of its blob); empty when libssh cannot export it.
std::string key_base64(ssh_key key) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK || b64 == nullptr) {
    return {};
  }
  std::string out(b64);
  ssh_string_free_char(b64);
  return out;
}

// The certificate files that go with the identity file at `path`: every CertificateFile,
// then KEY-cert.pub.
std::vector<std::string> certificate_paths(const Resolution& res, const std::string& path) {
  std::vector<std::string> certs;
  for (const auto& c : res.settings.certificate_files) {
    certs.push_back(expand_path(res, c));
  }
  certs.push_back(path + "-cert.pub");
  return certs;
}

// The identity files' public keys and certificates (base64), as far as they can be read
// without a passphrase: what IdentitiesOnly lets the agent offer.
std::vector<std::string> identity_keys(const Resolution& res) {
  std::vector<std::string> out;
  for (const auto& file : res.settings.identity_files) {
    const std::string path = expand_path(res, file);
    std::vector<std::string> candidates = {path + ".pub"};
    for (auto& c : certificate_paths(res, path)) {
      candidates.push_back(std::move(c));
    }
    for (const auto& c : candidates) {
      ssh_key raw = nullptr;
      if (::access(c.c_str(), R_OK) != 0 ||
          (ssh_pki_import_pubkey_file(c.c_str(), &raw) != SSH_OK &&
           ssh_pki_import_cert_file(c.c_str(), &raw) != SSH_OK)) {
        continue;
      }
      KeyPtr key(raw);
      if (auto b64 = key_base64(key.get()); !b64.empty()) {
        out.push_back(std::move(b64));
      }
    }
  }
  return out;
}

// The agent to use: IdentityAgent (a path, SSH_AUTH_SOCK, or none), else $SSH_AUTH_SOCK.
std::string agent_socket(const Resolution& res) {
  const auto& ia = res.settings.identity_agent;
  if (ia && *ia == "none") {
    return {};
  }
  if (ia && *ia != "SSH_AUTH_SOCK") {
    return expand_path(res, *ia);
  }
  const char* sock = std::getenv("SSH_AUTH_SOCK");
  return sock != nullptr ? std::string(sock) : std::string();
}

Tried publickey_files(ssh_session s, const Resolution& res, PromptContext& prompt,
                      const Trace& trace, const std::vector<std::string>& offered_by_agent) {
  const auto from_agent = [&](ssh_key key) {
    const std::string b64 = key_base64(key);
    return std::find(offered_by_agent.begin(), offered_by_agent.end(), b64) !=
           offered_by_agent.end();
  };
  for (const auto& file : res.settings.identity_files) {
    const std::string path = expand_path(res, file);
    if (::access(path.c_str(), R_OK) != 0) {
      continue;
    }
    ssh_key raw = nullptr;
    KeyPtr priv;
    KeyPtr pub;
    if (ssh_pki_import_pubkey_file((path + ".pub").c_str(), &raw) == SSH_OK) {
      pub.reset(raw);
    } else if (ssh_pki_import_privkey_file(path.c_str(), nullptr, passphrase_callback, &prompt,
                                           &raw) == SSH_OK) {
      priv.reset(raw);
      ssh_key derived = nullptr;
      if (ssh_pki_export_privkey_to_pubkey(priv.get(), &derived) == SSH_OK) {
        pub.reset(derived);
      }
    }
    if (!pub) {
      if (trace) {
        trace(fmt::format("identity {}: cannot read it (or no passphrase was given)", path));
      }
      continue;
    }
    // Its certificate first, then the plain key, as ssh does.
    std::vector<KeyPtr> offers;
    for (const auto& c : certificate_paths(res, path)) {
      ssh_key cert = nullptr;
      if (::access(c.c_str(), R_OK) == 0 && ssh_pki_import_cert_file(c.c_str(), &cert) == SSH_OK) {
        KeyPtr owned(cert);
        const auto cert_blob = agent::unbase64(key_base64(owned.get()));
        const auto key_blob = agent::unbase64(key_base64(pub.get()));
        if (cert_blob && key_blob && agent::certifies(*cert_blob, *key_blob)) {
          offers.push_back(std::move(owned));
        } else if (trace) {
          trace(fmt::format("certificate {} is not for {}", c, path));
        }
      }
    }
    std::vector<ssh_key> order;
    for (auto& o : offers) {
      order.push_back(o.get());
    }
    order.push_back(pub.get());
    for (ssh_key offer : order) {
      // The agent offered it already: the server's answer would be the same.
      if (from_agent(offer)) {
        if (trace) {
          trace(fmt::format("identity {}: offered from the agent already", path));
        }
        continue;
      }
      const bool is_cert = offer != pub.get();
      if (trace) {
        trace(fmt::format("offering {}{}", path, is_cert ? " (certificate)" : ""));
      }
      int rc = ssh_userauth_try_publickey(s, nullptr, offer);
      if (rc == SSH_AUTH_ERROR) {
        throw Error(Exit::ssh, fmt::format("publickey authentication failed: {}",
                                           sshwords::describe(ssh_get_error(s))));
      }
      if (rc != SSH_AUTH_SUCCESS) {
        continue;
      }
      if (!priv) {
        if (ssh_pki_import_privkey_file(path.c_str(), nullptr, passphrase_callback, &prompt,
                                        &raw) != SSH_OK) {
          if (trace) {
            trace(
                fmt::format("identity {}: the server would take it, but it cannot be "
                            "unlocked (no passphrase given)",
                            path));
          }
          break;
        }
        priv.reset(raw);
      }
      KeyPtr signer;
      ssh_key use = priv.get();
      if (is_cert) {
        // A copy of the key already unlocked (in memory, so no second passphrase prompt),
        // carrying the certificate; the plain key stays plain for the offer after it.
        ssh_key copy = nullptr;
        char* pem = nullptr;
        const bool copied =
            ssh_pki_export_privkey_base64(priv.get(), nullptr, nullptr, nullptr, &pem) == SSH_OK &&
            ssh_pki_import_privkey_base64(pem, nullptr, nullptr, nullptr, &copy) == SSH_OK;
        if (pem != nullptr) {
          std::memset(pem, 0, std::strlen(pem));
          ssh_string_free_char(pem);
        }
        signer.reset(copy);
        if (!copied || ssh_pki_copy_cert_to_privkey(offer, signer.get()) != SSH_OK) {
          continue;
        }
        use = signer.get();
      }
      rc = ssh_userauth_publickey(s, nullptr, use);
      if (rc == SSH_AUTH_SUCCESS) {
        return Tried::success;
      }
      if (rc == SSH_AUTH_PARTIAL) {
        return Tried::partial;
      }
      if (rc == SSH_AUTH_ERROR) {
        throw Error(Exit::ssh, fmt::format("publickey authentication failed: {}",
                                           sshwords::describe(ssh_get_error(s))));
      }
    }
  }
  return Tried::denied;
}

void authenticate(ssh_session s, const std::string& shown_host, sys::Terminal& terminal,
                  const Trace& trace, const Resolution& res, PromptContext& prompt) {
  const auto& cfg = res.settings;
  // "none" first: libssh 0.10 otherwise picks RSA signature algorithms before it knows the
  // server's list.
  int rc = ssh_userauth_none(s, nullptr);
  if (rc == SSH_AUTH_SUCCESS) {
    return;
  }
  if (rc == SSH_AUTH_ERROR) {
    throw Error(Exit::ssh, fmt::format("authentication with {} failed: {}", shown_host,
                                       sshwords::describe(ssh_get_error(s))));
  }
  std::vector<std::string> tried;
  // PreferredAuthentications, else ssh's order; each method only if the config allows it.
  std::vector<std::string> order = cfg.preferred_authentications;
  if (order.empty()) {
    order = {"publickey", "keyboard-interactive", "password"};
  }
  for (const auto& method : order) {
    const int methods = ssh_userauth_list(s, nullptr);
    if (method == "publickey" && cfg.pubkey_authentication &&
        (methods & SSH_AUTH_METHOD_PUBLICKEY) != 0) {
      tried.emplace_back("publickey");
      // As ssh: the agent's keys first, in the agent's order (with IdentitiesOnly only those
      // an IdentityFile names), through a filter that hides the others from libssh; then the
      // identity files the agent did not offer.
      std::vector<std::string> offered;
      if (const std::string sock = agent_socket(res); !sock.empty()) {
        AgentFilter filter(sock, identity_keys(res), cfg.identities_only);
        if (!filter.valid()) {
          if (trace) {
            trace(fmt::format("agent {}: cannot connect ({})", sock, filter.error()));
          }
        } else if (ssh_set_agent_socket(s, filter.release_client_fd()) == SSH_OK) {
          rc = ssh_userauth_agent(s, nullptr);
          offered = filter.shown();
          if (trace) {
            trace(fmt::format("agent {}: offered {} key(s){}", sock, offered.size(),
                              filter.hidden() > 0
                                  ? fmt::format(", hid {} that no IdentityFile names "
                                                "(IdentitiesOnly)",
                                                filter.hidden())
                                  : std::string()));
          }
          if (rc == SSH_AUTH_SUCCESS) {
            return;
          }
          if (rc == SSH_AUTH_PARTIAL) {
            continue;
          }
          if (rc == SSH_AUTH_ERROR && ssh_is_connected(s) == 0) {
            throw Error(Exit::ssh, fmt::format("publickey authentication with {} failed: {}",
                                               shown_host, sshwords::describe(ssh_get_error(s))));
          }
        }
      }
      const Tried t = publickey_files(s, res, prompt, trace, offered);
      if (t == Tried::success) {
        return;
      }
    } else if (method == "keyboard-interactive" && cfg.kbd_interactive_authentication &&
               (methods & SSH_AUTH_METHOD_INTERACTIVE) != 0 && terminal.interactive()) {
      tried.emplace_back("keyboard-interactive");
      if (keyboard_interactive(s, terminal)) {
        return;
      }
    } else if (method == "password" && cfg.password_authentication &&
               (methods & SSH_AUTH_METHOD_PASSWORD) != 0 && terminal.interactive()) {
      tried.emplace_back("password");
      for (int attempt = 0; attempt < cfg.number_of_password_prompts; ++attempt) {
        auto password = terminal.ask(fmt::format("{}'s password: ", shown_host), false);
        if (!password) {
          break;
        }
        rc = ssh_userauth_password(s, nullptr, password->c_str());
        std::fill(password->begin(), password->end(), '\0');
        if (rc == SSH_AUTH_SUCCESS) {
          return;
        }
        if (rc == SSH_AUTH_ERROR || rc == SSH_AUTH_PARTIAL) {
          break;
        }
        terminal.say("Permission denied, please try again.\n");
      }
    }
  }
  if (ssh_is_connected(s) == 0) {
    // sshd hangs up after MaxAuthTries failed offers.
    throw Error(
        Exit::ssh,
        fmt::format("authentication to {} failed: the server closed the connection "
                    "after too many failed tries (tried: {})",
                    shown_host, tried.empty() ? std::string("nothing") : text::join(tried, ", ")),
        "the server allows few tries (MaxAuthTries) and other keys were offered first: "
        "name the right key with IdentityFile and set IdentitiesOnly yes in your ssh "
        "config for this host");
  }
  const int methods = ssh_userauth_list(s, nullptr);
  const int typed = SSH_AUTH_METHOD_INTERACTIVE | SSH_AUTH_METHOD_PASSWORD;
  if (!terminal.interactive() && (methods & typed) != 0 &&
      (methods & SSH_AUTH_METHOD_PUBLICKEY) == 0) {
    // Only what a person types will do (a password, a one-time code from PAM).
    throw Error(
        Exit::ssh,
        fmt::format("authentication to {} needs {} typed at a terminal (a password or a "
                    "one-time code, such as a second factor), and jl has none to ask on",
                    shown_host,
                    (methods & SSH_AUTH_METHOD_INTERACTIVE) != 0 ? "answers (keyboard-interactive)"
                                                                 : "a password"),
        "run the command in a terminal: jl asks there; a tunnel opened that way keeps "
        "its login, and `jl open` logs in again when it is lost");
  }
  std::string hint =
      terminal.interactive()
          ? "check the user name and the key (IdentityFile) in your ssh config, or load the key "
            "into ssh-agent"
          : "load your key into ssh-agent or name it with IdentityFile in your ssh config; "
            "without a terminal jl cannot ask for passwords or passphrases";
  throw Error(
      Exit::ssh,
      fmt::format("authentication to {} failed (tried: {}; the server accepts: {})", shown_host,
                  tried.empty() ? std::string("nothing") : text::join(tried, ", "),
                  methods_text(methods)),
      hint);
}

}  // namespace

struct Session::Redo {
  ConnectOptions options;
  sys::Terminal* terminal = nullptr;
  Trace trace;
  sys::Interrupts* interrupts = nullptr;
};

Session::Session(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Session Session::connect_shared(const ConnectOptions& options, const std::string& socket,
                                sys::Terminal& terminal, Trace trace) {
  using namespace std::chrono_literals;
  std::string why;
  // The master answers at once unless it is stopped or reconnecting: then jl connects itself.
  if (auto link = MuxLink::attach(socket, 500ms, &why)) {
    if (trace) {
      trace(fmt::format("sharing the SSH connection of jl's tunnel (pid {}) to {}", link->pid(),
                        link->endpoint()));
    }
    Session shared(nullptr);
    shared.m_mux = std::move(link);
    shared.m_redo = std::make_unique<Redo>(Redo{options, &terminal, trace, nullptr});
    // The hooks report on the connect call that is returning now (they may point into its
    // caller's frame): a later connection of its own makes no report.
    shared.m_redo->options.on_stage = {};
    shared.m_redo->options.on_host_key = {};
    return shared;
  }
  if (trace) {
    trace(fmt::format("no shared connection ({})", why));
  }
  return connect(options, terminal, std::move(trace));
}

long long Session::master_pid() const {
  return m_impl ? 0 : m_mux->pid();
}

void Session::own_connection() {
  if (m_impl) {
    return;
  }
  if (m_redo->trace) {
    m_redo->trace(
        fmt::format("the shared connection (pid {}) is gone or busy; connecting", m_mux->pid()));
  }
  Session fresh = connect(m_redo->options, *m_redo->terminal, m_redo->trace);
  m_impl = std::move(fresh.m_impl);
  if (m_redo->interrupts != nullptr) {
    watch_interrupts(*m_redo->interrupts);
  }
}

std::optional<long long> Session::hand_over(const mux::ForwardSpec& spec, int listener,
                                            std::string* why) {
  if (m_impl || !m_mux) {
    if (why != nullptr) {
      *why = "no shared connection";
    }
    return std::nullopt;
  }
  return m_mux->forward(spec, listener, std::chrono::seconds(5), why);
}

KeepaliveSettings Session::keepalive() const {
  return m_impl ? m_impl->keepalive : KeepaliveSettings{};
}

void Session::detect_dead_peer() {
  if (!m_impl) {
    return;  // the master watches its own connection, and drops our channels when it dies
  }
  const auto ka = keepalive();
  sys::detect_dead_peer(fd(), ka.interval_s, ka.count_max);
}

Clock::time_point Session::last_heard() const {
  return m_impl ? m_impl->last_heard : m_master_heard;
}

void Session::send_keepalive() {
  if (m_impl) {
    ssh_send_keepalive(m_impl->session.get());
  } else if (m_mux->ping(std::chrono::seconds(2))) {
    m_master_heard = Clock::now();  // a stopped master is as dead as a silent server
  }
}

namespace {
int on_interrupt(socket_t /*fd*/, int /*revents*/, void* user) {
  auto* flag = static_cast<std::pair<sys::Interrupts*, bool*>*>(user);
  if (flag->first->take()) {
    *flag->second = true;
  }
  return 0;
}
}  // namespace

sys::Interrupts* Session::watched_interrupts() const {
  if (m_redo && m_redo->interrupts != nullptr) {
    return m_redo->interrupts;
  }
  return m_impl ? m_impl->interrupts : nullptr;
}

void Session::unwatch_interrupts() {
  if (m_redo) {
    m_redo->interrupts = nullptr;
  }
  if (m_mux) {
    m_mux->set_interrupts(nullptr);
  }
  if (m_impl && m_impl->interrupts != nullptr) {
    ssh_event_remove_fd(m_impl->event.get(), m_impl->interrupts->fd());
    m_impl->interrupts = nullptr;
  }
}

void Session::watch_interrupts(sys::Interrupts& interrupts) {
  if (m_redo) {
    m_redo->interrupts = &interrupts;
  }
  if (m_mux) {
    m_mux->set_interrupts(&interrupts);
  }
  if (!m_impl) {
    return;
  }
  m_impl->interrupts = &interrupts;
  m_impl->interrupt_hook = {&interrupts, &m_impl->interrupted};
  ssh_event_add_fd(m_impl->event.get(), interrupts.fd(), POLLIN, on_interrupt,
                   &m_impl->interrupt_hook);
}

void Session::pause_jumps() {
  if (!m_impl) {
    return;
  }
  for (auto it = m_impl->jumps.rbegin(); it != m_impl->jumps.rend(); ++it) {
    (*it)->pause();
  }
}

void Session::resume_jumps() {
  if (!m_impl) {
    return;
  }
  for (auto& j : m_impl->jumps) {
    j->resume();
  }
}

const std::string& Session::endpoint() const {
  return m_impl ? m_impl->endpoint : m_mux->endpoint();
}

ssh_session Session::native() const {
  return m_impl->session.get();
}

int Session::fd() const {
  return ssh_get_fd(m_impl->session.get());
}

bool Session::process_io(int max_rounds) {
  // libssh reads at most 4 KiB from the socket per round: keep going while there is more.
  for (int i = 0; i < max_rounds; ++i) {
    int rc = ssh_event_dopoll(m_impl->event.get(), 0);
    if (rc == SSH_ERROR) {
      int status = ssh_get_status(m_impl->session.get());
      if ((status & (SSH_CLOSED | SSH_CLOSED_ERROR)) != 0 ||
          ssh_is_connected(m_impl->session.get()) == 0) {
        return false;
      }
      break;
    }
    if (rc != SSH_OK) {
      break;  // nothing more to read or write right now
    }
  }
  return ssh_is_connected(m_impl->session.get()) != 0;
}

void Session::disconnect() {
  if (m_impl && m_impl->session && ssh_is_connected(m_impl->session.get()) != 0) {
    ssh_disconnect(m_impl->session.get());
  }
}

namespace {

// Set an algorithm list the ssh config names; libssh keeps the ones it knows.
void set_algorithms(ssh_session s, const std::string& list,
                    std::initializer_list<ssh_options_e> what, const char* keyword) {
  if (list.empty()) {
    return;
  }
  for (auto w : what) {
    if (ssh_options_set(s, w, list.c_str()) != SSH_OK) {
      throw Error(
          Exit::usage,
          fmt::format("none of the {} your ssh config names is one jl supports: {}", keyword, list),
          fmt::format("add an algorithm libssh knows to {} (ssh -Q {} lists OpenSSH's)", keyword,
                      text::lower(keyword) == "macs" ? "mac" : "cipher"));
    }
  }
}

// libssh expands % escapes in a whole ProxyCommand: make every '%' literal.
std::string escape_percent(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '%') {
      out += '%';
    }
  }
  return out;
}

}  // namespace

Session Session::connect(const ConnectOptions& options, sys::Terminal& user_terminal, Trace trace) {
  return connect_via(options, user_terminal, std::move(trace), nullptr, {});
}

namespace {

// A ProxyJump hop as written ("host", "user@host:port", "ssh://user@host:port").
std::string hop_spec(std::string hop) {
  if (hop.rfind("ssh://", 0) == 0) {
    hop.erase(0, 6);
  }
  return hop;
}

// The ssh config's settings that libssh takes as options: host, user, port, algorithms, agent.
void apply_options(ssh_session s, const Resolution& res) {
  const sshcfg::Resolved& cfg = res.settings;
  if (ssh_options_set(s, SSH_OPTIONS_HOST, cfg.hostname.c_str()) != SSH_OK) {
    throw Error(Exit::usage, fmt::format("libssh cannot use the host name '{}'", cfg.hostname),
                "libssh accepts only letters, digits, '-' and '.' in host names; check HostName");
  }
  ssh_options_set(s, SSH_OPTIONS_USER, cfg.user.c_str());
  unsigned int port_option = static_cast<unsigned int>(cfg.port);
  ssh_options_set(s, SSH_OPTIONS_PORT, &port_option);
  // On CPUs with AES instructions AES-GCM is much faster than the default chacha20-poly1305;
  // a Ciphers line in the config still wins.
  if (cfg.ciphers.empty() && cpu_has_aes()) {
    ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, kFastCiphers);
    ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, kFastCiphers);
  }
  set_algorithms(s, cfg.ciphers, {SSH_OPTIONS_CIPHERS_C_S, SSH_OPTIONS_CIPHERS_S_C}, "Ciphers");
  set_algorithms(s, cfg.kex_algorithms, {SSH_OPTIONS_KEY_EXCHANGE}, "KexAlgorithms");
  set_algorithms(s, cfg.host_key_algorithms, {SSH_OPTIONS_HOSTKEYS}, "HostKeyAlgorithms");
  set_algorithms(s, cfg.pubkey_accepted_algorithms, {SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES},
                 "PubkeyAcceptedAlgorithms");
  set_algorithms(s, cfg.macs, {SSH_OPTIONS_HMAC_C_S, SSH_OPTIONS_HMAC_S_C}, "MACs");
  if (cfg.identity_agent) {
    if (*cfg.identity_agent == "none") {
      ssh_options_set(s, SSH_OPTIONS_IDENTITY_AGENT, "");
    } else if (*cfg.identity_agent != "SSH_AUTH_SOCK") {
      const std::string agent = expand_path(res, *cfg.identity_agent);
      ssh_options_set(s, SSH_OPTIONS_IDENTITY_AGENT, agent.c_str());
    }
  }
}

// ConnectTimeout (bounded by jl's own timeout) and the options jl always sets; returns the
// connect timeout in force.
std::chrono::seconds apply_timeouts(ssh_session s, const sshcfg::Resolved& cfg,
                                    std::chrono::seconds limit) {
  const auto connect_timeout =
      cfg.connect_timeout_s && *cfg.connect_timeout_s > 0
          ? std::chrono::seconds(std::min<long long>(*cfg.connect_timeout_s, limit.count()))
          : limit;
  long timeout = static_cast<long>(connect_timeout.count());
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
  int one = 1;
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &one);
  // jl applies its own host-key policy; make libssh report unknown hosts as unknown.
  ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &one);
  int verbosity = SSH_LOG_NOLOG;
  ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  return connect_timeout;
}

// jl's own TCP connection: every address, the family the config asks for, ConnectionAttempts.
// One TCP connection within `timeout`; with `fresh_syns`, a silent one is started again after
// 1 s, then every 2 s, until the timeout (see ConnectOptions::fresh_syns).
sys::TcpConnect connect_once(const std::string& hostname, int port, int family,
                             std::chrono::milliseconds timeout, bool fresh_syns) {
  if (!fresh_syns) {
    return sys::connect_tcp(hostname, port, family, timeout);
  }
  const auto until = Clock::now() + timeout;
  sys::TcpConnect tcp;
  // 1 s, then 2 s each: room for a round trip of up to 2 s, and a fresh SYN at least that often.
  for (auto step = std::chrono::milliseconds(1000);; step = std::chrono::milliseconds(2000)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    tcp = sys::connect_tcp(hostname, port, family, std::min(step, left));
    if (tcp.failure != sys::TcpConnect::Failure::timeout || step >= left) {
      return tcp;
    }
  }
}

sys::Fd connect_direct(const sshcfg::Resolved& cfg, const std::string& endpoint,
                       std::chrono::seconds connect_timeout, Clock::time_point started,
                       bool fresh_syns, const std::function<void(std::string_view)>& log) {
  const std::string& hostname = cfg.hostname;
  const int family = cfg.address_family == "inet" ? 4 : cfg.address_family == "inet6" ? 6 : 0;
  sys::TcpConnect tcp;
  for (int attempt = 1; attempt <= std::max(1, cfg.connection_attempts); ++attempt) {
    if (attempt > 1) {
      log(fmt::format("attempt {} of {} ({})", attempt, cfg.connection_attempts, tcp.error));
      ::sleep(1);  // as ssh waits between ConnectionAttempts
    }
    tcp = connect_once(hostname, cfg.port, family,
                       std::chrono::duration_cast<std::chrono::milliseconds>(connect_timeout),
                       fresh_syns);
    if (tcp.fd.valid() || tcp.failure == sys::TcpConnect::Failure::resolve) {
      break;
    }
  }
  using F = sys::TcpConnect::Failure;
  switch (tcp.failure) {
    case F::none:
      break;
    case F::resolve:
      throw Error(Exit::ssh, fmt::format("cannot resolve host '{}': {}", hostname, tcp.error),
                  "check the name, or define it as a Host alias in your ssh config");
    case F::refused:
      throw Error(Exit::ssh, fmt::format("connection to {} refused", endpoint),
                  "is sshd running there, and is the port right?");
    case F::timeout:
      throw Error(
          Exit::timeout,
          fmt::format(
              "connecting to {} timed out after {} s", endpoint,
              std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count()),
          "check that the host is up and that SSH is reachable on that port");
    case F::other:
      throw Error(Exit::ssh,
                  fmt::format("cannot connect to {} ({}): {}", endpoint, tcp.address, tcp.error),
                  "check the network path to the host");
  }
  return std::move(tcp.fd);
}

// ssh_connect failed: libssh says what went wrong only in text; classify by its text and
// say it in jl's words. `jump_host` names the jump host the connection went through, if any.
Error connect_error(const std::string& raw, const sshcfg::Resolved& cfg,
                    const std::string& endpoint, Clock::time_point started,
                    const std::optional<std::string>& jump_host, bool proxied) {
  const std::string& hostname = cfg.hostname;
  const std::string why = sshwords::describe(raw);
  if (raw.find("resolve") != std::string::npos || raw.find("getaddrinfo") != std::string::npos) {
    return Error(Exit::ssh, fmt::format("cannot resolve host '{}': {}", hostname, why),
                 "check the name, or define it as a Host alias in your ssh config");
  }
  if (raw.find("refused") != std::string::npos) {
    return Error(Exit::ssh, fmt::format("connection to {} refused", endpoint),
                 "is sshd running there, and is the port right?");
  }
  if (raw.find("imeout") != std::string::npos || raw.find("timed out") != std::string::npos) {
    return Error(
        Exit::timeout,
        fmt::format(
            "connecting to {} timed out after {} s ({})", endpoint,
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count(), why),
        "check that the host is up and that SSH is reachable on that port");
  }
  if (jump_host) {
    return Error(
        Exit::ssh,
        fmt::format("cannot connect to {} through the jump host {}: {}", endpoint, *jump_host, why),
        "the jump host reached the port, but no SSH server answered there: check "
        "HostName and Port for this host in your ssh config");
  }
  if (proxied) {
    return Error(Exit::ssh,
                 fmt::format("cannot connect to {} through its ProxyCommand: {}", endpoint, why),
                 "check the jump with `ssh -v HOST true` (with -F FILE if you use one): the "
                 "jump host's login or its path to the host fails");
  }
  return Error(Exit::ssh, fmt::format("cannot connect to {}: {}", endpoint, why),
               "is it an SSH server on that port?");
}

}  // namespace

// ProxyJump in process: a session to each hop in turn, each over a channel of the one before
// it; the first hop as its own config says (its own ProxyJump included). Returns the transport
// to the host; the relays live in `impl`.
sys::Fd Session::open_jump_chain(Impl& impl, const ConnectOptions& options, const Resolution& res,
                                 sys::Terminal& user_terminal) {
  const sshcfg::Resolved& cfg = res.settings;
  if (options.jump_depth >= 8) {
    throw Error(Exit::usage,
                fmt::format("the ProxyJump chain to {} nests deeper than 8 hosts", options.host),
                "a ProxyJump in your ssh config leads back to itself; check the jump hosts' "
                "entries");
  }
  const auto chain_started = Clock::now();
  ConnectOptions hop = options;
  hop.on_stage = nullptr;
  hop.on_host_key = nullptr;
  hop.jump_depth = options.jump_depth + 1;
  const auto hop_trace = [t = impl.trace](std::string_view what) {
    if (t) {
      t(what);
    }
  };
  const auto& hops = cfg.proxy_jump;
  sys::Fd next;
  std::optional<Session> prev;
  for (std::size_t i = 0; i < hops.size(); ++i) {
    std::string next_host = cfg.hostname;
    int next_port = cfg.port;
    hop.host = hop_spec(hops[i]);
    try {
      prev = i == 0 ? Session::connect(hop, user_terminal, hop_trace)
                    : connect_via(hop, user_terminal, hop_trace, &next, hops[i - 1]);
    } catch (const Error& e) {
      throw Error(
          e.code(),
          fmt::format("cannot reach {} through ProxyJump {}: {}", options.host, hops[i], e.what()),
          e.hint(), e.detail());
    }
    if (i + 1 < hops.size()) {
      const Resolution r =
          resolve(hop_spec(hops[i + 1]), options.config_file, options.ssh_client,
                  std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout));
      next_host = r.settings.hostname;
      next_port = r.settings.port;
    }
    impl.jumps.push_back(JumpRelay::start(std::move(*prev), hops[i], next_host, next_port,
                                          deadline_in(options.timeout), hop_trace));
    prev.reset();
    next = impl.jumps.back()->take_transport();
  }
  impl.log(fmt::format(
      "{} jump host(s) in {} ms", hops.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - chain_started).count()));
  return next;
}

Session Session::connect_via(const ConnectOptions& options, sys::Terminal& user_terminal,
                             Trace trace, sys::Fd* transport, const std::string& via) {
  auto stage = [&](ConnectStage st) {
    if (options.on_stage) {
      options.on_stage(st);
    }
  };
  stage(ConnectStage::config);
  auto impl = std::make_unique<Impl>();
  impl->trace = std::move(trace);
  impl->alias = options.host;
  const Resolution res =
      resolve(options.host, options.config_file, options.ssh_client,
              std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout));
  const sshcfg::Resolved& cfg = res.settings;
  impl->log(res.by_openssh ? "ssh config resolved by OpenSSH's ssh -G"
                           : "ssh config read by jl (no OpenSSH client found)");
  for (const auto& note : res.notes) {
    impl->log(note);
  }
  sys::Terminal silent = sys::Terminal::open(false);
  // BatchMode: never ask anything, as ssh does.
  sys::Terminal& terminal = options.never_prompt || cfg.batch_mode ? silent : user_terminal;

  impl->session.reset(ssh_new());
  ssh_session s = impl->session.get();
  if (s == nullptr) {
    throw Error(Exit::other, "cannot create an SSH session (out of memory?)");
  }
  apply_options(s, res);
  bool lax = false;
  const auto policy = sshcfg::parse_host_key_policy(cfg.strict_host_key_checking, &lax);
  if (lax) {
    impl->log("StrictHostKeyChecking no is laxer than jl allows; asking instead");
  }
  // No interval configured: jl's own dead-peer check (15 s x 2), as before.
  impl->keepalive =
      cfg.server_alive_interval_s > 0
          ? KeepaliveSettings{cfg.server_alive_interval_s, std::max(1, cfg.server_alive_count_max)}
          : KeepaliveSettings{};
  const auto connect_timeout = apply_timeouts(s, cfg, options.timeout);

  const std::string& hostname = cfg.hostname;
  const std::string& user = cfg.user;
  impl->user = user;
  impl->endpoint = fmt::format("{}{}{}", user.empty() ? "" : user + "@", hostname,
                               cfg.port == 22 ? std::string{} : fmt::format(":{}", cfg.port));
  std::string shown = options.host == hostname || options.host == impl->endpoint
                          ? impl->endpoint
                          : fmt::format("{} ({})", options.host, impl->endpoint);

  // The transport: a ProxyCommand, a ProxyJump chain made by OpenSSH's client, or jl's own
  // TCP connection (every address, the family the config asks for, ConnectionAttempts).
  bool proxied = false;
  bool jumped = false;
  if (transport != nullptr) {
    // A hop after the first: only the chain's own transport counts, as with ssh -J.
    socket_t fd = transport->release();
    ssh_options_set(s, SSH_OPTIONS_FD, &fd);
    impl->log(fmt::format("connecting to {} through the jump host {}", shown, via));
    jumped = true;
  } else if (!cfg.proxy_command && !cfg.proxy_jump.empty()) {
    // ProxyJump in process: a session to each hop in turn, each over a channel of the one
    // before it.
    impl->log(fmt::format("connecting to {} through ProxyJump {}", shown,
                          text::join(cfg.proxy_jump, ",")));
    stage(ConnectStage::tcp);
    sys::Fd next = open_jump_chain(*impl, options, res, user_terminal);
    socket_t fd = next.release();
    ssh_options_set(s, SSH_OPTIONS_FD, &fd);
    jumped = true;
  } else if (cfg.proxy_command) {
    std::string command = expand_path(res, *cfg.proxy_command);
    ssh_options_set(s, SSH_OPTIONS_PROXYCOMMAND, escape_percent(command).c_str());
    impl->log(fmt::format("connecting to {} through ProxyCommand {}", shown, command));
    proxied = true;
  } else {
    impl->log(fmt::format("connecting to {}", shown));
  }

  PromptContext prompt{&terminal};
  ssh_callbacks_struct callbacks{};
  callbacks.userdata = &prompt;
  callbacks.auth_function = passphrase_callback;
  ssh_callbacks_init(&callbacks);
  ssh_set_callbacks(s, &callbacks);

  auto started = Clock::now();
  stage(ConnectStage::tcp);
  if (!proxied && !jumped) {
    sys::Fd tcp = connect_direct(cfg, impl->endpoint, connect_timeout, started, options.fresh_syns,
                                 [&impl](std::string_view w) { impl->log(w); });
    socket_t fd = tcp.release();  // libssh closes it with the session
    ssh_options_set(s, SSH_OPTIONS_FD, &fd);
  }
  if (ssh_connect(s) != SSH_OK) {
    throw connect_error(
        ssh_get_error(s), cfg, impl->endpoint, started,
        jumped ? std::optional<std::string>(transport != nullptr ? via : cfg.proxy_jump.back())
               : std::nullopt,
        proxied);
  }
  impl->log(fmt::format(
      "connected in {} ms",
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
  // A failure of these two stages is about the key or the login: trying again without a person
  // cannot help (the tunnel gives up on it).
  auto tagged = [](Error& e, Cause cause) -> Error& {
    if (e.code() == Exit::ssh) {
      e.because(cause);
    }
    return e;
  };
  stage(ConnectStage::host_key);
  try {
    verify_host_key(s, shown, terminal, policy, options, cfg);
  } catch (Error& e) {
    throw tagged(e, Cause::host_key);
  }
  stage(ConnectStage::auth);
  try {
    authenticate(s, shown, terminal, impl->trace, res, prompt);
  } catch (Error& e) {
    throw tagged(e, Cause::authentication);
  }
  // The passphrase callback's context lives on this stack frame only.
  ssh_callbacks_struct none{};
  ssh_callbacks_init(&none);
  ssh_set_callbacks(s, &none);
  impl->log(fmt::format(
      "authenticated as {} in {} ms", user,
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));

  // From here on every channel operation is non-blocking and waits with its own deadline.
  ssh_set_blocking(s, 0);
  impl->event.reset(ssh_event_new());
  if (!impl->event || ssh_event_add_session(impl->event.get(), s) != SSH_OK) {
    throw Error(Exit::other, "cannot set up the SSH event loop");
  }
  stage(ConnectStage::ready);
  return Session(std::move(impl));
}

struct RemoteProcess::State {
  Session::Impl* session = nullptr;  // jl's own connection, or
  MuxLink* link = nullptr;           // a master's
  ChannelState st;                   // (outlives the channels below, which point into it)
  std::unique_ptr<Channel> channel;
  std::unique_ptr<MuxChannel> mux;
  std::string endpoint;
  std::string user;
  Trace trace;
  bool stdin_closed = false;
  bool on_terminal = false;
  Clock::time_point started = Clock::now();

  void pump(Deadline deadline, std::string_view doing) {
    if (link != nullptr) {
      link->pump(deadline, doing);
    } else {
      session->pump(deadline, doing);
    }
  }

  void write(std::string_view data, Deadline deadline) {
    if (link != nullptr) {
      link->write_all(*mux, data, deadline);
    } else {
      session->write_all(channel->get(), data, deadline);
    }
  }

  // The command ended before the bootstrap's /bin/sh ran: the account's login shell (nologin,
  // git-shell, /bin/false) or a ForceCommand ran something else. Say so, with what it printed.
  void check_refused() const {
    if (!st.refused()) {
      return;
    }
    std::string printed(text::trim(st.boot->noise()));
    const std::string err(text::trim(st.boot_err));
    if (!err.empty()) {
      printed += printed.empty() ? err : "\n" + err;
    }
    std::vector<std::string> lines;
    for (auto l : text::lines(printed)) {
      if (!text::trim(l).empty()) {
        lines.emplace_back(text::trim(l));
      }
    }
    if (lines.size() > 3) {
      lines.erase(lines.begin(), lines.end() - 3);
    }
    for (auto& l : lines) {
      if (l.size() > 160) {
        l = l.substr(0, 157) + "...";
      }
    }
    const auto at = endpoint.find('@');
    const std::string where = at == std::string::npos ? endpoint : endpoint.substr(at + 1);
    const std::string shown = lines.empty() ? "nothing" : "\"" + text::join(lines, " / ") + "\"";
    throw Error(Exit::ssh,
                fmt::format("the account {} on {} cannot run commands: its login shell or a "
                            "ForceCommand refused them (exit {}; the server printed {})",
                            user.empty() ? "(default)" : user, where,
                            st.exit_status ? std::to_string(*st.exit_status) : "unknown", shown),
                "jl runs its commands through the account's login shell: log in with an "
                "account whose shell runs commands (see its shell with `getent passwd USER` on "
                "the host), or lift the ForceCommand for it in sshd_config");
  }
};

RemoteProcess::RemoteProcess(std::unique_ptr<State> state) : m_state(std::move(state)) {}
RemoteProcess::RemoteProcess(RemoteProcess&&) noexcept = default;
RemoteProcess& RemoteProcess::operator=(RemoteProcess&&) noexcept = default;
RemoteProcess::~RemoteProcess() = default;

std::string_view RemoteProcess::out() const {
  return m_state->st.out;
}

bool RemoteProcess::on_terminal() const {
  return m_state->on_terminal;
}

void RemoteProcess::write(std::string_view data, Deadline deadline) {
  try {
    m_state->write(data, deadline);
  } catch (const Error&) {
    // A login shell that refused closes the channel under the write: that is the news.
    m_state->check_refused();
    throw;
  }
}

void RemoteProcess::close_stdin(Deadline deadline) {
  if (m_state->stdin_closed || m_state->st.closed) {
    return;
  }
  m_state->stdin_closed = true;
  if (m_state->link != nullptr) {
    m_state->link->close_stdin(*m_state->mux);
    return;
  }
  m_state->session->until_done([&] { return ssh_channel_send_eof(m_state->channel->get()); },
                               deadline, "sending EOF");
}

bool RemoteProcess::wait_for(const std::function<bool(std::string_view)>& ready,
                             Deadline deadline) {
  auto& st = m_state->st;
  while (!ready(st.out)) {
    if (st.ended()) {
      m_state->check_refused();
      return ready(st.out);
    }
    m_state->pump(deadline, "waiting for a remote command");
  }
  return true;
}

std::string RemoteProcess::read_some(Deadline until, bool* ended) {
  auto& st = m_state->st;
  while (st.out.empty() && !st.ended() && Clock::now() < until) {
    // A little slack: the loop, not pump, decides that `until` has passed.
    m_state->pump(until + std::chrono::milliseconds(50), "waiting for a remote command");
  }
  m_state->check_refused();
  if (ended != nullptr) {
    *ended = st.ended();
  }
  std::string out;
  out.swap(st.out);
  return out;
}

ExecResult RemoteProcess::finish(Deadline deadline) {
  auto& st = m_state->st;
  while (!st.ended()) {
    m_state->pump(deadline, "waiting for a remote command");
  }
  m_state->check_refused();
  if (st.overflow) {
    throw Error(Exit::remote, "a remote command printed more output than jl accepts");
  }
  if (m_state->trace) {
    m_state->trace(
        fmt::format("remote command ended: exit {} after {:.3f} s, {} bytes out, {} bytes err",
                    st.exit_status ? std::to_string(*st.exit_status) : "unknown",
                    std::chrono::duration<double>(Clock::now() - m_state->started).count(),
                    st.out.size(), st.err.size()));
  }
  return ExecResult{st.exit_status.value_or(-1), std::move(st.out), std::move(st.err)};
}

RemoteProcess Session::spawn(std::string_view command, Deadline deadline, std::optional<Pty> pty) {
  if (pty && !shell::fits_terminal(command)) {
    throw Error(Exit::other, "a command for a terminal holds control characters or long lines");
  }
  auto state = std::make_unique<RemoteProcess::State>();
  // The login shell parses only the bootstrap line; /bin/sh reads the command itself from
  // stdin, so it means the same under sh, bash, zsh, ksh, fish, tcsh and csh.
  const std::string line(shell::boot_line());
  // Open an exec channel on jl's own connection and start the bootstrap line on it (on a
  // terminal when `pty` is given and the server allows one).
  auto open_exec = [&](Impl& im, RemoteProcess::State& into) {
    into.channel = std::make_unique<Channel>(im.session.get(), into.st);
    ssh_channel ch = into.channel->get();
    if (ch == nullptr) {
      throw Error(Exit::ssh, fmt::format("cannot create a channel: {}", im.error()));
    }
    if (im.until_done([&] { return ssh_channel_open_session(ch); }, deadline,
                      "opening a session channel") != SSH_OK) {
      throw Error(Exit::ssh,
                  fmt::format("cannot open a session channel on {}: {}", im.endpoint, im.error()),
                  "the server may limit sessions (MaxSessions in sshd_config)");
    }
    if (pty && im.until_done(
                   [&] { return ssh_channel_request_pty_size(ch, "xterm", pty->cols, pty->rows); },
                   deadline, "asking for a terminal") != SSH_OK) {
      if (ssh_channel_is_open(ch) == 0 || ssh_is_connected(im.session.get()) == 0) {
        throw Error(Exit::ssh,
                    fmt::format("asking {} for a terminal failed: {}", im.endpoint, im.error()));
      }
      // PermitTTY no, or no-pty in authorized_keys: the same command, without a terminal.
      im.log(fmt::format("{} refused a terminal ({}); running the command without one", im.endpoint,
                         im.error()));
      pty.reset();
    }
    into.on_terminal = pty.has_value();
    into.st.boot.emplace(pty ? shell::kBootMarkerPty : shell::kBootMarker);
    if (im.until_done([&] { return ssh_channel_request_exec(ch, line.c_str()); }, deadline,
                      "starting a remote command") != SSH_OK) {
      throw Error(Exit::ssh,
                  fmt::format("the host {} refused to run a command: {}", im.endpoint, im.error()));
    }
  };

  if (!m_impl) {
    std::optional<std::pair<int, int>> size;
    if (pty) {
      size = std::make_pair(pty->cols, pty->rows);
    }
    bool on_terminal = false;
    state->mux = m_mux->exec(line, size, state->st, deadline, &on_terminal);
    if (state->mux) {
      state->link = m_mux.get();
      state->endpoint = m_mux->endpoint();
      state->user = m_mux->user();
      state->trace = m_redo->trace;
      state->on_terminal = on_terminal;
      state->st.boot.emplace(on_terminal ? shell::kBootMarkerPty : shell::kBootMarker);
      if (state->trace) {
        state->trace(
            fmt::format("remote command (shared connection): {}", shell::abbreviate(command)));
      }
    } else {
      own_connection();
    }
  }
  if (!state->link) {
    auto& im = *m_impl;
    state->session = &im;
    state->endpoint = im.endpoint;
    state->user = im.user;
    state->trace = im.trace;
    if (im.trace) {
      im.trace(fmt::format("remote command: {}", shell::abbreviate(command)));
    }
    open_exec(im, *state);
  }
  try {
    std::string payload = shell::boot_payload(command);
    if (state->on_terminal) {
      // A terminal echoes its input: sent once /bin/sh runs, the echo comes after its marker
      // and before anything the command prints, so the command's own first line tells them
      // apart. In canonical mode a line reaches the reader only once it ends: end the last.
      while (!state->st.boot->started() && !state->st.ended()) {
        state->pump(deadline, "starting a remote command");
      }
      state->check_refused();
      payload += '\n';
    }
    state->write(payload, deadline);
  } catch (const Error&) {
    state->check_refused();  // a shell that refused may close the channel this soon
    throw;
  }
  return RemoteProcess(std::move(state));
}

RemoteProcess Session::start(std::string_view command, Deadline deadline) {
  if (!m_impl) {
    // Over a master: its shell helper answers in one round trip when it is free.
    auto state = std::make_unique<RemoteProcess::State>();
    state->mux = m_mux->run(command, state->st, deadline);
    if (state->mux) {
      state->link = m_mux.get();
      state->endpoint = m_mux->endpoint();
      state->user = m_mux->user();
      state->trace = m_redo->trace;
      state->stdin_closed = true;
      state->st.boot.emplace(shell::kBootMarker);
      if (state->trace) {
        state->trace(
            fmt::format("remote command (shared connection): {}", shell::abbreviate(command)));
      }
      return RemoteProcess(std::move(state));
    }
    own_connection();
  }
  auto process = spawn(command, deadline);
  process.close_stdin(deadline);
  return process;
}

ExecResult Session::exec(std::string_view command, std::string_view input, Deadline deadline) {
  if (input.empty()) {
    return start(command, deadline).finish(deadline);
  }
  auto process = spawn(command, deadline);
  process.write(input, deadline);
  process.close_stdin(deadline);
  return process.finish(deadline);
}

struct TcpExchange::State {
  Session* session = nullptr;
  std::string host;
  int port = 0;
  std::string request;
  std::function<bool(std::string_view)> complete;
  bool keep = false;
  MuxLink* link = nullptr;
  std::unique_ptr<ChannelState> st = std::make_unique<ChannelState>();
  std::unique_ptr<MuxChannel> ch;  // over a master's connection, under way
  Clock::time_point started = Clock::now();
};

TcpExchange::TcpExchange(std::unique_ptr<State> state) : m_state(std::move(state)) {}
TcpExchange::TcpExchange(TcpExchange&&) noexcept = default;
TcpExchange& TcpExchange::operator=(TcpExchange&&) noexcept = default;
TcpExchange::~TcpExchange() = default;

TcpExchange Session::start_tcp_exchange(const std::string& host, int port, std::string request,
                                        Deadline deadline,
                                        std::function<bool(std::string_view)> complete, bool keep) {
  auto state = std::make_unique<TcpExchange::State>();
  state->session = this;
  state->host = host;
  state->port = port;
  state->request = std::move(request);
  state->complete = std::move(complete);
  state->keep = keep;
  if (!m_impl) {
    state->link = m_mux.get();
    state->ch = m_mux->tcp_pipelined(host, port, state->request, *state->st, deadline, keep);
  }
  return TcpExchange(std::move(state));
}

TcpResult TcpExchange::finish(Deadline deadline) {
  auto& s = *m_state;
  if (!s.ch) {
    return s.session->tcp_exchange(s.host, s.port, s.request, deadline, s.complete, s.keep);
  }
  auto& st = *s.st;
  while (s.ch->awaiting() || (!st.closed && !st.eof && !s.complete(st.out))) {
    s.link->pump(deadline, fmt::format("waiting for {}:{} to answer", s.host, s.port));
  }
  const auto& answer = s.ch->answer();
  if (!answer || answer->busy || (answer->reused && st.out.empty())) {
    // The master went away or is reconnecting, or the server had closed the kept channel:
    // the exchange once more, as tcp_exchange does it (afresh, or on a connection of its own).
    s.ch.reset();
    return s.session->tcp_exchange(s.host, s.port, s.request, deadline, s.complete, s.keep);
  }
  TcpResult result;
  if (!answer->ok) {
    const std::string raw = answer->error.empty() ? "the channel was refused" : answer->error;
    result.failure = sshwords::parse_channel_open_failure(raw);
    result.error = sshwords::describe(raw);
    return result;
  }
  result.opened = true;
  if (s.keep && !st.closed && !st.eof) {
    s.link->keep(*s.ch);
  }
  if (const auto& trace = s.session->m_redo ? s.session->m_redo->trace : Trace{}) {
    trace(fmt::format("{}:{} via the host{}: {} -> {} bytes in {:.3f} s", s.host, s.port,
                      answer->reused ? " (a kept channel)" : "",
                      s.request.substr(0, std::min(s.request.find('\r'), s.request.size())),
                      st.out.size(),
                      std::chrono::duration<double>(Clock::now() - s.started).count()));
  }
  result.data = std::move(st.out);
  s.ch.reset();
  return result;
}

TcpResult Session::tcp_exchange(const std::string& host, int port, std::string_view request,
                                Deadline deadline,
                                const std::function<bool(std::string_view)>& complete, bool keep) {
  TcpResult result;
  const auto started = Clock::now();
  auto traced = [&](const ChannelState& st, const Trace& trace) {
    if (trace) {
      // The request line only: the headers carry the token.
      trace(fmt::format("{}:{} via the host: {} -> {} bytes in {:.3f} s", host, port,
                        request.substr(0, std::min(request.find('\r'), request.size())),
                        st.out.size(),
                        std::chrono::duration<double>(Clock::now() - started).count()));
    }
  };
  auto refused = [&](const std::string& raw) {
    result.failure = sshwords::parse_channel_open_failure(raw);
    result.error = sshwords::describe(raw);
    return result;
  };
  if (!m_impl) {
    ChannelState st;
    std::string raw;
    bool reused = false;
    if (auto ch = m_mux->tcp(host, port, st, deadline, &raw, keep, &reused)) {
      result.opened = true;
      m_mux->write_all(*ch, request, deadline);
      while (!st.closed && !st.eof && !complete(st.out)) {
        m_mux->pump(deadline, fmt::format("waiting for {}:{} to answer", host, port));
      }
      if (reused && st.out.empty()) {
        // The server closed the kept channel just before this exchange: once more afresh
        // (the master dropped that channel).
        ch.reset();
        return tcp_exchange(host, port, request, deadline, complete, keep);
      }
      if (keep && !st.closed && !st.eof) {
        m_mux->keep(*ch);
      }
      traced(st, m_redo->trace);
      result.data = std::move(st.out);
      return result;
    }
    if (!raw.empty()) {
      return refused(raw);
    }
    own_connection();
  }
  auto& im = *m_impl;
  ChannelState st;
  Channel ch(im.session.get(), st);
  if (!ch) {
    throw Error(Exit::ssh, fmt::format("cannot create a channel: {}", im.error()));
  }
  int rc = im.until_done(
      [&] { return ssh_channel_open_forward(ch.get(), host.c_str(), port, "127.0.0.1", 0); },
      deadline, fmt::format("opening a channel to {}:{}", host, port));
  if (rc != SSH_OK) {
    if (ssh_is_connected(im.session.get()) == 0) {
      throw Error(Exit::ssh,
                  fmt::format("the SSH connection to {} was lost ({})", im.endpoint, im.error()));
    }
    return refused(ssh_get_error(im.session.get()));
  }
  result.opened = true;
  im.write_all(ch.get(), request, deadline);
  while (!st.closed && !st.eof && !complete(st.out)) {
    im.pump(deadline, fmt::format("waiting for {}:{} to answer", host, port));
  }
  traced(st, im.trace);
  result.data = std::move(st.out);
  return result;
}

}  // namespace jl::ssh
