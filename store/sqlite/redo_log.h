// RedoLog: the SQLite store's intake journal, a file of numbered,
// checksummed records, each the logical write operations of one group
// commit (see redo_ops.h).
//
// Why: a SQLite commit writes every page it touched (the table, each index,
// the trace) as WAL frames, some 30 KB for a 1 KB message when batches are
// small, and that write, not the fsync, limits intake. With the journal a
// batch is durable once its record (about the size of the messages) is
// fdatasync'd; the SQLite transaction stays open across batches and commits
// every few milliseconds without a sync of its own. On open, records newer
// than the database's `redo_state.seq` are replayed. See sqlite_store.cc.
//
// The file is written in place, never appended to in the steady state: it
// is extended with zeros ahead of the records (kExtendBytes at a time) and
// kept at its size when emptied, so the fdatasync that makes a batch
// durable writes the record's pages and nothing else (no size change, no
// block allocation, no inode write: on this ext4 an append cost the sync an
// extra inode write and the allocation metadata, two more device round
// trips).
//
// Layout (little endian): a 4 KiB header block {8-byte magic "HIEREDO2",
// u64 salt, u32 CRC-32 of the two}, then records from offset 4096:
// u32 payload length, u32 CRC-32 of (salt, seq, payload), u64 seq, payload.
// Emptying the log writes a fresh random salt and starts again at 4096; the
// records of earlier rounds still behind the new ones no longer check, so
// reading stops at the first record that is torn, zero, from another round
// (salt) or out of sequence. Such a tail can only belong to a batch whose
// DoneFns never ran. A log in the earlier layout (records from offset 0,
// CRC of (seq, payload), no header) is still read, for a hub upgraded after
// a crash.
//
// Thread rules: Append and Truncate from the writer thread only; the file
// is synced by a FileSyncer (file_syncer.h) on the same path.
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

  static constexpr uint64_t kHeaderBytes = 4096;
  static constexpr uint64_t kExtendBytes = uint64_t{1} << 20;

  // Opens (creating) the log at `path` for writing. The records already in
  // it stay readable until Truncate (call ReadAll first).
  static Result<RedoLog> Open(const std::string& path);
  // Every intact record, in order; stops at the first torn, corrupt, stale
  // or out-of-sequence one.
  static Result<std::vector<Record>> ReadAll(const std::string& path);

  RedoLog(RedoLog&& o) noexcept;
  RedoLog& operator=(RedoLog&& o) noexcept;
  RedoLog(const RedoLog&) = delete;
  RedoLog& operator=(const RedoLog&) = delete;
  ~RedoLog();

  // Writes one record (page cache; durable after the next sync of the file).
  // Append only after Truncate (a new round).
  Status Append(uint64_t seq, std::string_view payload);
  // Empties the log (a new salt, records from the header on). Only when
  // every record is durable in the database.
  Status Truncate();
  // Bytes of records written since the last Truncate.
  uint64_t size() const { return pos_ - kHeaderBytes; }
  const std::string& path() const { return path_; }

 private:
  RedoLog(std::string path, int fd, uint64_t allocated)
      : path_(std::move(path)), fd_(fd), allocated_(allocated) {}
  Status EnsureAllocated(uint64_t end);

  std::string path_;
  int fd_ = -1;
  uint64_t salt_ = 0;
  uint64_t pos_ = kHeaderBytes;  // where the next record goes
  uint64_t allocated_ = 0;       // the file's size: zeros written up to here
  bool ready_ = false;           // Truncate ran: salt_ and pos_ are valid
};

uint32_t Crc32(uint32_t crc, const void* data, size_t n);

}  // namespace hie::sqlite
