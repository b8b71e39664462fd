#include "recording.hpp"

#include <cmath>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "recording.pb.h"

namespace actio::inspector {

namespace v1 = actio::inspect::v1;
namespace rec = actio::inspector::recording::v1;

namespace {

/// Room kept for the End record: a short reason, the record count, a time.
constexpr std::uint64_t kEndReserve = 64;
constexpr std::size_t kMaxReason = 32;

void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

/// Reads a varint at `pos`; false when the bytes end first or it is longer than 10 bytes.
bool read_varint(std::string_view in, std::size_t& pos, std::uint64_t& v, bool& overlong) {
  v = 0;
  overlong = false;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos >= in.size()) return false;
    auto b = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  overlong = true;
  return false;
}

std::string framed(const rec::Record& record) {
  std::string body = record.SerializeAsString();
  std::string out;
  append_varint(out, body.size());
  out += body;
  return out;
}

std::string mb(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

// -- writing ------------------------------------------------------------------

RecordingWriter::RecordingWriter(std::string path, const std::vector<std::string>& targets, std::uint64_t max_bytes,
                                 double started)
    : path_(std::move(path)), max_bytes_(max_bytes) {
  rec::Record record;
  record.set_time(started);
  auto* header = record.mutable_header();
  for (const auto& t : targets) header->add_targets(t);
  header->set_started(started);
  header->set_inspector("actio-inspector");
  std::string head(kRecordingMagic);
  for (int i = 0; i < 4; ++i) head += static_cast<char>((kRecordingVersion >> (8 * i)) & 0xff);
  head += framed(record);
  if (head.size() + kEndReserve > max_bytes_)
    throw RecordingError("cannot record to " + path_ + ": the size cap (" + std::to_string(max_bytes_) +
                         " bytes) leaves no room for the recording's header");
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw RecordingError("cannot create " + path_ + ": " + std::strerror(errno));
  out_.write(head.data(), static_cast<std::streamsize>(head.size()));
  out_.flush();
  if (!out_) throw RecordingError("cannot write " + path_ + ": " + std::strerror(errno));
  bytes_ = head.size();
  records_ = 1;
}

RecordingWriter::~RecordingWriter() { close(); }

bool RecordingWriter::put(const std::string& record) {
  if (stopped_) return false;
  if (bytes_ + record.size() + kEndReserve > max_bytes_) {
    capped_ = true;
    close("size cap");
    stop_reason_ = "the size cap (" + mb(max_bytes_) + ") was reached";
    return false;
  }
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  if (!out_) {
    stopped_ = true;
    stop_reason_ = std::string("writing failed: ") + std::strerror(errno);
    return false;
  }
  bytes_ += record.size();
  ++records_;
  return true;
}

bool RecordingWriter::write(std::span<const Update> updates) {
  if (stopped_) return false;
  const double now = unix_now();
  for (std::size_t i = 0; i < updates.size();) {
    const Update& u = updates[i];
    rec::Record r;
    r.set_target(u.target);
    r.set_time(u.time > 0 ? u.time : now);
    std::size_t next = i + 1;
    if (const auto* event = std::get_if<v1::Event>(&u.what)) {
      // One watch batch: the events of this target stamped with this time.
      auto* batch = r.mutable_events();
      *batch->add_events() = *event;
      while (next < updates.size() && updates[next].target == u.target && updates[next].time == u.time) {
        const auto* more = std::get_if<v1::Event>(&updates[next].what);
        if (!more) break;
        *batch->add_events() = *more;
        ++next;
      }
    } else if (const auto* snapshot = std::get_if<v1::Snapshot>(&u.what)) {
      *r.mutable_snapshot() = *snapshot;
    } else if (const auto* refresh = std::get_if<Update::Refresh>(&u.what)) {
      *r.mutable_refresh() = refresh->snapshot;
    } else if (std::holds_alternative<Update::Connecting>(u.what)) {
      r.mutable_connecting();
    } else if (const auto* lost = std::get_if<Update::Lost>(&u.what)) {
      r.set_lost(lost->error);
    } else if (const auto* d = std::get_if<Descriptors>(&u.what)) {
      auto* out = r.mutable_descriptors();
      out->set_pid(d->pid);
      for (const auto& f : d->files) out->add_files(f);
      for (const auto& s : d->described) out->add_described(s);
      for (const auto& [symbol, error] : d->failed) {
        auto* f = out->add_failed();
        f->set_symbol(symbol);
        f->set_error(error);
      }
    } else {
      i = next;  // an invocation's reply or result: the user's, not the target's
      continue;
    }
    if (!put(framed(r))) return false;
    i = next;
  }
  out_.flush();
  return true;
}

void RecordingWriter::close(const std::string& reason) {
  if (stopped_) return;
  stopped_ = true;
  stop_reason_ = reason;
  rec::Record r;
  r.set_time(unix_now());
  r.mutable_end()->set_records(records_);
  r.mutable_end()->set_reason(reason.substr(0, kMaxReason));
  std::string end = framed(r);
  out_.write(end.data(), static_cast<std::streamsize>(end.size()));
  out_.flush();
  if (out_) bytes_ += end.size();
  out_.close();
}

// -- reading ------------------------------------------------------------------

namespace {

/// Checks the magic and the version at the start of `bytes` (throws).
void parse_header(std::string_view bytes, const std::string& name) {
  const std::size_t head = kRecordingMagic.size() + 4;
  if (bytes.empty()) throw RecordingError(name + " is empty, not an actio-inspector recording");
  if (bytes.size() < kRecordingMagic.size() ? !kRecordingMagic.starts_with(bytes)
                                            : !bytes.starts_with(kRecordingMagic))
    throw RecordingError(name + " is not an actio-inspector recording (it does not start with \"ACTIOREC\")");
  if (bytes.size() < head) throw RecordingError(name + " is truncated: it ends inside its header");
  std::uint32_t version = 0;
  for (int i = 0; i < 4; ++i)
    version |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[kRecordingMagic.size() + i])) << (8 * i);
  if (version != kRecordingVersion)
    throw RecordingError(name + " is a recording of format version " + std::to_string(version) +
                         "; this actio-inspector reads version " + std::to_string(kRecordingVersion));
}

}  // namespace

Recording parse_recording(std::string_view bytes, const std::string& name) {
  const std::size_t head = kRecordingMagic.size() + 4;
  parse_header(bytes, name);

  Recording out;
  std::size_t pos = head;
  std::uint64_t count = 0;  // records read
  bool ended = false;
  rec::Record r;
  while (pos < bytes.size()) {
    const std::size_t at = pos;
    if (ended)
      throw RecordingError(name + " is corrupt: there are bytes after its end record (at byte " + std::to_string(at) +
                           ")");
    std::uint64_t size = 0;
    bool overlong = false;
    if (!read_varint(bytes, pos, size, overlong)) {
      if (overlong)
        throw RecordingError(name + " is corrupt: record " + std::to_string(count) + " at byte " +
                             std::to_string(at) + " has no valid size");
      throw RecordingError(name + " is truncated: it ends inside record " + std::to_string(count) + " (byte " +
                           std::to_string(at) + ")");
    }
    if (size > bytes.size() - pos)
      throw RecordingError(name + " is truncated: record " + std::to_string(count) + " at byte " + std::to_string(at) +
                           " has " + std::to_string(bytes.size() - pos) + " of its " + std::to_string(size) +
                           " bytes");
    if (size > static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ||
        !r.ParseFromArray(bytes.data() + pos, static_cast<int>(size)))
      throw RecordingError(name + " is corrupt: record " + std::to_string(count) + " at byte " + std::to_string(at) +
                           " does not parse");
    pos += size;
    auto corrupt = [&](const std::string& why) {
      return RecordingError(name + " is corrupt: record " + std::to_string(count) + " at byte " + std::to_string(at) +
                            " " + why);
    };
    if (count == 0) {
      if (!r.has_header()) throw corrupt("should be the header");
      for (const auto& t : r.header().targets()) out.targets.push_back(t);
      out.started = r.header().started();
      ++count;
      continue;
    }
    if (r.has_header()) throw corrupt("is a second header");
    if (r.has_end()) {
      if (r.end().records() != count)
        throw corrupt("(the end) counts " + std::to_string(r.end().records()) + " records, not " +
                      std::to_string(count));
      out.end_reason = r.end().reason();
      ended = true;
      continue;
    }
    ++count;
    if (r.target() >= out.targets.size())
      throw corrupt("names target " + std::to_string(r.target()) + " of " + std::to_string(out.targets.size()));
    const TargetId target = r.target();
    const double time = r.time();
    // A replay waits for each record's time: one that is not a time (NaN,
    // infinite) would never come.
    if (!std::isfinite(time)) throw corrupt("has no valid time");
    switch (r.what_case()) {
      case rec::Record::kSnapshot:
        out.updates.push_back({target, std::move(*r.mutable_snapshot()), time});
        break;
      case rec::Record::kEvents:
        for (auto& e : *r.mutable_events()->mutable_events()) out.updates.push_back({target, std::move(e), time});
        break;
      case rec::Record::kRefresh:
        out.updates.push_back({target, Update::Refresh{std::move(*r.mutable_refresh())}, time});
        break;
      case rec::Record::kConnecting:
        out.updates.push_back({target, Update::Connecting{}, time});
        break;
      case rec::Record::kLost:
        out.updates.push_back({target, Update::Lost{r.lost()}, time});
        break;
      case rec::Record::kDescriptors: {
        Descriptors d;
        d.pid = r.descriptors().pid();
        d.files.assign(r.descriptors().files().begin(), r.descriptors().files().end());
        d.described.assign(r.descriptors().described().begin(), r.descriptors().described().end());
        for (const auto& f : r.descriptors().failed()) d.failed.emplace_back(f.symbol(), f.error());
        out.updates.push_back({target, std::move(d), time});
        break;
      }
      default:
        break;  // a kind this version does not know: skipped
    }
  }
  if (!ended)
    throw RecordingError(name + " is truncated: it ends after " + std::to_string(count) +
                         " records without its end record (the recording was not finished)");
  return out;
}

Recording read_recording(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw RecordingError(path + " is a folder, not a recording");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError("cannot open " + path + ": " + std::strerror(errno));
  // The magic and the version first: a big file that is something else is
  // refused without reading it all.
  std::string bytes(kRecordingMagic.size() + 4, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw RecordingError("cannot read " + path + ": " + std::strerror(errno));
  if (bytes.size() < kRecordingMagic.size() + 4) return parse_recording(bytes, path);  // throws: says what is wrong
  parse_header(bytes, path);
  std::ostringstream rest;
  rest << in.rdbuf();
  if (in.bad()) throw RecordingError("cannot read " + path + ": " + std::strerror(errno));
  bytes += rest.str();
  return parse_recording(bytes, path);
}

// -- replaying ----------------------------------------------------------------

Replayer::Replayer(Recording recording) : recording_(std::move(recording)) {
  if (!recording_.updates.empty()) {
    start_ = recording_.updates.front().time;
    double last = start_;
    for (const auto& u : recording_.updates) last = std::max(last, u.time);
    length_ = last - start_;
  } else {
    start_ = recording_.started;
  }
}

void Replayer::add_targets(Model& model) const {
  for (const auto& t : recording_.targets) model.add_target(t);
}

std::size_t Replayer::feed(Model& model, double elapsed, double speed) {
  const double until = speed <= 0 ? std::numeric_limits<double>::infinity() : elapsed * speed;
  std::size_t applied = 0;
  while (next_ < recording_.updates.size() && recording_.updates[next_].time - start_ <= until) {
    apply(model, recording_.updates[next_]);
    ++next_;
    ++applied;
  }
  position_ = done() ? length_ : std::min(until, length_);
  model.set_now(start_ + position_);
  return applied;
}

}  // namespace actio::inspector
