#include "jl/core/slurm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

#include "jl/core/probe.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::slurm {

namespace {

using shell::sh_c;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// A name as Slurm takes it for a partition, an account, a QOS or a GRES: letters, digits and
// "_.-", not starting with '-'.
bool is_name(std::string_view s) {
  if (s.empty() || s.front() == '-') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '.' || c == '-';
  });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(at + 1);
  }
}

// A positive count, as in gpu:2.
bool is_count(std::string_view s, long long hi) {
  return text::parse_int(s, 1, hi).has_value();
}

// NAME[:TYPE][:COUNT], comma-separated.
bool valid_gres(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (auto item : split(s, ',')) {
    auto parts = split(item, ':');
    if (!is_name(parts[0])) {
      return false;
    }
    if (parts.size() == 2) {
      // NAME:COUNT or NAME:TYPE.
      if (all_digits(parts[1]) ? !is_count(parts[1], 1LL << 31) : !is_name(parts[1])) {
        return false;
      }
    } else if (parts.size() == 3) {
      if (!is_name(parts[1]) || !is_count(parts[2], 1LL << 31)) {
        return false;
      }
    } else if (parts.size() > 3) {
      return false;
    }
  }
  return true;
}

// [TYPE:]N, N from 1 to 1024.
bool valid_gpus(std::string_view s) {
  auto parts = split(s, ':');
  if (parts.size() == 2 && !is_name(parts[0])) {
    return false;
  }
  return parts.size() <= 2 && is_count(parts.back(), 1024);
}

// N[K|M|G|T]; 0 is Slurm's "all the memory of the node".
bool valid_mem(std::string_view s) {
  if (!s.empty() && std::string_view("kKmMgGtT").find(s.back()) != std::string_view::npos) {
    s.remove_suffix(1);
  }
  return all_digits(s) && s.size() <= 15;
}

// An sbatch option that would break jl's job, and why.
struct Refusal {
  std::string_view name;  // the long option's name
  std::string_view why;
  bool takes_value;
};

constexpr std::array<Refusal, 8> kRefused = {{
    {"output", "jl's job keeps its words in jl's log", true},
    {"error", "jl's job keeps its words in jl's log", true},
    {"job-name", "jl names the job jl-NAME to find it again", true},
    {"array", "jl runs one job, not an array", true},
    {"nodes", "jl's job runs on one node", true},
    {"ntasks", "jl's job runs one task", true},
    {"wrap", "jl submits its own batch script", true},
    {"wait", "sbatch must return once the job is queued", false},
}};
// The same options' short forms, in that order (' ': none).
constexpr std::string_view kRefusedShort = "oeJaNn W";

// sbatch's short options that take a value (the others are flags).
constexpr std::string_view kShortWithValue = "aAbBcCdDeFGiJLmMnNopqStwx";

// The refusal for `option` ("-o", "--output", "--out") with this value, if any.
const Refusal* refused(std::string_view option, std::string_view value, bool has_value) {
  const Refusal* r = nullptr;
  if (option.starts_with("--")) {
    auto name = option.substr(2);
    for (const auto& candidate : kRefused) {
      // sbatch takes any unambiguous abbreviation of a long option.
      if (name == candidate.name || (name.size() >= 3 && candidate.name.starts_with(name))) {
        r = &candidate;
        break;
      }
    }
  } else if (option.size() == 2 && option[1] != ' ') {
    auto at = kRefusedShort.find(option[1]);
    r = at == std::string_view::npos ? nullptr : &kRefused[at];
  }
  if (r != nullptr && (r->name == "nodes" || r->name == "ntasks") && has_value &&
      (value == "1" || value == "1-1")) {
    return nullptr;
  }
  return r;
}

std::string check_sbatch_args(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.find('\n') != std::string::npos || a.find('\r') != std::string::npos) {
      return "an sbatch argument holds a line break";
    }
    const bool has_next = i + 1 < args.size();
    const std::string_view next = has_next ? std::string_view(args[i + 1]) : std::string_view();
    const Refusal* r = nullptr;
    bool took_next = false;  // the option's value is the next word
    if (a.starts_with("--") && a.size() > 2) {
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        r = refused(std::string_view(a).substr(0, eq), std::string_view(a).substr(eq + 1), true);
      } else {
        r = refused(a, next, has_next);
        took_next = r != nullptr && r->takes_value && has_next;
      }
    } else if (a.starts_with('-') && a.size() > 1 && a[1] != '-') {
      // A bundle of short options: flags, then at most one option with its value (the rest of
      // the word, or the next word, which is then no option of its own).
      for (std::size_t k = 1; k < a.size() && r == nullptr; ++k) {
        const std::string option = {'-', a[k]};
        if (kShortWithValue.find(a[k]) != std::string_view::npos) {
          if (k + 1 < a.size()) {
            r = refused(option, std::string_view(a).substr(k + 1), true);
          } else {
            r = refused(option, next, has_next);
            took_next = has_next;
            if (r == nullptr) {
              ++i;
            }
          }
          break;
        }
        r = refused(option, {}, false);
      }
    }
    if (r != nullptr) {
      return fmt::format("sbatch argument '{}' would break jl's job: {}",
                         took_next ? fmt::format("{} {}", a, next) : a, r->why);
    }
  }
  return {};
}

// Slurm's "nothing" in its columns.
std::string clean(std::string_view s) {
  s = text::trim(s);
  if (s == "N/A" || s == "(null)" || s == "Unknown" || s == "None assigned" || s == "n/a") {
    return {};
  }
  return std::string(s);
}

// "KEY=VALUE KEY=VALUE ..." as scontrol's -o prints it; a value may hold spaces (the words up
// to the next KEY=).
std::map<std::string, std::string> key_values(std::string_view line) {
  std::map<std::string, std::string> out;
  std::string* last = nullptr;
  for (auto word : text::fields(line)) {
    auto eq = word.find('=');
    bool key =
        eq != std::string_view::npos && eq > 0 &&
        std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(eq), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
                 c == ':' || c == '/' || c == '.';
        });
    if (key) {
      last = &out[std::string(word.substr(0, eq))];
      *last = std::string(word.substr(eq + 1));
    } else if (last != nullptr) {
      *last += ' ';
      *last += word;
    }
  }
  return out;
}

std::string value_of(const std::map<std::string, std::string>& kv, const char* key) {
  auto it = kv.find(key);
  return it == kv.end() ? std::string{} : clean(it->second);
}

// The first word of a state: sacct's "CANCELLED by 4310", squeue's "CANCELLED+".
std::string state_word(std::string_view s) {
  auto words = text::fields(s);
  std::string out = words.empty() ? std::string{} : std::string(words.front());
  while (!out.empty() && out.back() == '+') {
    out.pop_back();
  }
  return out;
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Not started yet (held or queued again included).
bool pending_state(std::string_view s) {
  return one_of(s, {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                    "RESV_DEL_HOLD", "SPECIAL_EXIT"});
}

// Started and not over: the allocation is still there.
bool started_state(std::string_view s) {
  return one_of(
      s, {"RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"});
}

bool live_state(std::string_view s) {
  return pending_state(s) || started_state(s);
}

// What the lines "sbatch: error: WHY" (or scancel's, or sacctmgr's) say: each WHY.
std::vector<std::string> error_lines(std::string_view body, std::string_view prefix) {
  std::vector<std::string> out;
  for (auto line : text::lines(body)) {
    auto t = text::trim(line);
    if (t.starts_with(prefix)) {
      auto why = std::string(text::trim(t.substr(prefix.size())));
      if (!why.empty()) {
        out.push_back(std::move(why));
      }
    }
  }
  return out;
}

std::string last_line(std::string_view body) {
  std::string out;
  for (auto line : text::lines(body)) {
    auto t = text::trim(line);
    if (!t.empty()) {
      out = std::string(t);
    }
  }
  return out;
}

}  // namespace

// Returns the minutes, seconds rounded up as Slurm does. "UNLIMITED" and "infinite" (any case,
// as Slurm reads them) return kUnlimited, a number of minutes above any real limit that can
// still be added to; "0" returns 0 (which Slurm reads as no limit). Within a form the
// components after the first are checked (hours after "D-" up to 23, minutes and seconds up to
// 59), the first is any number.
std::optional<long long> parse_time_limit(std::string_view limit) {
  constexpr long long kUnlimited = std::numeric_limits<long long>::max() / 2;
  constexpr long long kBig = 100'000'000;  // first components beyond this are typos
  auto t = text::lower(text::trim(limit));
  if (t == "unlimited" || t == "infinite") {
    return kUnlimited;
  }
  std::string_view s = t;
  long long days = 0;
  bool with_days = false;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    auto d = text::parse_int(s.substr(0, dash), 0, kBig);
    if (!d || !all_digits(s.substr(0, dash))) {
      return std::nullopt;
    }
    days = *d;
    with_days = true;
    s.remove_prefix(dash + 1);
  }
  auto parts = split(s, ':');
  std::vector<long long> v;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool first = i == 0 && !with_days;
    const long long hi = first ? kBig : (i == 0 ? 23 : 59);
    if (!all_digits(parts[i])) {
      return std::nullopt;
    }
    auto n = text::parse_int(parts[i], 0, hi);
    if (!n) {
      return std::nullopt;
    }
    v.push_back(*n);
  }
  long long seconds = 0;
  if (with_days) {
    // D-H, D-H:MM, D-H:MM:SS
    if (v.size() > 3) {
      return std::nullopt;
    }
    seconds =
        days * 86400 + v[0] * 3600 + (v.size() > 1 ? v[1] * 60 : 0) + (v.size() > 2 ? v[2] : 0);
  } else if (v.size() == 1) {
    seconds = v[0] * 60;  // MM
  } else if (v.size() == 2) {
    seconds = v[0] * 60 + v[1];  // MM:SS
  } else if (v.size() == 3) {
    seconds = v[0] * 3600 + v[1] * 60 + v[2];  // H:MM:SS
  } else {
    return std::nullopt;
  }
  return (seconds + 59) / 60;
}

std::string validate(const JobOptions& o) {
  struct Named {
    const char* option;
    const std::optional<std::string>* value;
  };
  for (const auto& [option, value] : {Named{"--partition", &o.partition},
                                      Named{"--account", &o.account}, Named{"--qos", &o.qos}}) {
    if (*value && !is_name(**value)) {
      return fmt::format("invalid {} '{}': a Slurm name is letters, digits and _ . - (not first)",
                         option, **value);
    }
  }
  if (o.gres && !valid_gres(*o.gres)) {
    return fmt::format("invalid --gres '{}': use NAME[:TYPE][:COUNT], e.g. gpu:1 or gpu:a100:2",
                       *o.gres);
  }
  if (o.gpus && !valid_gpus(*o.gpus)) {
    return fmt::format("invalid --gpus '{}': use N or TYPE:N, N from 1 to 1024", *o.gpus);
  }
  if (o.time && !parse_time_limit(*o.time)) {
    return fmt::format("invalid --time '{}': use MM, H:MM:SS or D-H:MM:SS (Slurm's forms)",
                       *o.time);
  }
  if (o.cpus_per_task && (*o.cpus_per_task < 1 || *o.cpus_per_task > 4096)) {
    return fmt::format("invalid --cpus-per-task {}: use 1 to 4096", *o.cpus_per_task);
  }
  if (o.mem && !valid_mem(*o.mem)) {
    return fmt::format("invalid --mem '{}': use a number with an optional unit K, M, G or T",
                       *o.mem);
  }
  return check_sbatch_args(o.sbatch_args);
}

std::string job_name(std::string_view name) {
  return fmt::format("jl-{}", name);
}

std::vector<std::string> sbatch_arguments(std::string_view name, const JobOptions& o) {
  std::vector<std::string> out = {"--job-name=" + job_name(name), "--nodes=1", "--ntasks=1",
                                  "--output=/dev/null"};
  auto add = [&](const char* option, const std::optional<std::string>& value) {
    if (value) {
      out.push_back(fmt::format("--{}={}", option, *value));
    }
  };
  add("partition", o.partition);
  add("gres", o.gres);
  add("gpus", o.gpus);
  add("time", o.time);
  if (o.cpus_per_task) {
    out.push_back(fmt::format("--cpus-per-task={}", *o.cpus_per_task));
  }
  add("mem", o.mem);
  add("account", o.account);
  add("qos", o.qos);
  out.insert(out.end(), o.sbatch_args.begin(), o.sbatch_args.end());
  return out;
}

namespace {

// Parameters: nonce, the batch script, sbatch's arguments.
constexpr std::string_view kSubmit = R"SH(n=$1 job=$2
shift 2
m() { printf '@@%s %s\n' "$n" "$*"; }
if ! command -v sbatch >/dev/null 2>&1; then m missing sbatch; exit 0; fi
out=$(printf '%s' "$job" | sbatch --parsable "$@" 2>&1)
rc=$?
m submit "$rc"
printf '%s\n' "$out"
)SH";

// Parameters: nonce, job id.
constexpr std::string_view kCancel = R"SH(n=$1 id=$2
m() { printf '@@%s %s\n' "$n" "$*"; }
if ! command -v scancel >/dev/null 2>&1; then m missing scancel; exit 0; fi
out=$(scancel "$id" 2>&1)
rc=$?
m cancel "$rc"
printf '%s\n' "$out"
)SH";

}  // namespace

std::string submit_command(std::string_view nonce, const std::vector<std::string>& arguments) {
  std::vector<std::string> args = {std::string(nonce), std::string(batch_script())};
  args.insert(args.end(), arguments.begin(), arguments.end());
  return sh_c(kSubmit, args);
}

Submitted parse_submit(std::string_view output, std::string_view nonce) {
  Submitted r;
  bool answered = false;
  for (const auto& s : probe::split_sections(output, nonce)) {
    if (s.kind == "missing") {
      r.missing = true;
      r.error = "no sbatch on the login node";
      return r;
    }
    if (s.kind != "submit") {
      continue;
    }
    answered = true;
    const bool ok = !s.args.empty() && s.args.front() == "0";
    if (ok) {
      for (auto line : text::lines(s.body)) {
        auto t = text::trim(line);
        auto id = t.substr(0, t.find(';'));
        if (all_digits(id)) {
          r.job_id = std::string(id);
        }
      }
      if (!r.job_id.empty()) {
        return r;
      }
    }
    // Slurm's reason first ("Batch job submission failed: WHY"), then what else it said.
    std::string reason;
    std::vector<std::string> other;
    constexpr std::string_view kFailed = "Batch job submission failed: ";
    for (auto& why : error_lines(s.body, "sbatch: error: ")) {
      if (why.starts_with(kFailed)) {
        reason = why.substr(kFailed.size());
      } else {
        other.push_back(std::move(why));
      }
    }
    if (reason.empty() && !other.empty()) {
      reason = other.front();
      other.erase(other.begin());
    }
    if (reason.empty()) {
      reason = last_line(s.body);
    } else if (!other.empty()) {
      reason += " (" + text::join(other, "; ") + ")";
    }
    r.error = reason.empty() ? (ok ? "sbatch printed no job id" : "sbatch failed") : reason;
  }
  if (!answered) {
    auto said = last_line(output);
    r.error = said.empty() ? "no answer from sbatch" : said;
  }
  return r;
}

bool Job::pending() const {
  return pending_state(state);
}

bool Job::running() const {
  return state == "RUNNING";
}

bool Job::ended() const {
  return known && !state.empty() && !live_state(state);
}

std::string job_state_command(std::string_view nonce, std::string_view id) {
  return sh_c(scripts::slurm_state(),
              std::vector<std::string>{std::string(nonce), std::string(id), std::string()});
}

std::string find_job_command(std::string_view nonce, std::string_view name) {
  return sh_c(scripts::slurm_state(),
              std::vector<std::string>{std::string(nonce), std::string(), job_name(name)});
}

Job parse_job_state(std::string_view output, std::string_view nonce, std::string_view id) {
  Job job;
  job.id = std::string(id);
  bool from_squeue = false;
  std::string trouble;  // why squeue did not answer, when it did not
  std::map<std::string, std::string> node;
  std::vector<std::string_view> acct;  // sacct's fields
  std::map<std::string, std::string> control;
  const auto sections = probe::split_sections(output, nonce);
  for (const auto& s : sections) {
    if (s.kind == "missing") {
      trouble = fmt::format("no {} on the login node", s.rest);
    } else if (s.kind == "squeue") {
      if (s.args.empty() || s.args.front() != "0") {
        // "Invalid job id specified": it has left squeue. Anything else: squeue's trouble.
        if (s.body.find("Invalid job id") == std::string::npos) {
          trouble = last_line(s.body);
        }
        continue;
      }
      for (auto line : text::lines(s.body)) {
        auto f = split(text::trim(line), '|');
        if (f.size() < 9 || (!id.empty() && f[0] != id) || from_squeue) {
          continue;
        }
        from_squeue = true;
        job.known = true;
        job.id = std::string(f[0]);
        job.state = state_word(f[1]);
        job.reason = clean(f[2]);
        job.start = clean(f[3]);
        job.node = clean(f[4]);
        job.time_left = clean(f[5]);
        job.time_limit = clean(f[6]);
        job.elapsed = clean(f[7]);
        job.partition = clean(f[8]);
      }
    } else if (s.kind == "node") {
      for (auto line : text::lines(s.body)) {
        if (text::trim(line).starts_with("NodeName=")) {
          node = key_values(line);
          break;
        }
      }
    } else if (s.kind == "sacct" && !id.empty()) {
      for (auto line : text::lines(s.body)) {
        auto f = split(text::trim(line), '|');
        if (f.size() >= 10 && f[0] == id) {
          acct = f;  // the last record: a requeued job has one per run with -D
        }
      }
    } else if (s.kind == "scontrol" && !id.empty()) {
      for (auto line : text::lines(s.body)) {
        auto kv = key_values(line);
        if (value_of(kv, "JobId") == id && kv.contains("JobState")) {
          control = std::move(kv);
          break;
        }
      }
    }
  }
  if (!(from_squeue && live_state(job.state))) {
    if (!acct.empty()) {
      job.known = true;
      job.from_accounting = true;
      job.state = state_word(acct[1]);
      job.elapsed = clean(acct[2]);
      job.start = clean(acct[3]);
      job.node = clean(acct[5]);
      job.reason = clean(acct[6]);
      job.exit_code = clean(acct[7]);
      job.time_limit = clean(acct[8]);
      job.partition = clean(acct[9]);
      job.time_left.clear();
    } else if (!control.empty()) {
      job.known = true;
      job.from_accounting = false;
      job.state = state_word(value_of(control, "JobState"));
      job.reason = value_of(control, "Reason");
      job.elapsed = value_of(control, "RunTime");
      job.time_limit = value_of(control, "TimeLimit");
      job.exit_code = value_of(control, "ExitCode");
      job.node = value_of(control, "NodeList");
      job.partition = value_of(control, "Partition");
      job.start = value_of(control, "StartTime");
      job.time_left.clear();
    }
  }
  if (!job.known && !trouble.empty()) {
    // Unknown, but only because Slurm did not answer: the reason says so.
    job.query_error = trouble;
    job.reason = std::move(trouble);
  }
  if (job.known && !job.node.empty()) {
    auto addr = value_of(node, "NodeAddr");
    const bool same = value_of(node, "NodeName") == job.node;
    job.node_addr = same && !addr.empty() ? addr : job.node;
  }
  return job;
}

std::string pending_words(const Job& job) {
  std::string out = job.state.empty() ? std::string("PENDING") : job.state;
  if (job.state == "CONFIGURING") {
    out += " (the node boots)";
  } else if (!job.reason.empty() && job.reason != "None") {
    out += fmt::format(" ({})", job.reason);
  }
  if (!job.start.empty() && job.start != "N/A" && job.start != "Unknown") {
    out += ", start expected " + job.start;
  }
  return out;
}

std::optional<std::string> never_starts(const Job& job) {
  if (!job.pending()) {
    return std::nullopt;
  }
  const std::string& r = job.reason;
  if (r == "PartitionTimeLimit") {
    return r + ": the time asked for is over the partition's limit";
  }
  if (r == "PartitionNodeLimit") {
    return r + ": the nodes asked for are over the partition's limit";
  }
  if (r == "InvalidAccount" || r == "InvalidQOS") {
    return r + ": Slurm does not let this account or QOS run here";
  }
  if (r == "BadConstraints") {
    return r + ": no node has what the job asks for";
  }
  if (r == "DependencyNeverSatisfied") {
    return r + ": the job it depends on will not end as asked";
  }
  if (r.ends_with("PerJobLimit") || r.ends_with("PerJob")) {
    return r + ": the job asks for more than the account's or QOS's per-job limit";
  }
  return std::nullopt;
}

std::string ended_words(const Job& job) {
  if (!job.known && !job.reason.empty()) {
    return fmt::format("job {}: Slurm did not answer ({})", job.id, job.reason);
  }
  if (!job.known) {
    return fmt::format("job {} is unknown to Slurm (it ended long ago, or was never submitted)",
                       job.id);
  }
  std::string out = fmt::format("job {} ended: {}", job.id, job.state);
  if (!job.elapsed.empty()) {
    out += " after " + format_elapsed(job.elapsed);
  }
  std::vector<std::string> more;
  // Only reasons that tell how it ended: the reason field keeps the last one it waited for
  // (Resources, Priority, AssocGrpGRES), which says nothing about its end.
  const auto& why = job.reason;
  if (why == "NodeDown") {
    more.push_back(job.node.empty() ? std::string("its node down")
                                    : fmt::format("node {} down", job.node));
  } else if (why == "JobLaunchFailure" || why == "Prolog" || why.starts_with("launch failed")) {
    more.push_back(why);
  }
  if ((job.state == "FAILED" || job.state == "COMPLETED") && !job.exit_code.empty() &&
      job.exit_code != "0:0") {
    more.push_back("exit " + job.exit_code);
  }
  if (!more.empty()) {
    out += " (" + text::join(more, ", ") + ")";
  }
  return out;
}

std::string format_elapsed(std::string_view elapsed) {
  auto s = text::trim(elapsed);
  std::string_view days;
  std::string_view clock = s;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    days = s.substr(0, dash);
    clock = s.substr(dash + 1);
    if (!all_digits(days)) {
      return std::string(s);
    }
  }
  auto parts = split(clock, ':');
  std::vector<long long> v;
  for (auto p : parts) {
    auto n = text::parse_int(p, 0, 1'000'000'000);
    if (!all_digits(p) || !n) {
      return std::string(s);
    }
    v.push_back(*n);
  }
  long long h = 0;
  long long m = 0;
  long long sec = 0;
  if (v.size() == 3) {
    h = v[0];
    m = v[1];
    sec = v[2];
  } else if (v.size() == 2 && days.empty()) {
    m = v[0];
    sec = v[1];
  } else {
    return std::string(s);
  }
  if (m > 59 || sec > 59) {
    return std::string(s);
  }
  auto hms = fmt::format("{}:{:02}:{:02}", h, m, sec);
  if (days.empty()) {
    return hms;
  }
  return fmt::format("{}-{}", text::parse_int(days, 0, 1'000'000'000).value_or(0), hms);
}

std::string cancel_command(std::string_view nonce, std::string_view id) {
  return sh_c(kCancel, std::vector<std::string>{std::string(nonce), std::string(id)});
}

bool parse_cancel(std::string_view output, std::string_view nonce, std::string* error) {
  std::string why;
  bool answered = false;
  for (const auto& s : probe::split_sections(output, nonce)) {
    if (s.kind == "missing") {
      why = "no scancel on the login node";
      answered = true;
      break;
    }
    if (s.kind != "cancel") {
      continue;
    }
    answered = true;
    if (!s.args.empty() && s.args.front() == "0") {
      return true;
    }
    if (s.body.find("Job/step already completing or completed") != std::string::npos ||
        s.body.find("Invalid job id") != std::string::npos) {
      return true;  // it had ended already
    }
    auto lines = error_lines(s.body, "scancel: error: ");
    why = lines.empty() ? last_line(s.body) : text::join(lines, "; ");
    if (why.empty()) {
      why = "scancel failed";
    }
  }
  if (!answered) {
    why = last_line(output);
    if (why.empty()) {
      why = "no answer from scancel";
    }
  }
  if (error != nullptr) {
    *error = why;
  }
  return false;
}

std::vector<std::string> step_words(std::string_view id) {
  return {"srun", "--overlap", "--jobid=" + std::string(id), "--nodes=1", "--ntasks=1", "--quiet"};
}

std::string handoff_dir_words(std::string_view id) {
  return fmt::format("/tmp/jl-$(id -u)/job-{}", id);
}

std::string probe_and_start_command(std::string_view nonce, std::string_view id) {
  std::string inner = "n=$1\n";
  inner += scripts::prelude();
  inner += scripts::probe_inner();
  inner += scripts::start_inner();
  return sh_c(scripts::slurm_step(), std::vector<std::string>{std::string(nonce), std::string(id),
                                                              std::move(inner), "plan"});
}

std::string_view batch_script() {
  return scripts::slurm_job();
}

std::string log_command(std::string_view nonce, std::string_view id, std::string_view log_file,
                        int lines, bool follow) {
  if (lines < 0) {
    throw std::invalid_argument("a negative number of lines");
  }
  const std::vector<std::string> reader = {"sh",
                                           "-c",
                                           std::string(scripts::logs()),
                                           "jl",
                                           std::string(nonce),
                                           std::string(log_file),
                                           std::to_string(lines),
                                           follow ? "1" : "0"};
  auto step = step_words(id);
  step.insert(step.end(), reader.begin(), reader.end());
  const auto quoted_id = shell::quote(id);
  return fmt::format(
      "if [ \"$(squeue -h -j {} -t R -o %i 2>/dev/null)\" = {} ]; then {}; else {}; fi 2>&1",
      quoted_id, quoted_id, shell::join(step), shell::join(reader));
}

std::string config_command(std::string_view id) {
  auto words = step_words(id);
  words.emplace_back("sh");
  words.emplace_back("-c");
  words.push_back(std::string(scripts::jupyter_config()) + std::string(scripts::find_python()));
  return shell::join(words) + " </dev/null 2>&1";
}

std::string doctor_command(std::string_view nonce, const std::optional<std::string>& partition) {
  return sh_c(scripts::slurm_doctor(),
              std::vector<std::string>{std::string(nonce), partition.value_or(std::string())});
}

DoctorFacts parse_doctor(std::string_view output, std::string_view nonce) {
  DoctorFacts r;
  std::string asked;
  struct Partition {
    std::string state;
    std::string time_limit;
    long long nodes = 0;
    std::vector<std::string> gres;
  };
  std::map<std::string, Partition> partitions;
  std::string default_partition;
  for (const auto& s : probe::split_sections(output, nonce)) {
    const bool ok = !s.args.empty() && s.args.front() == "0";
    if (s.kind == "tools") {
      for (auto line : text::lines(s.body)) {
        auto f = text::fields(line);
        if (f.size() == 2 && f[1] == "no") {
          r.missing_tools.emplace_back(f[0]);
        }
      }
    } else if (s.kind == "partition") {
      asked = s.rest;
    } else if (s.kind == "version") {
      r.version = last_line(s.body);
    } else if (s.kind == "sinfo" && ok) {
      for (auto line : text::lines(s.body)) {
        auto f = split(text::trim(line), '|');
        if (f.size() < 5 || f[0].empty()) {
          continue;
        }
        std::string name(f[0]);
        if (name.back() == '*') {
          name.pop_back();
          default_partition = name;
        }
        if (!partitions.contains(name)) {
          r.partitions.push_back(name);
        }
        auto& p = partitions[name];
        p.state = std::string(text::trim(f[1]));
        p.time_limit = clean(f[2]);
        p.nodes += text::parse_int(text::trim(f[3]), 0, 1LL << 31).value_or(0);
        auto gres = clean(f[4]);
        if (!gres.empty() && std::find(p.gres.begin(), p.gres.end(), gres) == p.gres.end()) {
          p.gres.push_back(gres);
        }
      }
    } else if (s.kind == "assoc") {
      if (!ok) {
        auto lines = error_lines(s.body, "sacctmgr: error: ");
        r.accounting_error = lines.empty() ? last_line(s.body) : text::join(lines, "; ");
        if (r.accounting_error.empty()) {
          r.accounting_error = "sacctmgr failed";
        }
        continue;
      }
      r.accounting = true;
      static constexpr std::array<const char*, 8> kColumns = {
          "Account", "Partition", "MaxWall", "MaxTRES", "GrpTRES", "MaxJobs", "MaxSubmit", "QOS"};
      for (auto line : text::lines(s.body)) {
        auto f = split(text::trim(line), '|');
        if (f.size() < kColumns.size() || f[0].empty()) {
          continue;
        }
        std::string words = fmt::format("account {}", f[0]);
        if (!f[1].empty()) {
          words += fmt::format(" (partition {})", f[1]);
        }
        std::vector<std::string> limits;
        for (std::size_t i = 2; i < kColumns.size(); ++i) {
          auto v = clean(f[i]);
          if (v.empty()) {
            continue;
          }
          limits.push_back(
              fmt::format("{} {}", kColumns[i], i == 2 ? format_elapsed(v) : std::string(v)));
        }
        if (!limits.empty()) {
          words += ": " + text::join(limits, ", ");
        }
        if (std::find(r.associations.begin(), r.associations.end(), words) ==
            r.associations.end()) {
          r.associations.push_back(std::move(words));
        }
      }
    }
  }
  r.partition = asked.empty() ? default_partition : asked;
  if (auto it = partitions.find(r.partition); it != partitions.end()) {
    r.partition_found = true;
    r.partition_state = it->second.state;
    r.partition_time_limit = it->second.time_limit;
    r.partition_nodes = std::to_string(it->second.nodes);
    r.partition_gres = text::join(it->second.gres, ",");
  }
  return r;
}

}  // namespace jl::slurm
