// RedoLog: the SQLite store's intake journal, an append-only file of
// numbered, checksummed records, each the logical write operations of one
// group commit (see redo_ops.h).
//
// Why: a SQLite commit writes every page it touched (the table, each index,
// the trace) as WAL frames, some 30 KB for a 1 KB message when batches are
// small, and that write, not the fsync, limits intake. With the journal a
// batch is durable once its record (about the size of the messages) is
// fdatasync'd; the SQLite transaction stays open across batches and commits
// every few milliseconds without a sync of its own. On open, records newer
// than the database's `redo_state.seq` are replayed. See sqlite_store.cc.
//
// Record layout: u32 payload length, u32 CRC-32 of (seq, payload), u64 seq,
// payload; little endian. A torn or corrupt record ends the log: it can only
// be the tail of a batch whose DoneFns never ran.
//
// Thread rules: Append and Truncate from the writer thread only; the file
// is synced by a FileSyncer (wal_syncer.h) on the same path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie::sqlite {

class RedoLog {
 public:
  struct Record {
    uint64_t seq = 0;
    std::string payload;
  };

  // Opens (creating) the log at `path` for appending.
  static Result<RedoLog> Open(const std::string& path);
  // Every intact record, in order; stops at the first torn or corrupt one.
  static Result<std::vector<Record>> ReadAll(const std::string& path);

  RedoLog(RedoLog&& o) noexcept;
  RedoLog& operator=(RedoLog&& o) noexcept;
  RedoLog(const RedoLog&) = delete;
  RedoLog& operator=(const RedoLog&) = delete;
  ~RedoLog();

  // Writes one record (page cache; durable after the next sync of the file).
  Status Append(uint64_t seq, std::string_view payload);
  // Empties the log. Only when every record is durable in the database.
  Status Truncate();
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  RedoLog(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string buf_;  // reused for each record
};

uint32_t Crc32(uint32_t crc, const void* data, size_t n);

}  // namespace hie::sqlite
