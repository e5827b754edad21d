#include "jl/sys/wake.hpp"

#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "os.hpp"

#if JL_SYS_LINUX
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#endif

#if JL_SYS_MACOS
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#endif

namespace jl::sys {

namespace {

// At most this many reads per check(), so a storm of changes cannot keep check() busy: what is
// left keeps the descriptor readable for the next one.
[[maybe_unused]] constexpr int max_reads = 64;

[[maybe_unused]] std::size_t align4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

#if JL_SYS_LINUX

Fd open_socket() {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) {
    return {};
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups =
      RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return {};
  }
  return fd;
}

// An RTM_NEWLINK that carries IFLA_WIRELESS is a wireless extensions event (a scan's results,
// mostly), sent again and again while nothing about the path changes.
bool is_wireless_event(const char* msg, std::size_t len) {
  std::size_t off = align4(sizeof(nlmsghdr)) + align4(sizeof(ifinfomsg));
  while (off + sizeof(rtattr) <= len) {
    rtattr attr{};
    std::memcpy(&attr, msg + off, sizeof attr);
    if (attr.rta_len < sizeof attr || attr.rta_len > len - off) {
      break;
    }
    if (attr.rta_type == IFLA_WIRELESS) {
      return true;
    }
    off += align4(attr.rta_len);
  }
  return false;
}

bool is_change(const char* msg, std::size_t len, std::uint16_t type) {
  switch (type) {
    case RTM_NEWLINK:
      return !is_wireless_event(msg, len);
    case RTM_DELLINK:
    case RTM_NEWADDR:
    case RTM_DELADDR:
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return true;
    default:
      return false;
  }
}

// Whether one datagram holds a change: netlink packs messages, each 4-byte aligned.
bool holds_change(const char* buf, std::size_t n) {
  bool changed = false;
  std::size_t off = 0;
  while (off + sizeof(nlmsghdr) <= n) {
    nlmsghdr hdr{};
    std::memcpy(&hdr, buf + off, sizeof hdr);
    if (hdr.nlmsg_len < sizeof hdr || hdr.nlmsg_len > n - off) {
      break;
    }
    changed = is_change(buf + off, hdr.nlmsg_len, hdr.nlmsg_type) || changed;
    off += align4(hdr.nlmsg_len);
  }
  return changed;
}

bool drain(int fd) {
  bool changed = false;
  alignas(nlmsghdr) char buf[32768];
  for (int i = 0; i < max_reads; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == ENOBUFS) {
        changed = true;  // the kernel dropped messages for us: there were changes
        continue;
      }
      break;  // EAGAIN: nothing left
    }
    if (from.nl_pid != 0) {
      continue;  // only the kernel speaks for the network
    }
    changed = holds_change(buf, static_cast<std::size_t>(n)) || changed;
  }
  return changed;
}

std::optional<SleepClocks> read_clocks() {
  timespec awake{};
  timespec total{};
  if (::clock_gettime(CLOCK_MONOTONIC, &awake) != 0 ||
      ::clock_gettime(CLOCK_BOOTTIME, &total) != 0) {
    return std::nullopt;
  }
  return SleepClocks{std::chrono::seconds(awake.tv_sec) + std::chrono::nanoseconds(awake.tv_nsec),
                     std::chrono::seconds(total.tv_sec) + std::chrono::nanoseconds(total.tv_nsec)};
}

#elif JL_SYS_MACOS

Fd open_socket() {
  Fd fd(::socket(PF_ROUTE, SOCK_RAW, AF_UNSPEC));
  if (!fd.valid()) {
    return {};
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0 ||
      ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0) {
    return {};
  }
  return fd;
}

// The header every routing message starts with (rt_msghdr, if_msghdr, ifa_msghdr, ...).
struct RouteHeader {
  unsigned short msglen;
  unsigned char version;
  unsigned char type;
};
static_assert(offsetof(rt_msghdr, rtm_msglen) == offsetof(RouteHeader, msglen));
static_assert(offsetof(rt_msghdr, rtm_version) == offsetof(RouteHeader, version));
static_assert(offsetof(rt_msghdr, rtm_type) == offsetof(RouteHeader, type));

bool holds_change(const char* buf, std::size_t n) {
  bool changed = false;
  std::size_t off = 0;
  while (off + sizeof(RouteHeader) <= n) {
    RouteHeader hdr{};
    std::memcpy(&hdr, buf + off, sizeof hdr);
    if (hdr.msglen < sizeof hdr || hdr.msglen > n - off) {
      break;
    }
    if (hdr.version == RTM_VERSION) {
      switch (hdr.type) {
        case RTM_NEWADDR:
        case RTM_DELADDR:
        case RTM_IFINFO:
        case RTM_ADD:
        case RTM_DELETE:
          changed = true;
          break;
        default:
          break;
      }
    }
    off += hdr.msglen;
  }
  return changed;
}

bool drain(int fd) {
  bool changed = false;
  alignas(rt_msghdr) char buf[8192];
  for (int i = 0; i < max_reads; ++i) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == ENOBUFS) {
        changed = true;  // messages were dropped for us: there were changes
        continue;
      }
      break;  // EAGAIN: nothing left
    }
    if (n == 0) {
      break;
    }
    changed = holds_change(buf, static_cast<std::size_t>(n)) || changed;
  }
  return changed;
}

std::optional<SleepClocks> read_clocks() {
  timespec awake{};
  timespec total{};
  if (::clock_gettime(CLOCK_UPTIME_RAW, &awake) != 0 ||
      ::clock_gettime(CLOCK_MONOTONIC_RAW, &total) != 0) {
    return std::nullopt;
  }
  return SleepClocks{std::chrono::seconds(awake.tv_sec) + std::chrono::nanoseconds(awake.tv_nsec),
                     std::chrono::seconds(total.tv_sec) + std::chrono::nanoseconds(total.tv_nsec)};
}

#else

Fd open_socket() {
  return {};
}

bool drain(int) {
  return false;
}

std::optional<SleepClocks> read_clocks() {
  return std::nullopt;
}

#endif

}  // namespace

WakeWatcher::WakeWatcher() : m_fd(open_socket()), m_clocks(read_clocks()) {}

WakeWatcher::Event WakeWatcher::check() {
  const bool changed = m_fd.valid() && drain(m_fd.get());
  bool resumed = false;
  if (auto now = read_clocks()) {
    resumed = m_clocks && resumed_between(*m_clocks, *now);
    m_clocks = now;
  }
  if (resumed) {
    return Event::resumed;
  }
  return changed ? Event::network_changed : Event::none;
}

}  // namespace jl::sys
