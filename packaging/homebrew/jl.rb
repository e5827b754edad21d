# Homebrew formula for jl.
#
# jl has no published release and no public address yet, so no public tap carries this
# formula. packaging/homebrew/install.sh makes a source tarball of the checkout, copies this
# file into a local tap (jl/local) with the url, version and sha256 lines set to that tarball,
# then runs `brew install` and `brew test` on it. The tap is needed because current Homebrew
# refuses to install a formula file that is not in a tap.
class Jl < Formula
  desc "Run Jupyter in a container on a remote host, over SSH"
  # No homepage line: the project has no public web address yet.
  # install.sh replaces the next three lines (the placeholders keep this file valid Ruby).
  url "file:///nonexistent/jl-0.1.0.tar.gz"
  version "0.1.0"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  # No license line: the repository has no license file yet.

  depends_on "cli11" => :build
  depends_on "cmake" => :build
  depends_on "googletest" => :build
  depends_on "nlohmann-json" => :build
  depends_on "fmt"
  depends_on "libssh"

  # The test block below checks that jl works without a network.
  deny_network_access! :test

  def install
    # Warnings stay warnings: a newer Apple clang's new warning must not fail the install.
    args = %w[
      -DJL_WERROR=OFF
      -DJL_BUILD_TESTS=ON
    ]
    system "cmake", "-S", ".", "-B", "build", *args, *std_cmake_args
    system "cmake", "--build", "build"
    # The unit tests need no network, Docker or SSH server: a build that is broken on this
    # Mac stops here, before anything is installed.
    system "ctest", "--test-dir", "build", "--label-regex", "unit", "--output-on-failure",
                    "--parallel", ENV.make_jobs.to_s
    system "cmake", "--install", "build"
  end

  test do
    ENV["XDG_CONFIG_HOME"] = (testpath/"config").to_s
    ENV["XDG_STATE_HOME"] = (testpath/"state").to_s
    ENV["XDG_CACHE_HOME"] = (testpath/"cache").to_s

    assert_equal "jl #{version}\n", shell_output("#{bin}/jl --version")

    # The man page, and the completion scripts: built into the binary, and installed where
    # each shell looks for them under Homebrew's prefix.
    assert_path_exists man1/"jl.1.gz"
    assert_match "complete -F _jl jl", shell_output("#{bin}/jl completion bash")
    assert_match "#compdef jl", shell_output("#{bin}/jl completion zsh")
    assert_path_exists share/"bash-completion/completions/jl"
    assert_path_exists zsh_completion/"_jl"
    assert_path_exists fish_completion/"jl.fish"

    # No session started yet: status lists none, and connects nowhere to say so.
    assert_equal "no known sessions (start one with: jl start CONTAINER)\n",
                 shell_output("#{bin}/jl status")
    assert_equal "[]\n", shell_output("#{bin}/jl --json status")

    # The configuration file: where it is, what it sets and where each setting comes from,
    # and a bad one refused with exit status 2.
    config = testpath/"config/jl/config.json"
    assert_equal "#{config}\n", shell_output("#{bin}/jl config path")
    config.dirname.mkpath
    config.write '{"host": "gpubox", "hosts": {"gpubox": {"port": 9000}}}'
    settings = JSON.parse(shell_output("#{bin}/jl --json config show"))["settings"]
    assert_equal "gpubox", settings["host"]["value"]
    assert_equal 9000, settings["port"]["value"]
    assert_equal "hosts.gpubox.port", settings["port"]["origin"]
    config.write '{"host": 5}'
    assert_match '"host" must be a string', shell_output("#{bin}/jl config show 2>&1", 2)
  end
end
