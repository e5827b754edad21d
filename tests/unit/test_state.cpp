#include "jl/core/state.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using jl::parse_state;
using jl::serialize_state;
using jl::SessionRecord;
using jl::State;
using jl::TunnelNote;

SessionRecord full_record() {
  SessionRecord s;
  s.host = "ann@gpu:2222";
  s.ssh_config = "/home/ann/.ssh/config with space";
  s.container = "torch-dev";
  s.container_id = "5d19e0c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";
  s.app = "notebook";
  s.server_version = "6.5.4";
  s.legacy = true;
  s.address = "172.17.0.2";
  s.port = 8890;
  s.base_url = "/nb/";
  s.token = "0123456789abcdef0123456789abcdef0123456789abcdef";
  s.pid = 4242;
  s.runtime_file = "/home/jovyan/.local/share/jupyter/runtime/nbserver-4242.json";
  s.log = "/home/jovyan/.local/state/jl/jupyter-8890.log";
  s.started_by_jl = true;
  s.started_at = "2024-05-01T12:34:56Z";
  s.local_port = 49153;
  s.tunnel_pid = 31337;
  s.tunnel_state = jl::TunnelNote::server_gone;
  s.tunnel_note = "server gone: nothing listens on 172.17.0.2:8890";
  s.idle_timeout_s = 3600;
  return s;
}

SessionRecord record(std::string host, std::string container) {
  SessionRecord s;
  s.host = std::move(host);
  s.container = std::move(container);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Serialisation

TEST(StateSerialize, RoundTripWithEveryFieldSet) {
  State state;
  state.sessions.push_back(full_record());
  auto second = full_record();
  second.container = "other";
  second.ssh_config.reset();
  second.legacy = false;
  second.started_by_jl = false;
  second.token = "tok \"quoted\" \\ ünï\n";
  state.sessions.push_back(second);

  auto text = serialize_state(state);
  auto back = parse_state(text);
  ASSERT_EQ(back.sessions.size(), 2U);
  EXPECT_EQ(back.sessions[0], state.sessions[0]);
  EXPECT_EQ(back.sessions[1], state.sessions[1]);
  // Serialising again gives the same text.
  EXPECT_EQ(serialize_state(back), text);
}

TEST(StateSerialize, WordsThatAreNotUtf8AreKeptWithReplacements) {
  State state;
  auto s = full_record();
  s.tunnel_note = "docker said: caf\xe9 \xff";  // Latin-1 from a host, and a stray byte
  state.sessions.push_back(s);
  std::string text;
  ASSERT_NO_THROW(text = serialize_state(state));
  auto back = parse_state(text);
  EXPECT_EQ(back.sessions.at(0).tunnel_note, "docker said: caf\uFFFD \uFFFD");
  EXPECT_EQ(back.sessions.at(0).token, s.token);
}

TEST(StateSerialize, EmptyState) {
  auto text = serialize_state(State{});
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["version"], State::version);
  EXPECT_TRUE(j["sessions"].is_array());
  EXPECT_TRUE(j["sessions"].empty());
  EXPECT_TRUE(parse_state(text).sessions.empty());
  EXPECT_TRUE(text.ends_with("\n"));
}

TEST(StateSerialize, SshConfigAbsentVersusPresent) {
  State state;
  auto with = record("h", "a");
  with.ssh_config = "/cfg";
  auto without = record("h", "b");
  state.sessions = {with, without};
  auto j = nlohmann::json::parse(serialize_state(state));
  EXPECT_EQ(j["sessions"][0]["ssh_config"], "/cfg");
  EXPECT_FALSE(j["sessions"][1].contains("ssh_config"));

  auto back = parse_state(serialize_state(state));
  EXPECT_EQ(back.sessions[0].ssh_config, "/cfg");
  EXPECT_EQ(back.sessions[1].ssh_config, std::nullopt);

  // An explicit null is absent too; an empty string is kept as given.
  auto nul = parse_state(
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "ssh_config": null}]})");
  EXPECT_EQ(nul.sessions.at(0).ssh_config, std::nullopt);
  auto empty = parse_state(
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "ssh_config": ""}]})");
  EXPECT_EQ(empty.sessions.at(0).ssh_config, "");
}

TEST(StateParse, MinimalSessionGetsDefaults) {
  auto state = parse_state(R"({"version": 1, "sessions": [{"host": "h", "container": "c"}]})");
  ASSERT_EQ(state.sessions.size(), 1U);
  const auto& s = state.sessions[0];
  EXPECT_EQ(s.host, "h");
  EXPECT_EQ(s.container, "c");
  EXPECT_EQ(s.app, "server");
  EXPECT_EQ(s.base_url, "/");
  EXPECT_EQ(s.port, 0);
  EXPECT_EQ(s.pid, 0);
  EXPECT_FALSE(s.legacy);
  EXPECT_FALSE(s.started_by_jl);
  EXPECT_EQ(s.ssh_config, std::nullopt);
}

TEST(StateTunnelNote, WordsOfEachNote) {
  EXPECT_EQ(jl::tunnel_note_words(TunnelNote::none, "x"), "");
  EXPECT_EQ(jl::tunnel_note_words(TunnelNote::reconnecting, {}), "reconnecting");
  EXPECT_EQ(jl::tunnel_note_words(TunnelNote::server_gone, "no answer"), "server gone: no answer");
  EXPECT_EQ(jl::tunnel_note_words(TunnelNote::gave_up, "host key changed"),
            "gave up: host key changed");
}

TEST(StateTunnelNote, RoundTripsNextToItsWords) {
  const std::vector<std::pair<TunnelNote, std::string>> notes = {
      {TunnelNote::none, "none"},
      {TunnelNote::reconnecting, "reconnecting"},
      {TunnelNote::server_gone, "server_gone"},
      {TunnelNote::gave_up, "gave_up"},
  };
  for (const auto& [note, name] : notes) {
    State state;
    auto r = record("h", "c");
    r.tunnel_state = note;
    r.tunnel_note = jl::tunnel_note_words(note, "why");
    state.sessions.push_back(r);
    const auto j = nlohmann::json::parse(serialize_state(state));
    EXPECT_EQ(j["sessions"][0]["tunnel_state"], name);
    EXPECT_EQ(j["sessions"][0]["tunnel_note"], r.tunnel_note);
    EXPECT_EQ(parse_state(serialize_state(state)).sessions.at(0), r) << name;
  }
}

TEST(StateTunnelNote, OldFilesWithOnlyTheWordsGetTheKindFromThem) {
  struct Case {
    std::string words;
    TunnelNote note;
  };
  const std::vector<Case> cases = {
      {"", TunnelNote::none},
      {"reconnecting", TunnelNote::reconnecting},
      {"server gone: nothing listens on 172.17.0.2:8888", TunnelNote::server_gone},
      {"gave up: the host key of gpu1 changed", TunnelNote::gave_up},
      {"gave up: ", TunnelNote::gave_up},
      // Only the exact words old versions wrote count.
      {"gave up", TunnelNote::none},
      {"Gave up: x", TunnelNote::none},
      {"it gave up: x", TunnelNote::none},
      {"reconnecting now", TunnelNote::none},
      {"server gone", TunnelNote::none},
  };
  for (const auto& c : cases) {
    nlohmann::json j = {
        {"version", 1},
        {"sessions", {{{"host", "h"}, {"container", "c"}, {"tunnel_note", c.words}}}}};
    const auto s = parse_state(j.dump()).sessions.at(0);
    EXPECT_EQ(s.tunnel_state, c.note) << c.words;
    EXPECT_EQ(s.tunnel_note, c.words);
  }
  // No note at all, or a null kind: as old files, from the words.
  auto bare = parse_state(R"({"version": 1, "sessions": [{"host": "h", "container": "c"}]})");
  EXPECT_EQ(bare.sessions.at(0).tunnel_state, TunnelNote::none);
  auto null_kind = parse_state(
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "tunnel_state": null,
          "tunnel_note": "gave up: x"}]})");
  EXPECT_EQ(null_kind.sessions.at(0).tunnel_state, TunnelNote::gave_up);
}

TEST(StateTunnelNote, TheKindWinsOverTheWords) {
  // Once the kind is recorded, the words are only words.
  auto s = parse_state(
      R"({"version": 1, "sessions": [{"host": "h", "container": "c",
          "tunnel_state": "none", "tunnel_note": "gave up: x"}]})");
  EXPECT_EQ(s.sessions.at(0).tunnel_state, TunnelNote::none);
  auto g = parse_state(
      R"({"version": 1, "sessions": [{"host": "h", "container": "c",
          "tunnel_state": "gave_up", "tunnel_note": "anything"}]})");
  EXPECT_EQ(g.sessions.at(0).tunnel_state, TunnelNote::gave_up);
  // A kind this version does not know (a newer jl wrote it) counts as none; the file loads.
  auto newer = parse_state(
      R"({"version": 1, "sessions": [{"host": "h", "container": "c",
          "tunnel_state": "paused", "tunnel_note": "paused"}]})");
  EXPECT_EQ(newer.sessions.at(0).tunnel_state, TunnelNote::none);
  EXPECT_EQ(newer.sessions.at(0).tunnel_note, "paused");
}

TEST(StateParse, UnknownFieldsAreIgnored) {
  auto state = parse_state(
      R"({"version": 1, "future": true,
          "sessions": [{"host": "h", "container": "c", "gpu": "A100"}]})");
  EXPECT_EQ(state.sessions.size(), 1U);
}

TEST(StateParse, CorruptInputsThrow) {
  const std::vector<std::string> bad = {
      "",
      "{",
      "not json",
      "[]",
      "null",
      "1",
      R"({"sessions": []})",
      R"({"version": "1", "sessions": []})",
      R"({"version": 1.5, "sessions": []})",
      R"({"version": 0, "sessions": []})",
      R"({"version": 2, "sessions": []})",
      R"({"version": -1, "sessions": []})",
      R"({"version": 1})",
      R"({"version": 1, "sessions": {}})",
      R"({"version": 1, "sessions": null})",
      R"({"version": 1, "sessions": ["h/c"]})",
      R"({"version": 1, "sessions": [null]})",
      R"({"version": 1, "sessions": [{"container": "c"}]})",
      R"({"version": 1, "sessions": [{"host": "h"}]})",
      R"({"version": 1, "sessions": [{"host": "", "container": "c"}]})",
      R"({"version": 1, "sessions": [{"host": 5, "container": "c"}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "port": "8888"}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "token": 5}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "legacy": "yes"}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "pid": [1]}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "ssh_config": 1}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "port": 70000}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "port": -1}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "local_port": 65536}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "container_id": "xyz"}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "container_id": 12}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "tunnel_state": 3}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c",
          "container_id": "5D19E0C1A2B3"}]})",
  };
  for (const auto& text : bad) {
    EXPECT_THROW(parse_state(text), std::runtime_error) << text;
  }
}

TEST(StateParse, VersionMismatchSaysWhichVersion) {
  try {
    parse_state(R"({"version": 7, "sessions": []})");
    FAIL() << "accepted version 7";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find('7'), std::string::npos) << e.what();
  }
}

// BUG (reported): ports are converted to int before the range check, so a number outside
// int's range wraps around and passes: "port": 4294975184 (2^32 + 8888) parses as port 8888,
// and "port": true parses as port 1, instead of being rejected as a corrupt state file.
TEST(StateParse, PortsOutsideIntRangeAreRejectedNotWrapped) {
  const std::vector<std::string> bad = {
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "port": 4294975184}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "local_port": 4294967297}]})",
      R"({"version": 1, "sessions": [{"host": "h", "container": "c", "port": true}]})",
  };
  for (const auto& text : bad) {
    EXPECT_THROW(parse_state(text), std::runtime_error) << text;
  }
}

TEST(StateSerialize, ForwardsRoundTripAndAreOptional) {
  State state;
  state.sessions.push_back(full_record());
  jl::ForwardRecord f;
  f.host = "ann@gpu";
  f.ssh_config = "/home/ann/.ssh/jl";
  f.label = "torch-dev:6006";
  f.target_host = "172.17.0.2";
  f.target_port = 6006;
  f.local_port = 16006;
  f.pid = 777;
  state.forwards.push_back(f);
  auto g = f;
  g.label = "10.0.0.9:5432";
  g.ssh_config.reset();
  state.forwards.push_back(g);
  auto back = parse_state(serialize_state(state));
  EXPECT_EQ(back.sessions, state.sessions);
  EXPECT_EQ(back.forwards, state.forwards);

  // A state file from before forwards existed still reads.
  auto old = parse_state(R"({"version": 1, "sessions": []})");
  EXPECT_TRUE(old.forwards.empty());
  for (
      const char* bad : {
          R"({"version": 1, "sessions": [], "forwards": {}})",
          R"({"version": 1, "sessions": [], "forwards": [1]})",
          R"({"version": 1, "sessions": [], "forwards": [{"host": "h"}]})",
          R"({"version": 1, "sessions": [], "forwards": [{"label": "c:1"}]})",
          R"({"version": 1, "sessions": [], "forwards": [{"host": "h", "label": "c:1", "target_port": 65536}]})",
          R"({"version": 1, "sessions": [], "forwards": [{"host": "h", "label": "c:1", "pid": "1"}]})",
      }) {
    EXPECT_THROW(parse_state(bad), std::runtime_error) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Changing the state

TEST(StateEdit, UpsertInsertsThenReplacesInPlace) {
  State state;
  state.upsert(record("h1", "a"));
  state.upsert(record("h1", "b"));
  state.upsert(record("h2", "a"));
  ASSERT_EQ(state.sessions.size(), 3U);

  auto changed = record("h1", "a");
  changed.port = 9999;
  state.upsert(changed);
  ASSERT_EQ(state.sessions.size(), 3U);
  EXPECT_EQ(state.sessions[0], changed);
  EXPECT_EQ(state.sessions[2].port, 0);  // same container on another host is untouched
}

TEST(StateEdit, FindIsByHostAndContainer) {
  State state;
  state.upsert(record("h1", "a"));
  state.upsert(record("h2", "a"));
  ASSERT_NE(state.find("h2", "a"), nullptr);
  EXPECT_EQ(state.find("h2", "a")->host, "h2");
  EXPECT_EQ(state.find("h1", "b"), nullptr);
  EXPECT_EQ(state.find("h3", "a"), nullptr);
  EXPECT_EQ(state.find("", ""), nullptr);
  // The pointer refers into the state.
  state.find("h1", "a")->pid = 12;
  EXPECT_EQ(state.sessions[0].pid, 12);
}

TEST(StateEdit, Remove) {
  State state;
  state.upsert(record("h1", "a"));
  state.upsert(record("h1", "b"));
  state.upsert(record("h2", "a"));
  EXPECT_TRUE(state.remove("h1", "a"));
  EXPECT_FALSE(state.remove("h1", "a"));
  EXPECT_FALSE(state.remove("h3", "b"));
  ASSERT_EQ(state.sessions.size(), 2U);
  EXPECT_EQ(state.sessions[0], record("h1", "b"));
  EXPECT_EQ(state.sessions[1], record("h2", "a"));
}

TEST(StateEdit, ForwardsAreKeyedByHostAndLabel) {
  State state;
  jl::ForwardRecord f;
  f.host = "h1";
  f.label = "box:6006";
  state.upsert_forward(f);
  f.host = "h2";
  state.upsert_forward(f);
  f.local_port = 1234;
  state.upsert_forward(f);
  ASSERT_EQ(state.forwards.size(), 2U);
  ASSERT_NE(state.find_forward("h2", "box:6006"), nullptr);
  EXPECT_EQ(state.find_forward("h2", "box:6006")->local_port, 1234);
  EXPECT_EQ(state.find_forward("h1", "box:6006")->local_port, 0);
  EXPECT_EQ(state.find_forward("h1", "box:8888"), nullptr);
  EXPECT_TRUE(state.remove_forward("h1", "box:6006"));
  EXPECT_FALSE(state.remove_forward("h1", "box:6006"));
  EXPECT_EQ(state.forwards.size(), 1U);
  // Sessions and forwards are separate lists.
  EXPECT_TRUE(state.sessions.empty());
  EXPECT_FALSE(state.remove("h2", "box:6006"));
}

TEST(MatchSessions, Table) {
  State state;
  for (auto [h, c] : std::vector<std::pair<const char*, const char*>>{
           {"h1", "a"}, {"h1", "b"}, {"h2", "a"}, {"user@h1", "a"}}) {
    state.upsert(record(h, c));
  }
  struct Case {
    std::optional<std::string> host;
    std::optional<std::string> container;
    std::vector<std::string> labels;
  };
  const std::vector<Case> cases = {
      {std::nullopt, std::nullopt, {"h1/a", "h1/b", "h2/a", "user@h1/a"}},
      {"h1", std::nullopt, {"h1/a", "h1/b"}},
      {std::nullopt, "a", {"h1/a", "h2/a", "user@h1/a"}},
      {"h1", "a", {"h1/a"}},
      {"h2", "b", {}},
      {"h9", std::nullopt, {}},
      {std::nullopt, "z", {}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> labels;
    for (const auto* s : jl::match_sessions(state, c.host, c.container)) {
      labels.push_back(jl::session_label(*s));
    }
    EXPECT_EQ(labels, c.labels) << c.host.value_or("*") << " " << c.container.value_or("*");
  }
  EXPECT_TRUE(jl::match_sessions(State{}, std::nullopt, std::nullopt).empty());
}

}  // namespace
