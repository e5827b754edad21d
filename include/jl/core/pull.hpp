#pragma once

// Pulling an image on the host, as data: the command that runs `docker pull` there, and the
// reader of what it prints.
//
// docker prints byte counts only on a terminal: there, each layer has a line
// "ID: Downloading [==>   ]  12.3MB/45.6MB" that it redraws in place with cursor movements
// (off a terminal it prints only the state lines: "Pulling fs layer", "Download complete",
// "Pull complete", ...). So jl runs the pull on a pseudo-terminal of the SSH channel and reads
// that stream: escapes, carriage returns and line feeds all end a record, a record may arrive
// split over chunks, and a record jl does not know is kept only as a possible reason for a
// failure. Nothing here talks to the network.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jl::pull {

// The command (for the host's shell, to run on a terminal) that pulls `image` with the docker
// command `docker` (words, not empty: std::invalid_argument). It marks its start and docker's
// exit status with lines `@@NONCE pull` and `@@NONCE pull-rc N`, and `@@NONCE docker-missing`
// when the docker command is not there.
std::string command(std::string_view nonce, const std::string& image,
                    const std::vector<std::string>& docker);

// A layer as docker last reported it.
struct Layer {
  enum class State {
    waiting,      // Pulling fs layer, Waiting, Retrying
    downloading,  // Downloading CURRENT/TOTAL
    downloaded,   // Verifying Checksum, Download complete
    extracting,   // Extracting CURRENT/TOTAL
    complete,     // Pull complete
    exists,       // Already exists (nothing to download)
  };
  std::string id;
  State state = State::waiting;
  long long current = 0;  // bytes downloaded so far (while downloading)
  long long total = -1;   // its size to download, once docker said it (-1: not yet)
};

// The pull so far, over the layers docker has named.
struct Progress {
  int layers = 0;             // every layer of the image docker named
  int layers_done = 0;        // pulled, or there already
  long long bytes_done = 0;   // downloaded, over the layers whose size is known
  long long bytes_total = 0;  // the size of those layers (those there already do not count)
  bool operator==(const Progress&) const = default;
};

// What the pull said.
struct Report {
  bool started = false;         // the command's start marker arrived
  bool docker_missing = false;  // the docker command is not on the host
  std::optional<int> rc;        // docker pull's exit status
  std::string digest;           // "sha256:..." (Digest: ...)
  std::string status;           // "Downloaded newer image for ...", "Image is up to date for ..."
  bool up_to_date = false;      // nothing new was downloaded
  std::string error;            // docker's complaint ("Error response from daemon: ..."), if any
  std::string last_other;       // the last record jl did not know (e.g. sudo's complaint)
  std::vector<Layer> layers;    // in the order docker first named them
  Progress progress;
  // docker's reason for a failure: its error line without "Error response from daemon: ", else
  // the last other record.
  std::string reason() const;
};

// Reads the output of command() as it arrives, in chunks split anywhere.
class Reader {
 public:
  explicit Reader(std::string nonce);
  void feed(std::string_view chunk);
  // The stream ended: a last record without a line end counts too.
  void finish();
  const Report& report() const { return m_report; }
  // How many times the progress changed (to redraw only then).
  int changes() const { return m_changes; }

 private:
  void end_record();
  void record(std::string_view text);
  void layer(std::string_view id, std::string_view status);
  void recount();

  std::string m_nonce;
  std::string m_record;  // the record being read
  enum class Escape { none, esc, csi } m_escape = Escape::none;
  Report m_report;
  int m_changes = 0;
};

// Reads a size as docker prints it (go-units, decimal: "512B", "163.8kB", "15.73MB",
// "1.2GB"): bytes, or nothing.
std::optional<long long> parse_size(std::string_view text);

// Bytes in decimal units, one decimal: "512 B", "163.8 kB", "15.7 MB", "1.2 GB".
std::string format_size(long long bytes);

// "3/7 layers, 123.4 MB of 456.7 MB" (the bytes only once a size is known, and ", extracting"
// once every byte is there and layers are still being unpacked; empty before docker names any
// layer).
std::string describe(const Progress& progress);

// How far the download is, 0 to 1, by bytes; nothing before a size is known.
std::optional<double> fraction(const Progress& progress);

// Why a pull failed, from docker's words.
enum class Failure {
  unknown_image,  // the registry has no such image or tag (manifest unknown, not found)
  unreachable,    // the host cannot reach the registry (refused, no such host, timeout, TLS)
  auth,           // the registry wants a login (no basic auth credentials, unauthorized)
  other,
};
Failure classify(std::string_view docker_said);

// The registry an image reference names: its first component when that has a '.' or a ':' or
// is "localhost", else Docker Hub ("docker.io").
std::string registry_of(std::string_view image);

}  // namespace jl::pull
