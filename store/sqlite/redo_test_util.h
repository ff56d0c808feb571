// Helpers of the SQLite store's tests: a temporary directory, a NewMessage
// (facility F1, control id C<i>) and the count of messages SQLite itself
// holds (without a replay).
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "core/message.h"

namespace hie::redo_test {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hie-sqlite-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_; }

 private:
  std::string path_;
};

inline NewMessage Msg(int i) {
  NewMessage m;
  m.facility_id = "F1";
  m.dedupe_key = "C" + std::to_string(i);
  m.control_id = m.dedupe_key;
  m.message_type = "ADT^A01";
  m.content_type = "application/hl7-v2";
  m.source = "mllp";
  m.peer = "127.0.0.1:1";
  m.charset = "UNICODE UTF-8";
  m.patient_key = "p" + std::to_string(i % 7);
  m.raw = "MSH|^~\\&|X|F1|||20240101||ADT^A01|" + m.control_id + "|P|2.4\r";
  m.response = "ACK " + m.control_id;
  m.received_at_ms = 1000 + i;
  m.status = MessageStatus::kQueued;
  return m;
}

// Messages committed to the database file (read-only, no redo replay); -1 if
// it cannot be read.
inline int CommittedMessages(const std::string& db) {
  sqlite3* raw = nullptr;
  int n = -1;
  if (sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(raw, "SELECT count(*) FROM messages", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      n = sqlite3_column_int(q, 0);
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(raw);
  return n;
}

}  // namespace hie::redo_test
