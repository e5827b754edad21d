#include "jl/sys/state_store.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "jl/core/error.hpp"
#include "support.hpp"

namespace {

using jl::SessionRecord;
using jl::State;
using jl::sys::StateStore;
using namespace std::chrono_literals;

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") {
        names.push_back(n);
      }
    }
    ::closedir(d);
  }
  return names;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

SessionRecord record(std::string host, std::string container) {
  SessionRecord s;
  s.host = std::move(host);
  s.container = std::move(container);
  return s;
}

class StateStoreTest : public ::testing::Test {
 protected:
  StateStore make() {
    return StateStore(dir, [this](std::string_view w) { warnings.emplace_back(w); });
  }

  jl_test::TempDir tmp;
  std::string dir = tmp / "state/jl";  // not there yet: the store creates it
  std::vector<std::string> warnings;
};

TEST_F(StateStoreTest, NothingSavedYetLoadsEmpty) {
  auto store = make();
  EXPECT_EQ(store.dir(), dir);
  EXPECT_EQ(store.state_file(), dir + "/state.json");
  EXPECT_TRUE(store.load().sessions.empty());
  EXPECT_TRUE(warnings.empty());
}

TEST_F(StateStoreTest, SaveThenLoadRoundTrip) {
  SessionRecord s = record("ann@gpu:2222", "torch-dev.2");
  s.ssh_config = "/home/ann/.ssh/config";
  s.app = "lab";
  s.server_version = "2.14.0";
  s.address = "172.17.0.2";
  s.port = 8888;
  s.base_url = "/x/";
  s.token = "0123456789abcdef0123456789abcdef0123456789abcdef";
  s.pid = 14;
  s.runtime_file = "/home/jovyan/.local/share/jupyter/runtime/jpserver-14.json";
  s.log = "/tmp/jl-1000/jupyter-8888.log";
  s.started_by_jl = true;
  s.started_at = "2024-05-01T12:00:00Z";
  s.local_port = 49152;
  s.tunnel_pid = 999;

  auto store = make();
  auto returned = store.update([&](State& st) { st.upsert(s); });
  ASSERT_EQ(returned.sessions.size(), 1U);
  EXPECT_EQ(returned.sessions[0], s);

  // A second store on the same directory (another jl run) reads the same.
  auto loaded = make().load();
  ASSERT_EQ(loaded.sessions.size(), 1U);
  EXPECT_EQ(loaded.sessions[0], s);
  EXPECT_TRUE(warnings.empty());

  make().update([](State& st) { st.remove("ann@gpu:2222", "torch-dev.2"); });
  EXPECT_TRUE(make().load().sessions.empty());
}

TEST_F(StateStoreTest, FileIsPrivateAndNoTemporariesAreLeft) {
  auto store = make();
  const mode_t old_umask = ::umask(0);  // even with a permissive umask
  store.update([](State& st) { st.upsert(record("h", "c")); });
  store.update([](State& st) { st.upsert(record("h", "d")); });
  ::umask(old_umask);
  EXPECT_EQ(mode_of(store.state_file()), 0600);
  EXPECT_EQ(mode_of(dir) & 077, 0U);
  for (const auto& name : list_dir(dir)) {
    EXPECT_TRUE(name == "state.json" || name == "state.lock") << name;
  }
}

TEST_F(StateStoreTest, FailedChangeWritesNothing) {
  auto store = make();
  store.update([](State& st) { st.upsert(record("h", "c")); });
  EXPECT_THROW(store.update([](State& st) {
    st.upsert(record("h", "other"));
    throw std::runtime_error("changed my mind");
  }),
               std::runtime_error);
  auto loaded = store.load();
  ASSERT_EQ(loaded.sessions.size(), 1U);
  EXPECT_EQ(loaded.sessions[0].container, "c");
}

TEST_F(StateStoreTest, CorruptFileIsSetAsideWithAWarning) {
  for (const char* corrupt :
       {"{\"version\": 1, \"sessions\": [", "garbage\n", R"({"version": 99, "sessions": []})",
        R"({"version": 1, "sessions": [{"container": "c"}]})"}) {
    SCOPED_TRACE(corrupt);
    jl_test::TempDir fresh;
    warnings.clear();
    StateStore store(fresh.path(), [this](std::string_view w) { warnings.emplace_back(w); });
    jl_test::write_file(store.state_file(), corrupt, 0600);

    EXPECT_TRUE(store.load().sessions.empty());
    ASSERT_EQ(warnings.size(), 1U);
    EXPECT_NE(warnings[0].find(store.state_file()), std::string::npos) << warnings[0];
    EXPECT_FALSE(jl_test::exists(store.state_file()));
    std::vector<std::string> aside;
    for (const auto& name : list_dir(fresh.path())) {
      if (name.starts_with("state.json.corrupt-")) {
        aside.push_back(name);
      }
    }
    ASSERT_EQ(aside.size(), 1U);
    EXPECT_EQ(jl_test::read_file(fresh / aside[0]), corrupt);
    EXPECT_NE(warnings[0].find(aside[0]), std::string::npos) << warnings[0];

    // Work goes on with a fresh state.
    store.update([](State& st) { st.upsert(record("h", "c")); });
    EXPECT_EQ(store.load().sessions.size(), 1U);
    EXPECT_EQ(warnings.size(), 1U);
  }
}

TEST_F(StateStoreTest, CorruptFileFoundByUpdateIsSetAsideToo) {
  auto store = make();
  store.update([](State&) {});
  jl_test::write_file(store.state_file(), "][", 0600);
  auto st = store.update([](State& s) { s.upsert(record("h", "c")); });
  EXPECT_EQ(st.sessions.size(), 1U);
  EXPECT_EQ(warnings.size(), 1U);
}

TEST_F(StateStoreTest, ConcurrentUpdatesFromTwoProcessesLoseNothing) {
  constexpr int kPerProcess = 50;
  auto store = make();
  store.update([](State&) {});  // create the directory first
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      try {
        StateStore mine(dir, [](std::string_view) {});
        for (int i = 0; i < kPerProcess; ++i) {
          mine.update([&](State& st) {
            // Read-modify-write: a counter in the first session's pid, plus one record each.
            if (st.sessions.empty()) {
              st.upsert(record("counter", "c"));
            }
            st.sessions[0].pid += 1;
            st.upsert(record("p" + std::to_string(p), std::to_string(i)));
          });
        }
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto st = store.load();
  ASSERT_FALSE(st.sessions.empty());
  EXPECT_EQ(st.sessions[0].pid, 2 * kPerProcess);
  EXPECT_EQ(st.sessions.size(), 1U + 2 * kPerProcess);
  EXPECT_TRUE(warnings.empty());
}

// Holds the session lock (host, container) in a child process until told to let go.
class LockHolder {
 public:
  LockHolder(const std::string& dir, const std::string& host, const std::string& container) {
    int up[2];
    int down[2];
    EXPECT_EQ(::pipe(up), 0);
    EXPECT_EQ(::pipe(down), 0);
    m_pid = ::fork();
    if (m_pid == 0) {
      ::close(up[0]);
      ::close(down[1]);
      int rc = 0;
      try {
        StateStore store(dir, [](std::string_view) {});
        auto lock = store.lock_session(host, container, 1s);
        char c = 'L';
        rc = ::write(up[1], &c, 1) == 1 ? 0 : 2;
        if (::read(down[0], &c, 1) < 0) {  // until the parent lets go or exits
          rc = 3;
        }
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    ::close(up[1]);
    ::close(down[0]);
    m_release = down[1];
    char c = 0;
    m_locked = ::read(up[0], &c, 1) == 1;
    ::close(up[0]);
  }
  ~LockHolder() { release(); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

  bool locked() const { return m_locked; }
  int release() {
    if (m_pid <= 0) {
      return m_status;
    }
    ::close(m_release);
    ::waitpid(m_pid, &m_status, 0);
    m_pid = -1;
    return m_status;
  }

 private:
  pid_t m_pid = -1;
  int m_release = -1;
  bool m_locked = false;
  int m_status = -1;
};

TEST_F(StateStoreTest, SessionLockHeldByAnotherProcessTimesOut) {
  LockHolder holder(dir, "ann@gpu", "torch");
  ASSERT_TRUE(holder.locked());
  auto store = make();

  auto t0 = std::chrono::steady_clock::now();
  try {
    store.lock_session("ann@gpu", "torch", 300ms);
    FAIL() << "got a lock another process holds";
  } catch (const jl::Error& e) {
    EXPECT_EQ(e.code(), jl::Exit::timeout);
    EXPECT_NE(std::string(e.what()).find("ann@gpu/torch"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);

  // Other sessions are not blocked.
  EXPECT_NO_THROW(store.lock_session("ann@gpu", "other", 0ms));
  EXPECT_NO_THROW(store.lock_session("bob@gpu", "torch", 0ms));

  // Once it lets go, the lock is free.
  int status = holder.release();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NO_THROW(store.lock_session("ann@gpu", "torch", 0ms));
}

TEST_F(StateStoreTest, SessionLockWaitsForARelease) {
  auto store = make();
  auto first = store.lock_session("h", "c", 0ms);
  ASSERT_TRUE(first.valid());
  // The same session from another open file description conflicts, even in one process.
  EXPECT_THROW(store.lock_session("h", "c", 50ms), jl::Error);
  first.reset();
  EXPECT_TRUE(store.lock_session("h", "c", 0ms).valid());
}

TEST_F(StateStoreTest, SessionLocksOfDistinctKeysNeverCollide) {
  // These keys are equal once unusual characters are replaced in the lock file name.
  auto store = make();
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"a__b", "c"},
      {"a", "b__c"},
      {"a/b", "c"},
      {"a_b", "c"},
      {"a b", "c"},
      {"a", "b c"},
      {"ann@h:22", "c"},
      {"ann_h_22", "c"},
      {std::string(200, 'x'), "1"},
      {std::string(200, 'x'), "2"},
  };
  std::vector<jl::sys::Fd> held;
  for (const auto& [host, container] : keys) {
    EXPECT_NO_THROW(held.push_back(store.lock_session(host, container, 0ms)))
        << host << " / " << container;
  }
  // Lock files stay inside locks/ and are private.
  auto files = list_dir(dir + "/locks");
  EXPECT_EQ(files.size(), keys.size());
  for (const auto& f : files) {
    EXPECT_EQ(f.find('/'), std::string::npos);
    EXPECT_LE(f.size(), 255U) << f;
    EXPECT_EQ(mode_of(dir + "/locks/" + f) & 077, 0U) << f;
  }
}

TEST_F(StateStoreTest, UnusableDirectoryIsAnError) {
  StateStore store("/proc/no-such-dir/jl", [](std::string_view) {});
  try {
    store.update([](State&) {});
    FAIL() << "wrote into /proc";
  } catch (const jl::Error& e) {
    EXPECT_EQ(e.code(), jl::Exit::other);
  }
  EXPECT_THROW(store.lock_session("h", "c", 0ms), jl::Error);
}

TEST_F(StateStoreTest, PeekReadsWithoutCreatingOrSettingAnythingAside) {
  auto store = make();
  // No state yet: nothing, and no directory or lock file appears.
  EXPECT_TRUE(store.peek().sessions.empty());
  EXPECT_FALSE(jl_test::exists(dir));
  store.update([](State& st) { st.upsert(record("gpu", "cont1")); });
  auto before = list_dir(dir);
  auto st = store.peek();
  ASSERT_EQ(st.sessions.size(), 1U);
  EXPECT_EQ(st.sessions[0].container, "cont1");
  // A corrupt file reads as empty and stays where it is, without a warning.
  jl_test::write_file(store.state_file(), "{\"version\": 1, \"sessions\": [", 0600);
  EXPECT_TRUE(store.peek().sessions.empty());
  EXPECT_EQ(list_dir(dir), before);
  EXPECT_TRUE(warnings.empty());
  // A FIFO in its place does not block.
  ASSERT_EQ(::unlink(store.state_file().c_str()), 0);
  ASSERT_EQ(::mkfifo(store.state_file().c_str(), 0600), 0);
  EXPECT_TRUE(store.peek().sessions.empty());
}

}  // namespace
