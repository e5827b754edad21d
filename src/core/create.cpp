#include "jl/core/create.hpp"

#include <fmt/format.h>

#include "jl/core/probe.hpp"
#include "jl/core/shell.hpp"
#include "jl/core/text.hpp"
#include "scripts.hpp"

namespace jl::container {

namespace {

std::string_view pull_word(Pull pull) {
  return to_string(pull);
}

std::optional<int> status_of(const probe::Section& s) {
  if (s.args.empty()) {
    return std::nullopt;
  }
  auto v = text::parse_int(s.args.front(), 0, 255);
  if (!v) {
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

}  // namespace

std::string ensure_command(std::string_view nonce, const std::string& name,
                           const std::string& image, Pull pull, bool start_stopped,
                           const std::vector<std::string>& docker,
                           const std::vector<std::string>& run_args) {
  const auto& words = probe::docker_words(docker);
  std::vector<std::string> args = {std::string(nonce),
                                   name,
                                   image,
                                   std::string(pull_word(pull)),
                                   start_stopped   ? "start"
                                   : image.empty() ? "leave"
                                                   : "ours",
                                   words.front(),
                                   shell::join(words)};
  args.insert(args.end(), run_args.begin(), run_args.end());
  return shell::sh_c(scripts::ensure_container(), args);
}

EnsureReport parse_ensure(std::string_view output, std::string_view nonce) {
  EnsureReport r;
  for (const auto& s : probe::split_sections(output, nonce)) {
    const std::string body(text::trim(s.body));
    if (s.kind == "docker-missing") {
      r.docker_missing = true;
    } else if (s.kind == "exists") {
      r.exists = true;
      r.status = s.args.empty() ? std::string{} : s.args.front();
      r.made_by_jl = s.args.size() > 1 && s.args[1] == "jl";
    } else if (s.kind == "spec") {
      // One line: the label's JSON (docker prints "<no value>" when there is none).
      const std::string line = body.substr(0, body.find('\n'));
      r.spec_label = line == "<no value>" ? std::string{} : line;
    } else if (s.kind == "started") {
      r.start_rc = status_of(s).value_or(-1);
      r.start_output = body;
    } else if (s.kind == "inspect-failed") {
      r.inspect_rc = status_of(s).value_or(-1);
      r.inspect_output = body;
    } else if (s.kind == "missing") {
      r.missing = true;
    } else if (s.kind == "image") {
      r.image_present = !s.args.empty() && s.args.front() == "yes";
    } else if (s.kind == "pull-needed") {
      r.pull_needed = true;
    } else if (s.kind == "run") {
      r.run_output = body;
    } else if (s.kind == "run-rc") {
      r.run_rc = status_of(s).value_or(-1);
    } else if (s.kind == "end") {
      r.complete = true;
    }
  }
  return r;
}

std::string made_by_command(const std::string& name, const std::vector<std::string>& docker) {
  std::vector<std::string> words = probe::docker_words(docker);
  for (const char* w : {"inspect", "--type", "container", "--format"}) {
    words.emplace_back(w);
  }
  words.push_back(fmt::format("{{{{index .Config.Labels \"{}\"}}}}", kMadeByLabel));
  words.push_back(name);
  return shell::join(words);
}

std::string remove_command(const std::string& name, const std::vector<std::string>& docker) {
  std::vector<std::string> words = probe::docker_words(docker);
  words.emplace_back("rm");
  words.emplace_back("-f");
  words.push_back(name);
  return shell::join(words);
}

bool no_gpu_runtime(std::string_view said) {
  return said.find("could not select device driver") != std::string_view::npos ||
         said.find("nvidia-container-cli") != std::string_view::npos ||
         said.find("unknown or invalid runtime name: nvidia") != std::string_view::npos;
}

bool rlimit_refused(std::string_view said) {
  return said.find("error setting rlimit") != std::string_view::npos &&
         said.find("operation not permitted") != std::string_view::npos;
}

std::vector<std::string> without_memlock(const std::vector<std::string>& run_args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < run_args.size(); ++i) {
    if (run_args[i] == "--ulimit" && i + 1 < run_args.size() &&
        run_args[i + 1].starts_with("memlock=")) {
      ++i;
      continue;
    }
    out.push_back(run_args[i]);
  }
  return out;
}

}  // namespace jl::container
