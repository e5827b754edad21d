#pragma once

// Hints that a long-lived connection may have died under its owner: the computer woke from
// sleep, or an interface, address or route changed. The owner (the tunnel) then checks the
// connection with a short deadline (KeepaliveTimer::suspect) instead of waiting out the
// keepalive schedule. Only hints: a watcher that gets no descriptor from the OS still tells a
// resume where the OS has the clocks for it, and one that gets neither says `none`.
//
//   - Linux: a NETLINK_ROUTE socket subscribed to link, IPv4/IPv6 address and route changes;
//     a resume is the growth of CLOCK_BOOTTIME - CLOCK_MONOTONIC (core/wake).
//   - macOS: a PF_ROUTE socket (RTM_NEWADDR, RTM_DELADDR, RTM_IFINFO, RTM_ADD, RTM_DELETE);
//     a resume is the growth of CLOCK_MONOTONIC_RAW - CLOCK_UPTIME_RAW (one tick source, the
//     first counting sleep, the second not, so nothing but sleep moves their gap).
//   - elsewhere (and the portable build): no descriptor and no resume. The tunnel's keepalive
//     timer (core/keepalive) is then what notices a dead connection, after ServerAliveInterval
//     x ServerAliveCountMax of silence, as OpenSSH does.

#include <chrono>
#include <optional>

#include "jl/core/wake.hpp"
#include "jl/sys/fd.hpp"

namespace jl::sys {

class WakeWatcher {
 public:
  enum class Event {
    none,
    resumed,          // the computer slept more than a second since the last check
    network_changed,  // an interface, address or route changed since the last check
  };

  // Opens the socket (non-blocking, close-on-exec) and reads the clocks; never fails.
  WakeWatcher();
  WakeWatcher(WakeWatcher&&) noexcept = default;
  WakeWatcher& operator=(WakeWatcher&&) noexcept = default;
  WakeWatcher(const WakeWatcher&) = delete;
  WakeWatcher& operator=(const WakeWatcher&) = delete;
  ~WakeWatcher() = default;

  // A descriptor to poll for POLLIN (then call check()), or -1 when the OS gives none.
  int fd() const { return m_fd.get(); }

  // What happened since the last check (or since the watcher was made): reads every pending
  // message (counting only the changes above, not, say, a Wi-Fi scan's results) and compares
  // the clocks. `resumed` wins when both happened.
  Event check();

  // How often the owner should call check() even when fd() says nothing: poll()'s timeout does
  // not count the time the computer sleeps, so a resume is only seen by looking.
  std::chrono::milliseconds check_interval() const { return std::chrono::seconds(1); }

 private:
  Fd m_fd;
  std::optional<SleepClocks> m_clocks;  // at the last check; none where the OS cannot tell
};

}  // namespace jl::sys
