// The script that makes sure a container exists (ensure_command), run for real under dash and
// busybox sh with a stand-in `docker` that answers from files and records its arguments; and
// its report's parser.

#include "jl/core/create.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using jl::container::EnsureReport;
using jl::container::Pull;
using jl_test::exists;
using jl_test::read_file;
using jl_test::run_sh;
using jl_test::split_nul;
using jl_test::write_file;

// A docker that knows one container (the file "container": "STATUS MADEBY"; "spec" its label),
// the images listed in "images", and fails a run when "run-fails" holds its words. Every call's
// arguments go to args-COMMAND, NUL-separated.
constexpr const char* kDocker = R"SH(#!/bin/sh
d=$FAKE_DOCKER_DIR
cmd=$1
[ "$cmd" = image ] && cmd=image-$2
printf '%s\0' "$@" >"$d/args-$cmd"
case $1 in
  inspect)
    if [ ! -f "$d/container" ]; then echo "Error: No such container: $6" >&2; exit 1; fi
    case $5 in
      *jl.spec*) cat "$d/spec" 2>/dev/null || echo '<no value>';;
      *) cat "$d/container";;
    esac;;
  image)
    grep -qxF "$3" "$d/images" 2>/dev/null;;
  pull)
    echo "the script must not pull" >&2; exit 1;;
  run)
    if [ -f "$d/run-fails" ]; then cat "$d/run-fails" >&2; exit 125; fi
    echo "running jl" >"$d/container"
    echo 5d19e0c4a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901234567890abcd;;
  start)
    if [ -f "$d/start-fails" ]; then cat "$d/start-fails" >&2; exit 1; fi
    sed 's/^[a-z]* /running /' "$d/container" >"$d/c2" && mv "$d/c2" "$d/container"
    echo "$2";;
esac
)SH";

constexpr const char* kNonce = "N0NCE";

class Ensure : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    for (const auto& d : {bin, docker_dir}) {
      ASSERT_EQ(::mkdir(d.c_str(), 0700), 0) << d;
    }
    write_file(bin + "/docker", kDocker, 0755);
    ASSERT_EQ(::symlink(GetParam(), (bin + "/sh").c_str()), 0);
    auto which = run_sh("sh -c 'readlink /proc/$$/exe; :'", {}, env());
    ASSERT_EQ(which.out, std::filesystem::canonical(GetParam()).string() + "\n");
  }

  std::map<std::string, std::string> env() const {
    return {{"PATH", bin + ":/usr/bin:/bin"}, {"FAKE_DOCKER_DIR", docker_dir}};
  }

  EnsureReport ensure(const std::string& image, Pull pull, bool start_stopped,
                      const std::vector<std::string>& docker = {"docker"}) {
    auto r = run_sh(jl::container::ensure_command(
                        kNonce, "proj1", image, pull, start_stopped, docker,
                        {"run", "-d", "--name", "proj1", image, "tail", "-f", "/dev/null"}),
                    {}, env());
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status, 0) << r.out;
    last = r.out;
    return jl::container::parse_ensure(r.out, kNonce);
  }

  std::vector<std::string> args(const std::string& command) const {
    return split_nul(read_file(docker_dir + "/args-" + command));
  }

  jl_test::TempDir tmp;
  std::string bin = tmp.path() + "/bin";
  std::string docker_dir = tmp.path() + "/docker";
  std::string last;
};

TEST_P(Ensure, CreatesFromALocalImageWithoutPulling) {
  write_file(docker_dir + "/images", "lab:1\n");
  auto r = ensure("lab:1", Pull::missing, false);
  EXPECT_TRUE(r.complete) << last;
  EXPECT_TRUE(r.missing);
  EXPECT_EQ(r.image_present, true);
  EXPECT_FALSE(r.pull_needed);
  ASSERT_EQ(r.run_rc, 0) << last;
  EXPECT_EQ(r.run_output.substr(0, 12), "5d19e0c4a1b2");
  EXPECT_FALSE(exists(docker_dir + "/args-rm"));
  EXPECT_FALSE(exists(docker_dir + "/args-pull"));
  EXPECT_EQ(args("run"), (std::vector<std::string>{"run", "-d", "--name", "proj1", "lab:1", "tail",
                                                   "-f", "/dev/null"}));
}

// jl pulls as a step of its own (core/pull): the script only says that a pull is needed, and
// neither pulls nor runs.
TEST_P(Ensure, AMissingImageMustBePulledFirst) {
  auto r = ensure("reg.example:5000/lab:1", Pull::missing, false);
  EXPECT_TRUE(r.complete) << last;
  EXPECT_EQ(r.image_present, false);
  EXPECT_TRUE(r.pull_needed);
  EXPECT_FALSE(r.run_rc);
  EXPECT_FALSE(exists(docker_dir + "/args-pull"));
  EXPECT_FALSE(exists(docker_dir + "/args-run"));
  // Once it is there, the same script with Pull::never creates the container.
  write_file(docker_dir + "/images", "reg.example:5000/lab:1\n");
  auto again = ensure("reg.example:5000/lab:1", Pull::never, false);
  EXPECT_FALSE(again.pull_needed) << last;
  EXPECT_EQ(again.run_rc, 0) << last;
}

TEST_P(Ensure, PullAlwaysWantsAPullOfAPresentImage) {
  write_file(docker_dir + "/images", "lab:1\n");
  auto r = ensure("lab:1", Pull::always, false);
  EXPECT_EQ(r.image_present, true) << last;
  EXPECT_TRUE(r.pull_needed) << last;
  EXPECT_FALSE(r.run_rc);
}

TEST_P(Ensure, PullNeverWithoutTheImageCreatesNothing) {
  auto r = ensure("lab:1", Pull::never, false);
  EXPECT_TRUE(r.complete) << last;
  EXPECT_EQ(r.image_present, false);
  EXPECT_FALSE(r.pull_needed);
  EXPECT_FALSE(r.run_rc);
  EXPECT_FALSE(exists(docker_dir + "/args-run"));
}

TEST_P(Ensure, AFailedRunKeepsDockersWords) {
  write_file(docker_dir + "/images", "lab:1\n");
  write_file(docker_dir + "/run-fails",
             "docker: Error response from daemon: could not select device driver \"\" with "
             "capabilities: [[gpu]].\n");
  auto r = ensure("lab:1", Pull::missing, false);
  EXPECT_EQ(r.run_rc, 125) << last;
  EXPECT_TRUE(jl::container::no_gpu_runtime(r.run_output)) << r.run_output;
  // What the failed run may have created goes again.
  EXPECT_EQ(args("rm"), (std::vector<std::string>{"rm", "-f", "proj1"}));
}

TEST_P(Ensure, AnExistingContainerIsReportedWithItsLabel) {
  write_file(docker_dir + "/container", "running jl\n");
  write_file(docker_dir + "/spec", "{\"image\":\"lab:1\"}\n");
  auto r = ensure("lab:1", Pull::missing, false);
  EXPECT_TRUE(r.exists) << last;
  EXPECT_EQ(r.status, "running");
  EXPECT_TRUE(r.made_by_jl);
  EXPECT_EQ(r.spec_label, "{\"image\":\"lab:1\"}");
  EXPECT_FALSE(r.start_rc);
  EXPECT_FALSE(exists(docker_dir + "/args-run"));
  EXPECT_FALSE(exists(docker_dir + "/args-image-inspect"));
}

TEST_P(Ensure, AForeignContainerHasNoLabel) {
  write_file(docker_dir + "/container", "running <no value>\n");
  auto r = ensure("", Pull::missing, false);
  EXPECT_TRUE(r.exists) << last;
  EXPECT_FALSE(r.made_by_jl);
  EXPECT_TRUE(r.spec_label.empty());
}

TEST_P(Ensure, AStoppedContainerIsStartedWhenJlMadeItOrWhenAsked) {
  // Not jl's: left as it is, unless asked.
  write_file(docker_dir + "/container", "exited <no value>\n");
  auto left = ensure("lab:1", Pull::missing, false);
  EXPECT_EQ(left.status, "exited") << last;
  EXPECT_FALSE(left.start_rc);
  EXPECT_FALSE(exists(docker_dir + "/args-start"));
  // jl's, without an image (no recipe): left too.
  write_file(docker_dir + "/container", "exited jl\n");
  EXPECT_FALSE(ensure("", Pull::missing, false).start_rc) << last;
  EXPECT_FALSE(exists(docker_dir + "/args-start"));
  // jl's, with its image: started again.
  EXPECT_EQ(ensure("lab:1", Pull::missing, false).start_rc, 0) << last;
  write_file(docker_dir + "/container", "exited <no value>\n");
  auto started = ensure("lab:1", Pull::missing, true);
  EXPECT_EQ(started.start_rc, 0) << last;
  EXPECT_EQ(args("start"), (std::vector<std::string>{"start", "proj1"}));
  write_file(docker_dir + "/container", "exited jl\n");
  write_file(docker_dir + "/start-fails", "Error response from daemon: OCI runtime failed\n");
  auto failed = ensure("lab:1", Pull::missing, true);
  EXPECT_NE(failed.start_rc.value_or(0), 0) << last;
  EXPECT_NE(failed.start_output.find("OCI runtime failed"), std::string::npos);
}

TEST_P(Ensure, NoImageNeverCreates) {
  auto r = ensure("", Pull::missing, false);
  EXPECT_TRUE(r.missing) << last;
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.run_rc);
  EXPECT_FALSE(exists(docker_dir + "/args-run"));
}

// Without the arguments that create it (--gpus free:N: jl chooses the GPUs only once it knows
// the container must be made), a missing container is reported, and nothing is pulled or run.
TEST_P(Ensure, NoRunArgumentsOnlyReportsAMissingContainer) {
  auto out = run_sh(
      jl::container::ensure_command(kNonce, "proj1", "lab:1", Pull::always, false, {"docker"}, {}),
      {}, env());
  auto r = jl::container::parse_ensure(out.out, kNonce);
  EXPECT_TRUE(r.missing) << out.out;
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.image_present.has_value());
  EXPECT_FALSE(r.pull_needed);
  EXPECT_FALSE(r.run_rc);
  EXPECT_FALSE(exists(docker_dir + "/args-pull"));
  EXPECT_FALSE(exists(docker_dir + "/args-run"));
  // A stopped container jl made is still started.
  write_file(docker_dir + "/container", "exited jl\n");
  out = run_sh(
      jl::container::ensure_command(kNonce, "proj1", "lab:1", Pull::missing, false, {"docker"}, {}),
      {}, env());
  r = jl::container::parse_ensure(out.out, kNonce);
  EXPECT_TRUE(r.exists) << out.out;
  EXPECT_EQ(r.start_rc, 0);
}

TEST_P(Ensure, WithoutDocker) {
  auto r = ensure("lab:1", Pull::missing, false, {"no-such-docker"});
  EXPECT_TRUE(r.docker_missing) << last;
}

TEST_P(Ensure, TheConfiguredDockerCommandRunsAsItsWords) {
  write_file(bin + "/wrap",
             "#!/bin/sh\nprintf '%s\\n' \"$1\" >\"$FAKE_DOCKER_DIR/wrapped\"\n"
             "shift\nexec \"$@\"\n",
             0755);
  write_file(docker_dir + "/images", "lab:1\n");
  auto r = ensure("lab:1", Pull::missing, false, {"wrap", "it's a $word", "docker"});
  EXPECT_EQ(r.run_rc, 0) << last;
  EXPECT_EQ(read_file(docker_dir + "/wrapped"), "it's a $word\n");
}

INSTANTIATE_TEST_SUITE_P(Shells, Ensure, ::testing::Values("/bin/dash", "/bin/busybox"),
                         [](const ::testing::TestParamInfo<const char*>& shell) {
                           return std::string(shell.param).substr(5);
                         });

TEST(ParseEnsure, IgnoresWhatIsNotAMarker) {
  auto r = jl::container::parse_ensure(
      "@@N exists running jl\n@@N spec\n<no value>\nnoise @@N end\n@@N end\n", "N");
  EXPECT_TRUE(r.exists);
  EXPECT_TRUE(r.made_by_jl);
  EXPECT_TRUE(r.spec_label.empty());
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(jl::container::parse_ensure("@@X end\n", "N").complete);
}

TEST(NoGpuRuntime, TellsDockersGpuErrorsApart) {
  EXPECT_TRUE(jl::container::no_gpu_runtime(
      "docker: Error response from daemon: could not select device driver \"\" with "
      "capabilities: [[gpu]]."));
  EXPECT_TRUE(jl::container::no_gpu_runtime(
      "docker: Error response from daemon: unknown or invalid runtime name: nvidia."));
  EXPECT_FALSE(jl::container::no_gpu_runtime(
      "docker: Error response from daemon: Conflict. The container name \"/proj1\" is already "
      "in use."));
}

}  // namespace
