// ByteWriter / ByteReader: the little-endian, length-prefixed encoding of
// the SQLite redo log (redo_ops.h) and of write intents (store.h
// WriteIntent), plus NewMessage in that encoding. Not a wire format for
// other programs: records are read back by the same program version or the
// next one, so fields are only ever appended.
//
// Thread rules: none (plain values).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/message.h"

namespace hie {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : o_(out) {}
  ByteWriter& u8(uint8_t v) {
    o_.push_back(static_cast<char>(v));
    return *this;
  }
  ByteWriter& i64(int64_t v) {
    auto u = static_cast<uint64_t>(v);
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((u >> (8 * i)) & 0xFF);
    o_.append(b, 8);
    return *this;
  }
  ByteWriter& str(std::string_view s) {
    i64(static_cast<int64_t>(s.size()));
    o_.append(s);
    return *this;
  }

 private:
  std::string& o_;
};

// Reading past the end or a bad length sets !ok() and yields empty values
// from then on; check ok() once after a group of reads.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  bool ok() const { return ok_; }
  uint8_t u8() {
    if (pos_ + 1 > in_.size()) return Fail<uint8_t>();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  int64_t i64() {
    if (pos_ + 8 > in_.size()) return Fail<int64_t>();
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in_[pos_ + i]);
    pos_ += 8;
    return static_cast<int64_t>(v);
  }
  std::string str() {
    int64_t n = i64();
    if (!ok_ || n < 0 || static_cast<uint64_t>(n) > in_.size() - pos_) return Fail<std::string>();
    std::string s(in_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    return s;
  }

 private:
  template <typename T>
  T Fail() {
    ok_ = false;
    pos_ = in_.size();
    return T{};
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

inline void WriteNewMessage(ByteWriter& w, const NewMessage& m) {
  w.str(m.facility_id)
      .str(m.dedupe_key)
      .str(m.control_id)
      .str(m.message_type)
      .str(m.content_type)
      .str(m.source)
      .str(m.peer)
      .str(m.charset)
      .str(m.patient_key)
      .str(m.raw)
      .str(m.response)
      .i64(m.received_at_ms)
      .i64(static_cast<int64_t>(m.status))
      .str(m.error_code)
      .str(m.error_text)
      .str(m.error_where);
}

inline NewMessage ReadNewMessage(ByteReader& r) {
  NewMessage m;
  m.facility_id = r.str();
  m.dedupe_key = r.str();
  m.control_id = r.str();
  m.message_type = r.str();
  m.content_type = r.str();
  m.source = r.str();
  m.peer = r.str();
  m.charset = r.str();
  m.patient_key = r.str();
  m.raw = r.str();
  m.response = r.str();
  m.received_at_ms = r.i64();
  m.status = static_cast<MessageStatus>(r.i64());
  m.error_code = r.str();
  m.error_text = r.str();
  m.error_where = r.str();
  return m;
}

}  // namespace hie
