#include "jl/core/mux.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using jl::Env;
using jl::mux::ForwardSpec;
using jl::mux::LineReader;
using jl::mux::Reply;
using jl::mux::Request;
using Vars = std::map<std::string, std::string>;

TEST(Mux, RuntimeDirFollowsXdgThenTmpdir) {
  EXPECT_EQ(jl::mux::runtime_dir(Env(Vars{{"XDG_RUNTIME_DIR", "/run/user/1000"}}), 1000),
            "/run/user/1000/jl");
  EXPECT_EQ(jl::mux::runtime_dir(Env(Vars{{"TMPDIR", "/var/folders/x/T/"}}), 501),
            "/var/folders/x/T/jl-501");
  EXPECT_EQ(jl::mux::runtime_dir(Env(), 0), "/tmp/jl-0");
  // Relative values are not directories jl can trust.
  EXPECT_EQ(jl::mux::runtime_dir(Env(Vars{{"XDG_RUNTIME_DIR", "run"}, {"TMPDIR", "tmp"}}), 7),
            "/tmp/jl-7");
}

TEST(Mux, SocketNamesAreShortStableAndDistinct) {
  const auto a = jl::mux::socket_name("gpubox", "", "/home/u/.local/state/jl");
  EXPECT_EQ(a, jl::mux::socket_name("gpubox", "", "/home/u/.local/state/jl"));
  EXPECT_EQ(a.size(), 16u + 5u);
  EXPECT_TRUE(a.ends_with(".sock"));
  EXPECT_NE(a, jl::mux::socket_name("gpubox2", "", "/home/u/.local/state/jl"));
  EXPECT_NE(a, jl::mux::socket_name("gpubox", "/etc/ssh/other", "/home/u/.local/state/jl"));
  EXPECT_NE(a, jl::mux::socket_name("gpubox", "", "/tmp/state"));
  // The parts cannot run into each other.
  EXPECT_NE(jl::mux::socket_name("ab", "c", "d"), jl::mux::socket_name("a", "bc", "d"));
  EXPECT_EQ(jl::mux::lock_name("gpubox", "", "/s").substr(0, 16),
            jl::mux::socket_name("gpubox", "", "/s").substr(0, 16));
}

Request round_trip(const Request& r) {
  const std::string line = jl::mux::encode(r);
  EXPECT_TRUE(line.ends_with("\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the command holds
  std::string why;
  auto back = jl::mux::decode_request(line.substr(0, line.size() - 1), &why);
  EXPECT_TRUE(back.has_value()) << why;
  return back.value_or(Request{});
}

TEST(Mux, RequestsSurviveTheirEncoding) {
  Request exec;
  exec.op = Request::Op::exec;
  exec.command = "exec /bin/sh -c 'printf \"@@jl\\n\"; read -r n'\n";
  exec.pty = std::make_pair(200, 50);
  auto e = round_trip(exec);
  EXPECT_EQ(e.op, Request::Op::exec);
  EXPECT_EQ(e.command, exec.command);
  ASSERT_TRUE(e.pty);
  EXPECT_EQ(e.pty->first, 200);
  EXPECT_EQ(e.pty->second, 50);
  EXPECT_EQ(jl::mux::fds_for(e.op), 2);

  Request run;
  run.op = Request::Op::run;
  run.command = "sh -c 'echo \"$1\"' jl 'a b'\nprintf x";
  auto u = round_trip(run);
  EXPECT_EQ(u.op, Request::Op::run);
  EXPECT_EQ(u.command, run.command);
  EXPECT_FALSE(u.pty);
  EXPECT_EQ(jl::mux::fds_for(u.op), 2);

  Request tcp;
  tcp.op = Request::Op::tcp;
  tcp.host = "172.17.0.2";
  tcp.port = 8888;
  auto t = round_trip(tcp);
  EXPECT_EQ(t.host, "172.17.0.2");
  EXPECT_EQ(t.port, 8888);
  EXPECT_FALSE(t.keep);
  EXPECT_EQ(jl::mux::fds_for(t.op), 1);
  tcp.keep = true;
  EXPECT_TRUE(round_trip(tcp).keep);

  Request fwd;
  fwd.op = Request::Op::forward;
  fwd.forward.kind = ForwardSpec::Kind::session;
  fwd.forward.host = "gpubox";
  fwd.forward.name = "cont1";
  fwd.forward.lock = "/s/tunnels/gpubox__cont1.lock";
  fwd.forward.log = "/s/tunnels/gpubox__cont1.log";
  fwd.forward.target_host = "172.17.0.2";
  fwd.forward.target_port = 8888;
  fwd.forward.base_url = "/user/a/";
  fwd.forward.token = "0123abcd";
  auto f = round_trip(fwd).forward;
  EXPECT_EQ(f.kind, ForwardSpec::Kind::session);
  EXPECT_EQ(f.name, "cont1");
  EXPECT_EQ(f.lock, "/s/tunnels/gpubox__cont1.lock");
  EXPECT_EQ(f.log, "/s/tunnels/gpubox__cont1.log");
  EXPECT_EQ(f.target_port, 8888);
  EXPECT_EQ(f.base_url, "/user/a/");
  EXPECT_EQ(f.token, "0123abcd");

  Request close;
  close.op = Request::Op::close;
  close.lock = "/s/tunnels/x.lock";
  EXPECT_EQ(round_trip(close).lock, "/s/tunnels/x.lock");
  EXPECT_EQ(round_trip(Request{}).op, Request::Op::hello);
}

TEST(Mux, RequestsThatAreNotJlsAreRefusedWithAReason) {
  struct Case {
    const char* line;
    const char* why;
  };
  const Case cases[] = {
      {"", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"v":2,"op":"hello"})", "another version"},
      {R"({"v":1,"op":"shell"})", "unknown request"},
      {R"({"v":1,"op":"exec"})", "missing"},
      {R"({"v":1,"op":"exec","command":""})", "empty command"},
      {R"({"v":1,"op":"run","command":""})", "empty command"},
      {R"({"v":1,"op":"run"})", "missing"},
      {R"({"v":1,"op":"exec","command":"x","pty":[0,5]})", "terminal size"},
      {R"({"v":1,"op":"exec","command":"x","pty":"big"})", "terminal size"},
      {R"({"v":1,"op":"exec","command":"x","pty":[80.5,24]})", "missing"},
      {R"({"v":1.0,"op":"hello"})", "missing"},
      {R"({"v":1,"op":"tcp","host":"h","port":0})", "no host or port"},
      {R"({"v":1,"op":"tcp","host":"","port":80})", "no host or port"},
      {R"({"v":1,"op":"tcp","host":"h","port":"80"})", "missing"},
      {R"({"v":1,"op":"close","lock":"relative.lock"})", "no lock file"},
      {R"({"v":1,"op":"forward","forward":{"kind":"session"}})", "missing"},
      {R"({"v":1,"op":"forward","forward":{"kind":"vpn","host":"h","name":"n","lock":"/l",)"
       R"("target_host":"a","target_port":1}})",
       "unknown kind"},
      {R"({"v":1,"op":"forward","forward":{"kind":"session","host":"h","name":"n","lock":"l",)"
       R"("target_host":"a","target_port":1}})",
       "incomplete"},
  };
  for (const auto& c : cases) {
    std::string why;
    EXPECT_FALSE(jl::mux::decode_request(c.line, &why).has_value()) << c.line;
    EXPECT_NE(why.find(c.why), std::string::npos) << c.line << " -> " << why;
  }
}

TEST(Mux, RepliesSurviveTheirEncoding) {
  Reply hello;
  hello.ok = true;
  hello.pid = 4242;
  hello.endpoint = "root@127.0.0.1:2222";
  hello.user = "root";
  auto line = jl::mux::encode(hello);
  auto h = jl::mux::decode_reply(line.substr(0, line.size() - 1), nullptr);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->ok);
  EXPECT_EQ(h->pid, 4242);
  EXPECT_EQ(h->endpoint, "root@127.0.0.1:2222");
  EXPECT_EQ(h->user, "root");
  EXPECT_FALSE(h->ended);

  Reply busy;
  busy.busy = true;
  busy.error = "reconnecting";
  line = jl::mux::encode(busy);
  auto b = jl::mux::decode_reply(line.substr(0, line.size() - 1), nullptr);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->ok);
  EXPECT_TRUE(b->busy);
  EXPECT_FALSE(b->reused);

  Reply reused;
  reused.ok = true;
  reused.reused = true;
  line = jl::mux::encode(reused);
  auto r = jl::mux::decode_reply(line.substr(0, line.size() - 1), nullptr);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_TRUE(r->reused);

  for (std::optional<int> status :
       {std::optional<int>(0), std::optional<int>(127), std::optional<int>()}) {
    Reply end;
    end.ended = true;
    end.exit_status = status;
    line = jl::mux::encode(end);
    auto e = jl::mux::decode_reply(line.substr(0, line.size() - 1), nullptr);
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->ended);
    EXPECT_EQ(e->exit_status, status);
  }
  std::string why;
  EXPECT_FALSE(jl::mux::decode_reply(R"({"exit":"zero"})", &why));
  EXPECT_FALSE(jl::mux::decode_reply(R"({"pid":3})", &why));
  EXPECT_FALSE(jl::mux::decode_reply("garbage", &why));
}

TEST(Mux, LinesComeWholeWhateverTheChunks) {
  LineReader r;
  EXPECT_TRUE(r.feed("{\"ok\":tr"));
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.feed("ue}\n{\"exit\":0}\n{\"po"));
  EXPECT_EQ(r.next(), "{\"ok\":true}");
  EXPECT_EQ(r.next(), "{\"exit\":0}");
  EXPECT_FALSE(r.next());
  EXPECT_FALSE(r.empty());
  // A peer that never ends its line is cut off.
  LineReader flood;
  EXPECT_FALSE(flood.feed(std::string(jl::mux::kMaxLine + 1, 'x')));
}

}  // namespace
