#include "jl/core/gpus.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "jl/core/probe.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::gpus {

namespace {

constexpr long long kMaxMib = 1LL << 40;  // far beyond any GPU's memory
constexpr std::size_t kIdLength = 64;

// nvidia-smi's CSV: values separated by ", ".
std::vector<std::string_view> cells(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto at = line.find(',', start);
    out.push_back(text::trim(line.substr(start, at == line.npos ? line.npos : at - start)));
    if (at == line.npos) {
      return out;
    }
    start = at + 1;
  }
}

// "[N/A]", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]": no value.
bool unavailable(std::string_view cell) {
  return cell.size() >= 2 && cell.front() == '[' && cell.back() == ']';
}

// A number, or nothing for a value nvidia-smi cannot give; false when it is neither.
bool number(std::string_view cell, long long hi, std::optional<long long>& out) {
  if (unavailable(cell)) {
    out.reset();
    return true;
  }
  out = text::parse_int(cell, 0, hi);
  return out.has_value();
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_id(std::string_view s) {
  return s.size() == kIdLength && std::all_of(s.begin(), s.end(), is_hex);
}

// The container id one component of a cgroup path names, if any.
std::string_view id_in(std::string_view part) {
  if (part.ends_with(".scope")) {
    part.remove_suffix(6);
  }
  for (std::string_view prefix : {"docker-", "libpod-", "crio-", "cri-containerd-"}) {
    if (part.starts_with(prefix)) {
      part.remove_prefix(prefix.size());
      break;
    }
  }
  return is_id(part) ? part : std::string_view{};
}

std::string mib(const std::optional<long long>& v) {
  return v ? std::to_string(*v) : std::string("?");
}

nlohmann::json or_null(const std::optional<long long>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

bool matches(const Holder& h, std::string_view id, std::string_view name) {
  if (h.container_id.empty()) {
    return false;
  }
  if (!id.empty()) {
    return id.size() >= 12 && h.container_id.starts_with(id);
  }
  return !name.empty() && h.container_name == name;
}

}  // namespace

std::optional<Gpu> parse_gpu_line(std::string_view line) {
  auto c = cells(line);
  if (c.size() < 6) {
    return std::nullopt;
  }
  Gpu g;
  auto index = text::parse_int(c[0], 0, 1023);
  if (!index || c[1].empty() || unavailable(c[1])) {
    return std::nullopt;
  }
  g.index = static_cast<int>(*index);
  g.uuid = std::string(c[1]);
  // A name with a comma in it spans several cells: the last three are the numbers.
  std::vector<std::string> name;
  for (std::size_t i = 2; i + 3 < c.size(); ++i) {
    name.emplace_back(c[i]);
  }
  g.name = text::join(name, ", ");
  std::optional<long long> utilization;
  if (!number(c[c.size() - 3], kMaxMib, g.memory_used_mib) ||
      !number(c[c.size() - 2], kMaxMib, g.memory_total_mib) ||
      !number(c[c.size() - 1], 100, utilization)) {
    return std::nullopt;
  }
  if (utilization) {
    g.utilization_percent = static_cast<int>(*utilization);
  }
  return g;
}

std::optional<ComputeApp> parse_app_line(std::string_view line) {
  auto c = cells(line);
  if (c.size() != 3 || c[0].empty() || unavailable(c[0])) {
    return std::nullopt;
  }
  ComputeApp a;
  a.gpu_uuid = std::string(c[0]);
  std::optional<long long> pid;
  if (!number(c[1], (1LL << 31) - 1, pid) || !number(c[2], kMaxMib, a.used_mib)) {
    return std::nullopt;
  }
  a.pid = pid.value_or(0);
  return a;
}

std::string container_of_cgroup(std::string_view cgroup) {
  std::string_view found;
  for (auto line : text::lines(cgroup)) {
    // hierarchy-ID:controllers:path; the path may itself contain ':'.
    auto first = line.find(':');
    auto second = first == line.npos ? line.npos : line.find(':', first + 1);
    if (second == line.npos) {
      continue;
    }
    std::string_view path = line.substr(second + 1);
    std::string_view innermost;
    std::size_t start = 0;
    while (start <= path.size()) {
      auto slash = path.find('/', start);
      auto part = path.substr(start, slash == path.npos ? path.npos : slash - start);
      if (auto id = id_in(part); !id.empty()) {
        innermost = id;
      }
      if (slash == path.npos) {
        break;
      }
      start = slash + 1;
    }
    if (!innermost.empty()) {
      found = innermost;  // every hierarchy names the same container; the last one says it
    }
  }
  return std::string(found);
}

std::string command(std::string_view nonce, const std::vector<std::string>& docker) {
  std::vector<std::string> args = {std::string(nonce)};
  args.insert(args.end(), docker.begin(), docker.end());
  return shell::sh_c(scripts::gpus(), args);
}

Report parse(std::string_view output, std::string_view nonce) {
  Report r;
  for (const auto& s : probe::split_sections(output, nonce)) {
    const int rc = s.args.empty()
                       ? -1
                       : static_cast<int>(text::parse_int(s.args.front(), 0, 255).value_or(-1));
    if (s.kind == "no-nvidia-smi") {
      r.tool = Report::Tool::missing;
    } else if (s.kind == "gpus") {
      const std::string_view body = text::trim(s.body);
      // nvidia-smi exits 6 ("a query to find an object was unsuccessful") when the driver
      // runs and there is no GPU.
      if (rc == 6 && body == "No devices were found") {
        r.tool = Report::Tool::ok;
      } else if (rc == 0) {
        r.tool = Report::Tool::ok;
        for (auto line : text::lines(s.body)) {
          if (text::trim(line).empty()) {
            continue;
          }
          if (auto g = parse_gpu_line(line)) {
            r.gpus.push_back(std::move(*g));
          } else {
            r.unreadable.emplace_back(line);
          }
        }
      } else {
        r.tool = Report::Tool::failed;
        r.exit_status = rc;
        r.error = text::tail(body, 1);
      }
    } else if (s.kind == "apps") {
      if (rc != 0) {
        r.tool = Report::Tool::failed;
        r.exit_status = rc;
        r.error = text::tail(text::trim(s.body), 1);
        continue;
      }
      for (auto line : text::lines(s.body)) {
        if (text::trim(line).empty()) {
          continue;
        }
        if (auto a = parse_app_line(line)) {
          r.apps.push_back(std::move(*a));
        } else {
          r.unreadable.emplace_back(line);
        }
      }
    } else if (s.kind == "cgroup") {
      if (auto pid = text::parse_int(s.rest, 1, (1LL << 31) - 1)) {
        r.cgroups[*pid] = s.body;
      }
    } else if (s.kind == "containers") {
      if (rc != 0) {
        continue;
      }
      std::vector<RunningContainer> list;
      for (auto line : text::lines(s.body)) {
        auto f = text::fields(line);
        if (f.size() == 2 && is_id(f[0])) {
          list.push_back({std::string(f[0]), std::string(f[1])});
        }
      }
      r.containers = std::move(list);
    } else if (s.kind == "end") {
      r.complete = true;
    }
  }
  return r;
}

std::string describe(const Holder& h) {
  const std::string memory = h.used_mib ? fmt::format("{} MiB", *h.used_mib) : "? MiB";
  const std::string pid = h.pid > 0 ? fmt::format("pid {}", h.pid) : "pid ?";
  if (h.container_id.empty()) {
    return fmt::format("host {} ({})", pid, memory);
  }
  const std::string who = h.container_name.empty()
                              ? fmt::format("container {}", h.container_id.substr(0, 12))
                              : h.container_name;
  return fmt::format("{} ({}, {})", who, pid, memory);
}

std::vector<Use> usage(const Report& report) {
  std::vector<Use> out;
  for (const auto& g : report.gpus) {
    Use u{g, {}};
    for (const auto& a : report.apps) {
      if (a.gpu_uuid != g.uuid) {
        continue;
      }
      Holder h;
      h.pid = a.pid;
      h.used_mib = a.used_mib;
      if (auto it = report.cgroups.find(a.pid); it != report.cgroups.end()) {
        h.container_id = container_of_cgroup(it->second);
      }
      if (!h.container_id.empty() && report.containers) {
        for (const auto& c : *report.containers) {
          if (c.id == h.container_id) {
            h.container_name = c.name;
          }
        }
      }
      u.holders.push_back(std::move(h));
    }
    out.push_back(std::move(u));
  }
  return out;
}

std::optional<std::vector<int>> pick_free(const std::vector<Use>& uses, int count) {
  std::vector<const Gpu*> free;
  for (const auto& u : uses) {
    if (u.holders.empty()) {
      free.push_back(&u.gpu);
    }
  }
  if (count < 1 || static_cast<int>(free.size()) < count) {
    return std::nullopt;
  }
  std::stable_sort(free.begin(), free.end(), [](const Gpu* a, const Gpu* b) {
    const long long ma = a->memory_used_mib.value_or(kMaxMib + 1);
    const long long mb = b->memory_used_mib.value_or(kMaxMib + 1);
    return ma != mb ? ma < mb : a->index < b->index;
  });
  std::vector<int> out;
  for (int i = 0; i < count; ++i) {
    out.push_back(free[static_cast<std::size_t>(i)]->index);
  }
  return out;
}

int free_count(const std::vector<Use>& uses) {
  return static_cast<int>(
      std::count_if(uses.begin(), uses.end(), [](const Use& u) { return u.holders.empty(); }));
}

std::vector<std::string> holders_words(const std::vector<Use>& uses) {
  std::vector<std::string> out;
  for (const auto& u : uses) {
    if (u.holders.empty()) {
      continue;
    }
    std::vector<std::string> who;
    for (const auto& h : u.holders) {
      who.push_back(describe(h));
    }
    out.push_back(fmt::format("GPU {}: {}", u.gpu.index, text::join(who, ", ")));
  }
  return out;
}

std::vector<ContainerGpu> of_container(const std::vector<Use>& uses, std::string_view id,
                                       std::string_view name) {
  std::vector<ContainerGpu> out;
  for (const auto& u : uses) {
    std::optional<ContainerGpu> mine;
    for (const auto& h : u.holders) {
      if (!matches(h, id, name)) {
        continue;
      }
      if (!mine) {
        mine = ContainerGpu{u.gpu.index, 0};
      }
      if (mine->used_mib && h.used_mib) {
        *mine->used_mib += *h.used_mib;
      } else {
        mine->used_mib.reset();
      }
    }
    if (mine) {
      out.push_back(*mine);
    }
  }
  return out;
}

std::string words(const std::vector<ContainerGpu>& gpus) {
  if (gpus.empty()) {
    return "-";
  }
  std::vector<std::string> out;
  for (const auto& g : gpus) {
    out.push_back(fmt::format("{} ({} MiB)", g.index, mib(g.used_mib)));
  }
  return text::join(out, ", ");
}

nlohmann::json to_json(const std::vector<ContainerGpu>& gpus) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : gpus) {
    out.push_back({{"index", g.index}, {"used_memory_mib", or_null(g.used_mib)}});
  }
  return out;
}

std::string table(const std::vector<Use>& uses) {
  std::vector<std::vector<std::string>> rows = {{"GPU", "NAME", "MEMORY (MiB)", "UTIL", "USED BY"}};
  for (const auto& u : uses) {
    std::vector<std::string> who;
    for (const auto& h : u.holders) {
      who.push_back(describe(h));
    }
    const auto& g = u.gpu;
    rows.push_back({std::to_string(g.index), g.name,
                    fmt::format("{} / {}", mib(g.memory_used_mib), mib(g.memory_total_mib)),
                    g.utilization_percent ? fmt::format("{}%", *g.utilization_percent) : "?",
                    who.empty() ? "-" : text::join(who, ", ")});
  }
  return text::table(rows);
}

nlohmann::json to_json(const std::vector<Use>& uses) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& u : uses) {
    const auto& g = u.gpu;
    nlohmann::json processes = nlohmann::json::array();
    for (const auto& h : u.holders) {
      processes.push_back(
          {{"pid", h.pid > 0 ? nlohmann::json(h.pid) : nlohmann::json(nullptr)},
           {"used_memory_mib", or_null(h.used_mib)},
           {"container_id",
            h.container_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.container_id)},
           {"container", h.container_name.empty() ? nlohmann::json(nullptr)
                                                  : nlohmann::json(h.container_name)}});
    }
    out.push_back(
        {{"index", g.index},
         {"uuid", g.uuid},
         {"name", g.name},
         {"memory_used_mib", or_null(g.memory_used_mib)},
         {"memory_total_mib", or_null(g.memory_total_mib)},
         {"utilization_percent",
          g.utilization_percent ? nlohmann::json(*g.utilization_percent) : nlohmann::json(nullptr)},
         {"processes", std::move(processes)}});
  }
  return out;
}

}  // namespace jl::gpus
