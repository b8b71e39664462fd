#pragma once
/// Recordings (--record, the top bar's "record"; --replay): what the
/// inspector received from each target, with its arrival time, in a file,
/// and that file fed back into a Model without any live process.
///
/// The format (ui/model/recording.proto): the 8 bytes "ACTIOREC", the
/// version as a little-endian uint32, then records, each a varint size and a
/// recording.v1.Record: first the Header (the targets), then snapshots, watch
/// event batches, refreshes, connection changes and reflection's answers,
/// last the End. No window and no network here: unit-tested on its own.

#include <cstdint>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "update.hpp"

namespace actio::inspector {

inline constexpr std::string_view kRecordingMagic = "ACTIOREC";
inline constexpr std::uint32_t kRecordingVersion = 1;

/// A recording that cannot be written or read: what() says why, for people.
struct RecordingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Writes a recording. Bounded: once the next record would take the file
/// past `max_bytes` (its End included), it writes the End instead and stops.
class RecordingWriter {
 public:
  /// Creates `path` (replacing a file there) and writes the magic, the
  /// version and the Header. Throws RecordingError when the file cannot be
  /// made or `max_bytes` leaves no room for the header and the end.
  RecordingWriter(std::string path, const std::vector<std::string>& targets, std::uint64_t max_bytes,
                  double started_unix_seconds);
  /// close()s.
  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  /// Writes what arrived, in order (an invocation's result is not from a
  /// target and is left out). Consecutive events of one target that arrived
  /// together (the same time: one watch batch) go in one record. Returns
  /// false once stopped (the cap was reached, a write failed, or closed):
  /// then nothing more is written and stop_reason() says why.
  bool write(std::span<const Update> updates);
  bool write(const Update& update) { return write(std::span<const Update>(&update, 1)); }
  /// Ends the file with its End record. Idempotent.
  void close(const std::string& reason = "stopped");

  bool stopped() const noexcept { return stopped_; }
  /// Empty while recording; "stopped", or why it stopped early.
  const std::string& stop_reason() const noexcept { return stop_reason_; }
  /// Whether it stopped because the size cap was reached.
  bool capped() const noexcept { return capped_; }
  std::uint64_t bytes() const noexcept { return bytes_; }
  std::uint64_t max_bytes() const noexcept { return max_bytes_; }
  /// Records written (the header included, the end not).
  std::uint64_t records() const noexcept { return records_; }

 private:
  bool put(const std::string& record);

  std::string path_;
  std::ofstream out_;
  std::uint64_t max_bytes_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t records_ = 0;
  bool stopped_ = false;
  bool capped_ = false;
  std::string stop_reason_;
};

/// A recording read back: the targets, then every update in order (a watch
/// batch comes back as one Event update per event, with the batch's time).
struct Recording {
  std::vector<std::string> targets;
  double started = 0;      ///< unix seconds
  std::string end_reason;  ///< the End's reason ("stopped", the size cap)
  std::vector<Update> updates;
};

/// Reads a whole recording. Throws RecordingError saying what is wrong: no
/// such file, not a recording (magic), another version, cut short
/// (truncated: a partial record, or no End), a record that does not parse.
Recording read_recording(const std::string& path);
/// The same from the file's bytes (`name` is used in the messages).
Recording parse_recording(std::string_view bytes, const std::string& name = "recording");

/// Feeds a recording to a Model at the recorded pace (or faster, or all at once).
class Replayer {
 public:
  explicit Replayer(Recording recording);

  /// Adds the recording's targets to `model` (an empty one): TargetId i is
  /// the recording's target i.
  void add_targets(Model& model) const;
  /// Applies the updates recorded up to `elapsed` wall seconds into the
  /// replay at `speed` times the recorded pace (0: everything now), and sets
  /// the model's clock to the recording's time there. Returns how many.
  std::size_t feed(Model& model, double elapsed, double speed);

  bool done() const noexcept { return next_ == recording_.updates.size(); }
  std::size_t applied() const noexcept { return next_; }
  std::size_t total() const noexcept { return recording_.updates.size(); }
  /// Seconds into the recording the replay has reached.
  double position() const noexcept { return position_; }
  /// Seconds from the first update to the last.
  double length() const noexcept { return length_; }

 private:
  Recording recording_;
  std::size_t next_ = 0;
  double start_ = 0;  ///< unix time of the first update
  double length_ = 0;
  double position_ = 0;
};

}  // namespace actio::inspector
