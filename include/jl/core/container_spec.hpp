#pragma once

// A container jl creates from an image (`jl up NAME --image IMAGE ...`), as data: the values of
// its options, parsed and checked without any I/O; the spec as the label jl puts on the
// container, and back; what differs between two specs; and the arguments of `docker run`.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jl::container {

// --gpus: all, a count (1 to 64), device indices (0,2), or the N least used free ones.
struct Gpus {
  enum class Kind { all, count, devices, free } kind = Kind::all;
  int count = 0;             // count and free
  std::vector<int> devices;  // devices: distinct, 0 to 63, as given
  bool operator==(const Gpus&) const = default;
};

// Each parser returns nothing for a value it refuses and says why in `error` (words that name
// the value, for a usage error).
std::optional<Gpus> parse_gpus(std::string_view text, std::string* error);
// A plain number is a count (as docker's `--gpus 2`); devices are indices with a comma ("0,2")
// or after "device=" ("device=0", "device=0,2", also in double quotes as docker takes them).
// The value as --gpus takes it ("all", "2", "0,2", "free:2"; a single device as "device=0").
std::string to_string(const Gpus& gpus);

// -v HOST:CONTAINER[:ro|:rw]. Both paths absolute (HOST may also start with "~/", the SSH
// user's home on the host); no ':' or newline inside a path.
struct Volume {
  std::string host;
  std::string container;
  bool read_only = false;
  bool operator==(const Volume&) const = default;
};
std::optional<Volume> parse_volume(std::string_view text, std::string* error);
std::string to_string(const Volume& volume);

// --shm-size: a positive number with an optional unit b, k, m or g (as docker takes it, case
// insensitive), in bytes; at least 1 MiB, at most 1 TiB.
std::optional<long long> parse_size(std::string_view text, std::string* error);

// --user: "host" (the SSH user's uid:gid on the host) or UID:GID (numbers).
struct User {
  bool host = false;
  long long uid = -1;
  long long gid = -1;
  bool operator==(const User&) const = default;
};
std::optional<User> parse_user(std::string_view text, std::string* error);
std::string to_string(const User& user);

// --workdir: an absolute path in the container, without a newline.
std::optional<std::string> parse_workdir(std::string_view text, std::string* error);

// -e K=V: K a shell variable name; V anything but a newline.
std::optional<std::pair<std::string, std::string>> parse_env(std::string_view text,
                                                             std::string* error);

// --pull: when to pull the image.
enum class Pull { missing, always, never };
std::optional<Pull> parse_pull(std::string_view text, std::string* error);
std::string_view to_string(Pull pull);

// An image reference as docker takes it: [REGISTRY[:PORT]/]NAME[:TAG][@DIGEST], lower-case
// name components; no spaces or shell characters.
bool valid_image(std::string_view image);

struct Spec {
  std::string image;
  std::optional<Gpus> gpus;
  std::vector<Volume> volumes;
  std::optional<long long> shm_size;  // bytes
  bool ipc_host = false;              // --ipc host (instead of a shm size)
  std::optional<User> user;
  std::string workdir;  // empty: the image's
  std::vector<std::pair<std::string, std::string>> env;
  bool operator==(const Spec&) const = default;
};

// The labels jl puts on a container it creates: who made it, and the spec it was made from.
inline constexpr std::string_view kMadeByLabel = "jl.made-by";
inline constexpr std::string_view kSpecLabel = "jl.spec";
// The devices --gpus free:N chose when the container was made ("1,3"). The spec's label keeps
// free:N itself, so that asking for the same spec again finds no difference.
inline constexpr std::string_view kDevicesLabel = "jl.devices";

// The spec as the value of kSpecLabel (compact JSON, stable key order), and back: nothing for a
// value jl did not write (not JSON, fields of the wrong type or unknown, a value one of the
// parsers above refuses, or both a shm size and --ipc host).
std::string to_label(const Spec& spec);
std::optional<Spec> from_label(std::string_view json);

// What differs between the spec asked for and the one a container was made from, one line per
// setting ("image: pytorch:24.05 (asked) vs pytorch:24.04 (container)"); empty when equal.
std::vector<std::string> differences(const Spec& asked, const Spec& made);

// Whether run_arguments needs the SSH user's ids and home on the host: --user host, or a volume
// under ~/.
inline bool needs_host_ids(const Spec& spec) {
  if (spec.user && spec.user->host) {
    return true;
  }
  for (const auto& v : spec.volumes) {
    if (v.host.starts_with("~/")) {
      return true;
    }
  }
  return false;
}

// The arguments of `docker run` (after the docker command itself) that create container `name`
// from `spec`: detached, with an init (--init) and an idle command, so that nothing is left
// defunct; the ulimits NVIDIA documents for its images (memlock=-1, stack=67108864); both
// labels; then --gpus, -v, --shm-size or --ipc host, --user with a writable HOME, -w and -e as
// given. `host_uid`/`host_gid` are the SSH user's ids on the host, used for User::host. Volumes
// whose host path starts with "~/" get `home` (the SSH user's home on the host) instead.
// For --gpus free:N, `chosen` holds the N devices picked (gpus::pick_free): the container gets
// those, and kDevicesLabel names them.
// Throws std::invalid_argument for what the caller must settle first: --gpus free:N without N
// devices chosen (or devices chosen for another --gpus), both a shm size and --ipc host (a usage
// error), or a "~/" volume with a `home` that is not absolute.
std::vector<std::string> run_arguments(const std::string& name, const Spec& spec,
                                       long long host_uid, long long host_gid,
                                       const std::string& home,
                                       const std::vector<int>& chosen = {});

}  // namespace jl::container
