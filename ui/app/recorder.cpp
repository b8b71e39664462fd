#include "recorder.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "connector.hpp"

namespace actio::inspector {

std::string timestamped(const std::string& prefix, const std::string& ext) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  // Never an existing file: a second recording or export within the same
  // second gets "-2", "-3", ... (recordings are opened with truncation).
  std::string name = prefix + "-" + buf + ext;
  for (int n = 2; std::filesystem::exists(name) && n < 1000; ++n) name = prefix + "-" + buf + "-" + std::to_string(n) + ext;
  return name;
}

Recorder::Recorder(std::vector<std::string> targets, std::string first_path, double max_mb)
    : targets_(std::move(targets)),
      first_path_(std::move(first_path)),
      max_bytes_(static_cast<std::uint64_t>(max_mb * 1024 * 1024)),
      known_(targets_.size()) {}

bool Recorder::start(Connector* resync) {
  if (writer_) return true;
  std::string path = first_path_.empty() ? timestamped("actio-inspector", ".actiorec") : first_path_;
  first_path_.clear();
  stopped_by_itself_ = false;
  try {
    writer_ = std::make_unique<RecordingWriter>(path, targets_, max_bytes_, unix_now());
  } catch (const RecordingError& e) {
    message_ = "cannot record";
    detail_ = e.what();
    std::cerr << "actio-inspector: " << detail_ << std::endl;
    return false;
  }
  path_ = path;
  bytes_ = writer_->bytes();
  message_.clear();
  detail_.clear();
  if (resync) {
    for (auto& k : known_) k.owed = true;
    resync->resync();
  }
  return true;
}

void Recorder::stop(const std::string& reason) {
  if (!writer_) return;
  writer_->close(reason);
  bytes_ = writer_->bytes();
  message_ = "recorded";
  detail_ = "recorded to " + path_;
  std::cerr << "actio-inspector: recording " << path_ << " ended (" << reason << ", " << writer_->bytes()
            << " bytes, " << writer_->records() << " records)" << std::endl;
  writer_.reset();
}

void Recorder::record(std::span<const Update> updates) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const Update& u = updates[i];
    if (u.target >= known_.size()) continue;
    Known& k = known_[u.target];
    if (const auto* snapshot = std::get_if<inspect::v1::Snapshot>(&u.what)) {
      if (snapshot->pid() != k.pid) k.descriptors.clear();
      k.pid = snapshot->pid();
      if (writer_ && k.owed) {  // a recording started mid-session: the descriptors after the snapshot
        k.owed = false;
        write(updates.subspan(from, i + 1 - from));
        from = i + 1;
        for (const auto& d : k.descriptors) {
          Update batch{u.target, d, u.time};
          write(std::span<const Update>(&batch, 1));
        }
      }
    } else if (const auto* d = std::get_if<Descriptors>(&u.what)) {
      if (d->pid == k.pid) k.descriptors.push_back(*d);
    }
  }
  write(updates.subspan(from));
  if (writer_) bytes_ = writer_->bytes();
}

bool Recorder::write(std::span<const Update> updates) {
  if (!writer_) return false;
  if (writer_->write(updates)) return true;
  if (writer_->capped()) {
    std::uint64_t cap = writer_->max_bytes();
    std::string size =
        cap < 1024 * 1024 ? std::to_string(cap) + " bytes" : std::to_string(cap / (1024 * 1024)) + " MB";
    message_ = "recording stopped: size cap";
    detail_ = "recording stopped: " + path_ + " reached the size cap (" + size + ", --record-max-mb)";
  } else {
    message_ = "recording stopped: write failed";
    detail_ = "recording stopped: " + path_ + ": " + writer_->stop_reason();
  }
  std::cerr << "actio-inspector: " << detail_ << std::endl;
  bytes_ = writer_->bytes();
  writer_.reset();
  stopped_by_itself_ = true;
  return false;
}

}  // namespace actio::inspector
