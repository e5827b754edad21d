// The container spec of `jl up`: every parser's good and bad values and boundaries, image
// references, the label and back, differences, and the arguments of `docker run`.

#include "jl/core/container_spec.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using jl::container::from_label;
using jl::container::Gpus;
using jl::container::parse_env;
using jl::container::parse_gpus;
using jl::container::parse_pull;
using jl::container::parse_size;
using jl::container::parse_user;
using jl::container::parse_volume;
using jl::container::parse_workdir;
using jl::container::Pull;
using jl::container::Spec;
using jl::container::to_label;
using jl::container::User;
using jl::container::valid_image;
using jl::container::Volume;

constexpr long long kMiB = 1024LL * 1024;
constexpr long long kGiB = kMiB * 1024;
constexpr long long kTiB = kGiB * 1024;

const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

Gpus gpus_of(Gpus::Kind kind, int count, std::vector<int> devices = {}) {
  Gpus g;
  g.kind = kind;
  g.count = count;
  g.devices = std::move(devices);
  return g;
}

Volume volume_of(std::string host, std::string container, bool read_only) {
  Volume v;
  v.host = std::move(host);
  v.container = std::move(container);
  v.read_only = read_only;
  return v;
}

User user_of(bool host, long long uid, long long gid) {
  User u;
  u.host = host;
  u.uid = uid;
  u.gid = gid;
  return u;
}

// A value a parser refuses, and words its error must hold.
struct Refused {
  Refused(std::string text_, std::string words_)
      : text(std::move(text_)), words(std::move(words_)) {}
  std::string text;
  std::string words;
};

std::string case_name(std::size_t index) {
  return "case" + std::to_string(index);
}

template <typename T>
struct Accepted {
  Accepted(std::string text_, T value_, std::string canonical_)
      : text(std::move(text_)), value(std::move(value_)), canonical(std::move(canonical_)) {}
  std::string text;
  T value;
  std::string canonical;  // to_string of the value
};

// --gpus

class ContainerGpusGood : public ::testing::TestWithParam<Accepted<Gpus>> {};

TEST_P(ContainerGpusGood, ParsesAndPrints) {
  const auto& c = GetParam();
  std::string error;
  auto g = parse_gpus(c.text, &error);
  ASSERT_TRUE(g) << c.text << ": " << error;
  EXPECT_EQ(*g, c.value);
  EXPECT_EQ(jl::container::to_string(*g), c.canonical);
  // The canonical form parses to the same value.
  EXPECT_EQ(parse_gpus(c.canonical, nullptr), c.value);
}

const std::vector<Accepted<Gpus>> kGpusGood = {
    {"all", gpus_of(Gpus::Kind::all, 0), "all"},
    {"1", gpus_of(Gpus::Kind::count, 1), "1"},
    {"2", gpus_of(Gpus::Kind::count, 2), "2"},
    {"64", gpus_of(Gpus::Kind::count, 64), "64"},
    {"0,2", gpus_of(Gpus::Kind::devices, 0, {0, 2}), "0,2"},
    {"2,0", gpus_of(Gpus::Kind::devices, 0, {2, 0}), "2,0"},
    {"0,63", gpus_of(Gpus::Kind::devices, 0, {0, 63}), "0,63"},
    {"device=0", gpus_of(Gpus::Kind::devices, 0, {0}), "device=0"},
    {"device=63", gpus_of(Gpus::Kind::devices, 0, {63}), "device=63"},
    {"device=0,2", gpus_of(Gpus::Kind::devices, 0, {0, 2}), "0,2"},
    {"\"device=1,3\"", gpus_of(Gpus::Kind::devices, 0, {1, 3}), "1,3"},
    {"\"device=5\"", gpus_of(Gpus::Kind::devices, 0, {5}), "device=5"},
    {"free:1", gpus_of(Gpus::Kind::free, 1), "free:1"},
    {"free:64", gpus_of(Gpus::Kind::free, 64), "free:64"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerGpusGood, ::testing::ValuesIn(kGpusGood),
                         [](const auto& param) { return case_name(param.index); });

class ContainerGpusBad : public ::testing::TestWithParam<Refused> {};

TEST_P(ContainerGpusBad, Refuses) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(parse_gpus(c.text, &error)) << c.text;
  EXPECT_NE(error.find(c.words), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.rfind("invalid --gpus '", 0), 0U) << error;
}

const std::vector<Refused> kGpusBad = {
    {"", "use all, a count (2), device indices (0,2) or free:N"},
    {"x", "invalid --gpus 'x': use all, a count (2), device indices (0,2) or free:N"},
    {"ALL", "use all"},
    {"0", "a count must be from 1 to 64"},
    {"65", "a count must be from 1 to 64"},
    {"-1", "use all"},
    {"+2", "use all"},
    {" 2", "use all"},
    {"99999999999999999999", "a count must be from 1 to 64"},
    {"0,", "a device index is missing"},
    {",0", "a device index is missing"},
    {"0,,2", "a device index is missing"},
    {"0,64", "device indices must be from 0 to 63"},
    {"0,0", "device 0 is given twice"},
    {"1,2,1", "device 1 is given twice"},
    {"0,a", "use all"},
    {"device=", "a device index is missing"},
    {"device=x", "use all"},
    {"device=64", "device indices must be from 0 to 63"},
    {"\"0,2\"", "use all"},
    {"\"device=0,2", "use all"},
    {"free:", "free:N takes a count from 1 to 64"},
    {"free:0", "free:N takes a count from 1 to 64"},
    {"free:65", "free:N takes a count from 1 to 64"},
    {"free:x", "free:N takes a count from 1 to 64"},
    {"free", "use all"},
    {"all\n", "invalid --gpus 'all\\n'"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerGpusBad, ::testing::ValuesIn(kGpusBad),
                         [](const auto& param) { return case_name(param.index); });

// -v

class ContainerVolumeGood : public ::testing::TestWithParam<Accepted<Volume>> {};

TEST_P(ContainerVolumeGood, ParsesAndPrints) {
  const auto& c = GetParam();
  std::string error;
  auto v = parse_volume(c.text, &error);
  ASSERT_TRUE(v) << c.text << ": " << error;
  EXPECT_EQ(*v, c.value);
  EXPECT_EQ(jl::container::to_string(*v), c.canonical);
}

const std::vector<Accepted<Volume>> kVolumeGood = {
    {"/data:/data", volume_of("/data", "/data", false), "/data:/data"},
    {"/data:/data:ro", volume_of("/data", "/data", true), "/data:/data:ro"},
    {"/data:/data:rw", volume_of("/data", "/data", false), "/data:/data"},
    {"~/data:/data", volume_of("~/data", "/data", false), "~/data:/data"},
    {"~/:/home", volume_of("~/", "/home", false), "~/:/home"},
    {"/:/host:ro", volume_of("/", "/host", true), "/:/host:ro"},
    {"/a b/c:/x y", volume_of("/a b/c", "/x y", false), "/a b/c:/x y"},
    {"/a/../b/:/c//d/", volume_of("/a/../b/", "/c//d/", false), "/a/../b/:/c//d/"},
    {"/données:/d", volume_of("/données", "/d", false), "/données:/d"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerVolumeGood, ::testing::ValuesIn(kVolumeGood),
                         [](const auto& param) { return case_name(param.index); });

class ContainerVolumeBad : public ::testing::TestWithParam<Refused> {};

TEST_P(ContainerVolumeBad, Refuses) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(parse_volume(c.text, &error)) << c.text;
  EXPECT_NE(error.find(c.words), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.rfind("invalid -v '", 0), 0U) << error;
}

const std::vector<Refused> kVolumeBad = {
    {"data:/data", "invalid -v 'data:/data': the host path must be absolute (or start with ~/)"},
    {"~data:/data", "the host path must be absolute"},
    {"~:/data", "the host path must be absolute"},
    {"./data:/data", "the host path must be absolute"},
    {"/data:data", "the container path must be absolute"},
    {"/data:~/data", "the container path must be absolute"},
    {"", "use HOST:CONTAINER"},
    {"/data", "use HOST:CONTAINER"},
    {":/data", "the host path is empty"},
    {"/data:", "the container path is empty"},
    {"/data::ro", "the container path is empty"},
    {"/data:/data:", "the mode must be ro or rw"},
    {"/data:/data:RO", "the mode must be ro or rw"},
    {"/data:/data:z", "the mode must be ro or rw"},
    {"/data:/data:ro:x", "too many ':'"},
    {"/a:/b:/c", "too many ':'"},
    {"/a:b:/c", "the container path must be absolute"},
    {"/da\nta:/data", "invalid -v '/da\\nta:/data': it contains a newline"},
    {"/data:/data\r", "it contains a newline"},
    {std::string("/da\0ta:/d", 9), "it contains a NUL byte"},
    {"/d\xff:/d", "it is not valid UTF-8"},
    {"/d\xc3:/d", "it is not valid UTF-8"},
    {"/d\xc0\xaf:/d", "it is not valid UTF-8"},
    {"/d\xed\xa0\x80:/d", "it is not valid UTF-8"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerVolumeBad, ::testing::ValuesIn(kVolumeBad),
                         [](const auto& param) { return case_name(param.index); });

// --shm-size

struct Size {
  Size(std::string text_, long long bytes_) : text(std::move(text_)), bytes(bytes_) {}
  std::string text;
  long long bytes;
};

class ContainerSizeGood : public ::testing::TestWithParam<Size> {};

TEST_P(ContainerSizeGood, Parses) {
  const auto& c = GetParam();
  std::string error;
  auto bytes = parse_size(c.text, &error);
  ASSERT_TRUE(bytes) << c.text << ": " << error;
  EXPECT_EQ(*bytes, c.bytes);
}

const std::vector<Size> kSizeGood = {
    {"1g", kGiB},          {"1G", kGiB},       {"1gb", kGiB},
    {"1GB", kGiB},         {"1Gb", kGiB},      {"512m", 512 * kMiB},
    {"512mb", 512 * kMiB}, {"1m", kMiB},       {"1M", kMiB},
    {"1024k", kMiB},       {"1024kb", kMiB},   {"1048576", kMiB},
    {"1048576b", kMiB},    {"1048576B", kMiB}, {"1073741824", kGiB},
    {"1024g", kTiB},       {"1048576m", kTiB}, {"1099511627776", kTiB},
    {"0001g", kGiB},       {"16g", 16 * kGiB},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerSizeGood, ::testing::ValuesIn(kSizeGood),
                         [](const auto& param) { return case_name(param.index); });

class ContainerSizeBad : public ::testing::TestWithParam<Refused> {};

TEST_P(ContainerSizeBad, Refuses) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(parse_size(c.text, &error)) << c.text;
  EXPECT_NE(error.find(c.words), std::string::npos) << error;
  EXPECT_EQ(error.rfind("invalid --shm-size '", 0), 0U) << error;
}

const std::vector<Refused> kSizeBad = {
    {"0", "invalid --shm-size '0': the size must be at least 1 MiB (1m)"},
    {"0g", "at least 1 MiB"},
    {"1048575", "at least 1 MiB"},
    {"1023k", "at least 1 MiB"},
    {"1k", "at least 1 MiB"},
    {"1025g", "at most 1 TiB"},
    {"1099511627777", "at most 1 TiB"},
    {"1048577m", "at most 1 TiB"},
    {"99999999999999999999999g", "at most 1 TiB"},
    {"9223372036854775807", "at most 1 TiB"},
    {"18446744073709551617", "at most 1 TiB"},
    {"", "use a number of bytes with an optional unit k, m or g"},
    {"g", "use a number of bytes"},
    {"-1g", "use a number of bytes"},
    {"+1g", "use a number of bytes"},
    {"1.5g", "use a number of bytes"},
    {"1 g", "use a number of bytes"},
    {" 1g", "use a number of bytes"},
    {"1g ", "use a number of bytes"},
    {"1t", "use a number of bytes"},
    {"1gib", "use a number of bytes"},
    {"1bb", "use a number of bytes"},
    {"1kbb", "use a number of bytes"},
    {"0x10m", "use a number of bytes"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerSizeBad, ::testing::ValuesIn(kSizeBad),
                         [](const auto& param) { return case_name(param.index); });

// --user

class ContainerUserGood : public ::testing::TestWithParam<Accepted<User>> {};

TEST_P(ContainerUserGood, ParsesAndPrints) {
  const auto& c = GetParam();
  std::string error;
  auto u = parse_user(c.text, &error);
  ASSERT_TRUE(u) << c.text << ": " << error;
  EXPECT_EQ(*u, c.value);
  EXPECT_EQ(jl::container::to_string(*u), c.canonical);
}

const std::vector<Accepted<User>> kUserGood = {
    {"host", user_of(true, -1, -1), "host"},
    {"0:0", user_of(false, 0, 0), "0:0"},
    {"1000:1000", user_of(false, 1000, 1000), "1000:1000"},
    {"1000:100", user_of(false, 1000, 100), "1000:100"},
    {"2147483647:2147483647", user_of(false, 2147483647, 2147483647), "2147483647:2147483647"},
    {"007:01", user_of(false, 7, 1), "7:1"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerUserGood, ::testing::ValuesIn(kUserGood),
                         [](const auto& param) { return case_name(param.index); });

class ContainerUserBad : public ::testing::TestWithParam<Refused> {};

TEST_P(ContainerUserBad, Refuses) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(parse_user(c.text, &error)) << c.text;
  EXPECT_NE(error.find(c.words), std::string::npos) << error;
  EXPECT_EQ(error.rfind("invalid --user '", 0), 0U) << error;
}

const std::vector<Refused> kUserBad = {
    {"", "use host or UID:GID"},
    {"HOST", "use host or UID:GID"},
    {"root", "use host or UID:GID"},
    {"1000", "invalid --user '1000': use host or UID:GID"},
    {"1000:", "numbers from 0 to 2147483647"},
    {":1000", "numbers from 0 to 2147483647"},
    {"-1:0", "numbers from 0 to 2147483647"},
    {"0:-1", "numbers from 0 to 2147483647"},
    {"2147483648:0", "numbers from 0 to 2147483647"},
    {"0:2147483648", "numbers from 0 to 2147483647"},
    {"1000:1000:1", "numbers from 0 to 2147483647"},
    {"user:group", "numbers from 0 to 2147483647"},
    {"1000:users", "numbers from 0 to 2147483647"},
    {" 1:1", "numbers from 0 to 2147483647"},
};

INSTANTIATE_TEST_SUITE_P(Values, ContainerUserBad, ::testing::ValuesIn(kUserBad),
                         [](const auto& param) { return case_name(param.index); });

// --workdir

TEST(ContainerWorkdir, TakesAnAbsolutePath) {
  for (const char* good : {"/", "/w", "/workspace/my project", "/a//b/../c/"}) {
    std::string error;
    EXPECT_EQ(parse_workdir(good, &error), std::optional<std::string>(good)) << error;
  }
  const std::vector<Refused> bad = {
      {"", "invalid --workdir '': the directory must be an absolute path in the container"},
      {"w", "must be an absolute path"},
      {"~/w", "must be an absolute path"},
      {"./w", "must be an absolute path"},
      {"/w\n", "invalid --workdir '/w\\n': it contains a newline"},
      {"/w\xfe", "it is not valid UTF-8"},
  };
  for (const auto& c : bad) {
    std::string error;
    EXPECT_FALSE(parse_workdir(c.text, &error)) << c.text;
    EXPECT_NE(error.find(c.words), std::string::npos) << error;
  }
}

// -e

struct EnvCase {
  EnvCase(std::string text_, std::string key_, std::string value_)
      : text(std::move(text_)), key(std::move(key_)), value(std::move(value_)) {}
  std::string text;
  std::string key;
  std::string value;
};

TEST(ContainerEnv, TakesNameEqualsValue) {
  const std::vector<EnvCase> good = {
      {"K=V", "K", "V"},
      {"K=", "K", ""},
      {"_=x", "_", "x"},
      {"_A1=x", "_A1", "x"},
      {"a_b_C9=1", "a_b_C9", "1"},
      {"K=a=b", "K", "a=b"},
      {"K= spaced  out ", "K", " spaced  out "},
      {"K=$HOME;'\"`", "K", "$HOME;'\"`"},
      {"K=\ttab", "K", "\ttab"},
      {"K=ünï", "K", "ünï"},
  };
  for (const auto& c : good) {
    std::string error;
    auto kv = parse_env(c.text, &error);
    ASSERT_TRUE(kv) << c.text << ": " << error;
    EXPECT_EQ(kv->first, c.key);
    EXPECT_EQ(kv->second, c.value);
  }
  const std::vector<Refused> bad = {
      {"", "use NAME=VALUE"},
      {"K", "invalid -e 'K': use NAME=VALUE"},
      {"=V", "the name must be letters, digits and '_', not starting with a digit"},
      {"1K=V", "not starting with a digit"},
      {"K-1=V", "the name must be letters"},
      {"K.1=V", "the name must be letters"},
      {"K 1=V", "the name must be letters"},
      {" K=V", "the name must be letters"},
      {"Ü=V", "the name must be letters"},
      {"K=a\nb", "invalid -e 'K=a\\nb': it contains a newline"},
      {"K\n=b", "it contains a newline"},
      {"K=a\rb", "it contains a newline"},
      {std::string("K=a\0b", 5), "it contains a NUL byte"},
      {"K=\x80", "it is not valid UTF-8"},
  };
  for (const auto& c : bad) {
    std::string error;
    EXPECT_FALSE(parse_env(c.text, &error)) << c.text;
    EXPECT_NE(error.find(c.words), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// --pull

TEST(ContainerPull, TakesTheThreeWords) {
  for (auto p : {Pull::missing, Pull::always, Pull::never}) {
    auto word = std::string(jl::container::to_string(p));
    EXPECT_EQ(parse_pull(word, nullptr), p) << word;
  }
  EXPECT_EQ(jl::container::to_string(Pull::missing), "missing");
  EXPECT_EQ(jl::container::to_string(Pull::always), "always");
  EXPECT_EQ(jl::container::to_string(Pull::never), "never");
  for (const char* bad : {"", "Always", "if-missing", "missing ", "yes"}) {
    std::string error;
    EXPECT_FALSE(parse_pull(bad, &error)) << bad;
    EXPECT_EQ(error, std::string("invalid --pull '") + bad + "': use missing, always or never");
  }
}

// Image references

class ContainerImage : public ::testing::TestWithParam<std::pair<std::string, bool>> {};

TEST_P(ContainerImage, FollowsTheReferenceGrammar) {
  const auto& [image, valid] = GetParam();
  EXPECT_EQ(valid_image(image), valid) << image;
}

const std::vector<std::pair<std::string, bool>> kImages = {
    {"ubuntu", true},
    {"ubuntu:22.04", true},
    {"nvcr.io/nvidia/pytorch:24.05-py3", true},
    {"127.0.0.1:5000/jl/lab4:latest", true},
    {"localhost:5000/a/b", true},
    {"localhost/a", true},
    {"jl-testbed/lab4:97907878b6c1", true},
    {"repo@" + kDigest, true},
    {"nvcr.io/nvidia/pytorch:24.05-py3@" + kDigest, true},
    {"my.registry-1.example.com:443/team/img", true},
    {"library/a.b_c__d--e", true},
    {"a.b_c/f", false},  // a first component with a '.' names a registry host
    {"a:_tag", true},
    {"a:" + std::string(128, 't'), true},
    {"Registry.IO/a", true},
    {"a/b/c/d/e", true},
    {"", false},
    {"UPPER", false},
    {"Ubuntu", false},
    {"a/B", false},
    {"a b", false},
    {"a;b", false},
    {"a$b", false},
    {"a'b", false},
    {"-x", false},
    {"x-", false},
    {"a..b", false},
    {"a___b", false},
    {"a._b", false},
    {"a:", false},
    {":tag", false},
    {"a:.tag", false},
    {"a:-tag", false},
    {"a:t@g", false},
    {"a:" + std::string(129, 't'), false},
    {"a//b", false},
    {"/a", false},
    {"a/", false},
    {"a\n", false},
    {"repo@", false},
    {"repo@sha256:", false},
    {"repo@sha256:" + std::string(63, 'a'), false},
    {"repo@sha256:" + std::string(65, 'a'), false},
    {"repo@sha256:" + std::string(64, 'A'), false},
    {"repo@sha512:" + std::string(64, 'a'), false},
    {"@" + kDigest, false},
    {"a@b@" + kDigest, false},
    {"localhost:/a", false},
    {"localhost:99999/a", false},
    {"localhost:port/a", false},
    {"-bad.io/a", false},
    {"bad-.io/a", false},
    {"bad..io/a", false},
    {"bad_host.io/a", false},
    {std::string(256, 'a'), false},
    {std::string(255, 'a'), true},
};

INSTANTIATE_TEST_SUITE_P(References, ContainerImage, ::testing::ValuesIn(kImages),
                         [](const auto& param) { return case_name(param.index); });

// The label

Spec minimal_spec() {
  Spec s;
  s.image = "ubuntu";
  return s;
}

Spec full_spec() {
  Spec s;
  s.image = "nvcr.io/nvidia/pytorch:24.05-py3";
  s.gpus = gpus_of(Gpus::Kind::devices, 0, {2, 0});
  s.volumes = {volume_of("~/data", "/data", true), volume_of("/scratch", "/scratch", false)};
  s.shm_size = kGiB;
  s.user = user_of(false, 1000, 100);
  s.workdir = "/w";
  s.env = {{"Z", "1"}, {"A", ""}, {"Z", "2=3"}};
  return s;
}

TEST(ContainerSpecLabel, IsCompactJsonWithTheSetFieldsOnly) {
  EXPECT_EQ(to_label(minimal_spec()), R"({"image":"ubuntu"})");
  EXPECT_EQ(
      to_label(full_spec()),
      R"({"env":["Z=1","A=","Z=2=3"],"gpus":"2,0","image":"nvcr.io/nvidia/pytorch:24.05-py3",)"
      R"("shm_size":1073741824,"user":"1000:100",)"
      R"("volumes":["~/data:/data:ro","/scratch:/scratch"],"workdir":"/w"})");
  Spec s = minimal_spec();
  s.gpus = Gpus{};
  s.ipc_host = true;
  s.user = user_of(true, -1, -1);
  EXPECT_EQ(to_label(s), R"({"gpus":"all","image":"ubuntu","ipc_host":true,"user":"host"})");
}

TEST(ContainerSpecLabel, RoundTripsExactly) {
  std::vector<Spec> specs = {minimal_spec(), full_spec()};
  auto add = [&](auto change) {
    Spec s = minimal_spec();
    change(s);
    specs.push_back(s);
  };
  add([](Spec& s) { s.gpus = Gpus{}; });
  add([](Spec& s) { s.gpus = gpus_of(Gpus::Kind::count, 2); });
  add([](Spec& s) { s.gpus = gpus_of(Gpus::Kind::devices, 0, {3}); });
  add([](Spec& s) { s.gpus = gpus_of(Gpus::Kind::free, 4); });
  add([](Spec& s) { s.ipc_host = true; });
  add([](Spec& s) { s.shm_size = kMiB; });
  add([](Spec& s) { s.shm_size = kTiB; });
  add([](Spec& s) { s.user = user_of(true, -1, -1); });
  add([](Spec& s) { s.user = user_of(false, 0, 0); });
  add([](Spec& s) { s.env = {{"K", "\"quoted\" \\ \t ünï"}}; });
  add([](Spec& s) { s.volumes = {volume_of("/a b", "/c", false)}; });
  add([](Spec& s) { s.image = "127.0.0.1:5000/jl/lab4@" + kDigest; });
  for (const auto& s : specs) {
    const auto label = to_label(s);
    auto back = from_label(label);
    ASSERT_TRUE(back) << label;
    EXPECT_EQ(*back, s) << label;
    EXPECT_EQ(to_label(*back), label);
  }
}

TEST(ContainerSpecLabel, RefusesWhatJlDidNotWrite) {
  const std::vector<std::string> refused = {
      "",
      "not json",
      R"({"image":"ubuntu")",
      R"(["ubuntu"])",
      R"("ubuntu")",
      "null",
      "{}",
      R"({"image":""})",
      R"({"image":"UPPER"})",
      R"({"image":7})",
      R"({"image":"ubuntu","extra":1})",
      R"({"image":"ubuntu","gpus":2})",
      R"({"image":"ubuntu","gpus":"0"})",
      R"({"image":"ubuntu","gpus":"x"})",
      R"({"image":"ubuntu","volumes":"/a:/b"})",
      R"({"image":"ubuntu","volumes":[]})",
      R"({"image":"ubuntu","volumes":["a:/b"]})",
      R"({"image":"ubuntu","volumes":[1]})",
      R"({"image":"ubuntu","shm_size":"1g"})",
      R"({"image":"ubuntu","shm_size":1.5})",
      R"({"image":"ubuntu","shm_size":0})",
      R"({"image":"ubuntu","shm_size":1048575})",
      R"({"image":"ubuntu","shm_size":1099511627777})",
      R"({"image":"ubuntu","shm_size":-1048576})",
      R"({"image":"ubuntu","ipc_host":"true"})",
      R"({"image":"ubuntu","ipc_host":1})",
      R"({"image":"ubuntu","ipc_host":true,"shm_size":1048576})",
      R"({"image":"ubuntu","user":1000})",
      R"({"image":"ubuntu","user":"1000"})",
      R"({"image":"ubuntu","workdir":"w"})",
      R"({"image":"ubuntu","workdir":""})",
      R"({"image":"ubuntu","workdir":"/a\nb"})",
      R"({"image":"ubuntu","env":{"K":"V"}})",
      R"({"image":"ubuntu","env":["K"]})",
      R"({"image":"ubuntu","env":["1=V"]})",
      R"({"image":"ubuntu","env":["K=a\nb"]})",
      R"({"image":"ubuntu","env":[]})",
  };
  for (const auto& label : refused) {
    EXPECT_FALSE(from_label(label)) << label;
  }
  // Whitespace and key order are the JSON's own business.
  auto spaced = from_label(R"( { "workdir" : "/w", "image" : "ubuntu" } )");
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->workdir, "/w");
  EXPECT_EQ(spaced->image, "ubuntu");
}

// Differences

TEST(ContainerSpecDifferences, NoneWhenEqual) {
  EXPECT_TRUE(jl::container::differences(minimal_spec(), minimal_spec()).empty());
  EXPECT_TRUE(jl::container::differences(full_spec(), full_spec()).empty());
}

struct DiffCase {
  DiffCase(std::function<void(Spec&)> change_, std::string line_)
      : change(std::move(change_)), line(std::move(line_)) {}
  std::function<void(Spec&)> change;
  std::string line;
};

TEST(ContainerSpecDifferences, OneLinePerSetting) {
  const std::vector<DiffCase> cases = {
      {[](Spec& s) { s.image = "ubuntu:22.04"; },
       "image: ubuntu:22.04 (asked) vs nvcr.io/nvidia/pytorch:24.05-py3 (container)"},
      {[](Spec& s) { s.gpus = Gpus{}; }, "--gpus: all (asked) vs 2,0 (container)"},
      {[](Spec& s) {
         s.gpus = gpus_of(Gpus::Kind::devices, 0, {0, 2});
       },
       "--gpus: 0,2 (asked) vs 2,0 (container)"},
      {[](Spec& s) { s.gpus.reset(); }, "--gpus: none (asked) vs 2,0 (container)"},
      {[](Spec& s) { s.volumes.pop_back(); },
       "-v: ~/data:/data:ro (asked) vs ~/data:/data:ro /scratch:/scratch (container)"},
      {[](Spec& s) { std::swap(s.volumes[0], s.volumes[1]); },
       "-v: /scratch:/scratch ~/data:/data:ro (asked) vs ~/data:/data:ro /scratch:/scratch "
       "(container)"},
      {[](Spec& s) { s.volumes[0].read_only = false; },
       "-v: ~/data:/data /scratch:/scratch (asked) vs ~/data:/data:ro /scratch:/scratch "
       "(container)"},
      {[](Spec& s) { s.volumes.clear(); },
       "-v: none (asked) vs ~/data:/data:ro /scratch:/scratch (container)"},
      {[](Spec& s) { s.shm_size = 512 * kMiB; }, "--shm-size: 512m (asked) vs 1g (container)"},
      {[](Spec& s) { s.shm_size = kGiB + 1; },
       "--shm-size: 1073741825 bytes (asked) vs 1g (container)"},
      {[](Spec& s) { s.shm_size.reset(); }, "--shm-size: none (asked) vs 1g (container)"},
      {[](Spec& s) { s.ipc_host = true; }, "--ipc: host (asked) vs none (container)"},
      {[](Spec& s) { s.user = user_of(true, -1, -1); },
       "--user: host (asked) vs 1000:100 (container)"},
      {[](Spec& s) { s.user.reset(); }, "--user: none (asked) vs 1000:100 (container)"},
      {[](Spec& s) { s.workdir = "/x"; }, "--workdir: /x (asked) vs /w (container)"},
      {[](Spec& s) { s.workdir.clear(); }, "--workdir: none (asked) vs /w (container)"},
      {[](Spec& s) {
         s.env = {{"A", ""}, {"Z", "1"}, {"Z", "2=3"}};
       },
       "-e: A= Z=1 Z=2=3 (asked) vs Z=1 A= Z=2=3 (container)"},
      {[](Spec& s) { s.env.clear(); }, "-e: none (asked) vs Z=1 A= Z=2=3 (container)"},
  };
  for (const auto& c : cases) {
    Spec asked = full_spec();
    c.change(asked);
    EXPECT_EQ(jl::container::differences(asked, full_spec()), std::vector<std::string>{c.line});
  }
}

TEST(ContainerSpecDifferences, EverySettingInOrder) {
  Spec asked = minimal_spec();
  asked.ipc_host = true;
  const std::vector<std::string> lines = {
      "image: ubuntu (asked) vs nvcr.io/nvidia/pytorch:24.05-py3 (container)",
      "--gpus: none (asked) vs 2,0 (container)",
      "-v: none (asked) vs ~/data:/data:ro /scratch:/scratch (container)",
      "--shm-size: none (asked) vs 1g (container)",
      "--ipc: host (asked) vs none (container)",
      "--user: none (asked) vs 1000:100 (container)",
      "--workdir: none (asked) vs /w (container)",
      "-e: none (asked) vs Z=1 A= Z=2=3 (container)",
  };
  EXPECT_EQ(jl::container::differences(asked, full_spec()), lines);
}

// docker run

using Words = std::vector<std::string>;

Words head(const std::string& name, const Spec& spec) {
  return {"run",           "-d",         "--init",
          "--name",        name,         "--label",
          "jl.made-by=jl", "--label",    "jl.spec=" + to_label(spec),
          "--ulimit",      "memlock=-1", "--ulimit",
          "stack=67108864"};
}

Words concat(Words a, const Words& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(ContainerRunArguments, MinimalSpec) {
  const Spec s = minimal_spec();
  EXPECT_EQ(jl::container::run_arguments("lab", s, 1000, 1000, "/home/me"),
            (Words{"run", "-d", "--init", "--name", "lab", "--label", "jl.made-by=jl", "--label",
                   R"(jl.spec={"image":"ubuntu"})", "--ulimit", "memlock=-1", "--ulimit",
                   "stack=67108864", "ubuntu", "tail", "-f", "/dev/null"}));
}

TEST(ContainerRunArguments, FullSpec) {
  const Spec s = full_spec();
  EXPECT_EQ(jl::container::run_arguments("lab4", s, 1234, 5678, "/home/me"),
            concat(head("lab4", s), {"--gpus",
                                     "\"device=2,0\"",
                                     "-v",
                                     "/home/me/data:/data:ro",
                                     "-v",
                                     "/scratch:/scratch",
                                     "--shm-size",
                                     "1073741824",
                                     "--user",
                                     "1000:100",
                                     "-e",
                                     "HOME=/tmp",
                                     "-w",
                                     "/w",
                                     "-e",
                                     "Z=1",
                                     "-e",
                                     "A=",
                                     "-e",
                                     "Z=2=3",
                                     "nvcr.io/nvidia/pytorch:24.05-py3",
                                     "tail",
                                     "-f",
                                     "/dev/null"}));
}

TEST(ContainerRunArguments, GpusIpcAndHostUser) {
  Spec s = minimal_spec();
  s.ipc_host = true;
  s.user = user_of(true, -1, -1);
  const Words tail = {"ubuntu", "tail", "-f", "/dev/null"};
  const Words middle = {"--ipc", "host", "--user", "1234:5678", "-e", "HOME=/tmp"};
  const std::vector<std::pair<Gpus, std::string>> gpus = {
      {Gpus{}, "all"},
      {gpus_of(Gpus::Kind::count, 2), "2"},
      {gpus_of(Gpus::Kind::devices, 0, {3}), "\"device=3\""},
      {gpus_of(Gpus::Kind::devices, 0, {0, 2}), "\"device=0,2\""},
  };
  for (const auto& [g, word] : gpus) {
    s.gpus = g;
    EXPECT_EQ(jl::container::run_arguments("c", s, 1234, 5678, "/home/me"),
              concat(concat(head("c", s), Words{"--gpus", word}), concat(middle, tail)));
  }
}

TEST(ContainerRunArguments, ExpandsTheHomeOnly) {
  Spec s = minimal_spec();
  s.volumes = {volume_of("~/data", "/data", false), volume_of("~/", "/h", true),
               volume_of("/x/~/y", "/y", false)};
  const Words volumes = {"-v", "/home/me/data:/data", "-v", "/home/me/:/h:ro", "-v", "/x/~/y:/y"};
  const Words tail = {"ubuntu", "tail", "-f", "/dev/null"};
  EXPECT_EQ(jl::container::run_arguments("c", s, 0, 0, "/home/me"),
            concat(concat(head("c", s), volumes), tail));
  EXPECT_EQ(jl::container::run_arguments("c", s, 0, 0, "/home/me/"),
            concat(concat(head("c", s), volumes), tail));
  EXPECT_EQ(
      jl::container::run_arguments("c", s, 0, 0, "/"),
      concat(concat(head("c", s), Words{"-v", "/data:/data", "-v", "/:/h:ro", "-v", "/x/~/y:/y"}),
             tail));
  // The label keeps the spec as asked, "~/" and all.
  EXPECT_NE(jl::container::run_arguments("c", s, 0, 0, "/home/me")[8].find("~/data:/data"),
            std::string::npos);
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, ""), std::invalid_argument);
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, "home/me"), std::invalid_argument);
  // Without a "~/" volume the home does not matter.
  s.volumes = {volume_of("/data", "/data", false)};
  EXPECT_NO_THROW(jl::container::run_arguments("c", s, 0, 0, ""));
}

TEST(ContainerRunArguments, RefusesWhatTheCallerMustSettle) {
  Spec s = minimal_spec();
  s.gpus = gpus_of(Gpus::Kind::free, 2);
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, "/home/me"), std::invalid_argument);
  // free:2 with one device chosen, or three.
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, "/home/me", {1}), std::invalid_argument);
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, "/home/me", {1, 2, 3}),
               std::invalid_argument);
  // Devices chosen for a --gpus that is not free:N.
  s.gpus = gpus_of(Gpus::Kind::all, 0);
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, "/home/me", {1}), std::invalid_argument);
  s = minimal_spec();
  s.shm_size = kGiB;
  s.ipc_host = true;
  EXPECT_THROW(jl::container::run_arguments("c", s, 0, 0, "/home/me"), std::invalid_argument);
}

// --gpus free:N: the container gets the devices chosen, the devices label names them, and the
// spec label keeps free:N, so that asking for the same spec again finds no difference.
TEST(ContainerRunArguments, FreeGpusGetTheChosenDevicesAndKeepTheRequestInTheSpec) {
  Spec asked = minimal_spec();
  asked.gpus = gpus_of(Gpus::Kind::free, 2);
  const auto args = jl::container::run_arguments("c", asked, 0, 0, "/home/me", {3, 1});
  auto value_after = [&](const std::string& option, const std::string& prefix) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == option && args[i + 1].starts_with(prefix)) {
        return args[i + 1].substr(prefix.size());
      }
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(value_after("--gpus", ""), "\"device=3,1\"");
  EXPECT_EQ(value_after("--label", "jl.devices="), "3,1");
  const std::string label = value_after("--label", "jl.spec=");
  EXPECT_NE(label.find("\"gpus\":\"free:2\""), std::string::npos) << label;
  auto made = jl::container::from_label(label);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(*made, asked);
  EXPECT_TRUE(jl::container::differences(asked, *made).empty());
  // Asking for other devices later is a difference, named as asked.
  Spec other = asked;
  other.gpus = gpus_of(Gpus::Kind::free, 1);
  EXPECT_EQ(jl::container::differences(other, *made),
            std::vector<std::string>{"--gpus: free:1 (asked) vs free:2 (container)"});
}

}  // namespace
