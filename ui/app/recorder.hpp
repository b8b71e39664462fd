#pragma once
/// Recorder: the app's side of recording (--record, the top bar's "record").
/// It opens and closes a RecordingWriter, writes what the connector delivered
/// before the model gets it, and keeps what a recording started mid-session
/// needs: each target's reflection answers for its current process, written
/// right after that target's fresh snapshot (start() asks the connector for
/// one), so the file replays on its own. UI thread only.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "recording.hpp"

namespace actio::inspector {

class Connector;

/// "PREFIX-YYYYmmdd-HHMMSS.EXT" in the current folder (recordings, exports),
/// with "-2", "-3", ... before EXT when that file exists.
std::string timestamped(const std::string& prefix, const std::string& ext);

class Recorder {
 public:
  /// `first_path`: where the first recording goes ("" for a timestamped
  /// name in the current folder, as every later one).
  Recorder(std::vector<std::string> targets, std::string first_path, double max_mb);

  /// Opens a recording. With `resync` (something was received already), it
  /// asks it for a fresh snapshot of every target. False when the file
  /// cannot be made (message() and detail() say why).
  bool start(Connector* resync);
  /// Ends the recording (its End says `reason`); says so on stderr.
  void stop(const std::string& reason = "stopped");
  /// What the connector delivered, in order; also keeps track of each
  /// target's process and reflection answers while not recording.
  void record(std::span<const Update> updates);

  bool writing() const noexcept { return writer_ != nullptr; }
  /// The last recording ended by itself (the size cap, a failed write), not
  /// by stop(): the top bar's toggle goes off, and no new one starts.
  bool stopped_by_itself() const noexcept { return stopped_by_itself_; }
  /// The file being written, or the last one.
  const std::string& path() const noexcept { return path_; }
  std::uint64_t bytes() const noexcept { return bytes_; }
  /// Short, for the top bar: "recorded", "recording stopped: size cap", ...
  const std::string& message() const noexcept { return message_; }
  /// The whole sentence, with the path (the top bar's tooltip, stderr).
  const std::string& detail() const noexcept { return detail_; }

 private:
  struct Known {
    int pid = 0;
    std::vector<Descriptors> descriptors;  // reflection's answers for that process
    bool owed = false;                     // to be written after the next snapshot
  };
  bool write(std::span<const Update> updates);

  std::vector<std::string> targets_;
  std::string first_path_;
  std::uint64_t max_bytes_;
  std::vector<Known> known_;
  std::unique_ptr<RecordingWriter> writer_;
  std::string path_;
  std::uint64_t bytes_ = 0;
  std::string message_, detail_;
  bool stopped_by_itself_ = false;
};

}  // namespace actio::inspector
