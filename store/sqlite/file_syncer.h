// FileSyncer: makes a batch durable off the writer thread and only then
// completes it, so group commit is pipelined: while batch N's fdatasync runs
// here, the writer already executes batch N+1. The file synced is the
// store's redo log (redo_log.h): the writer appends a batch's record with
// write() and hands the batch here; one fdatasync() of the file that starts
// after that covers it and every earlier batch. Only then are the batch's
// DoneFns called, so no ACK leaves before its message is on disk. A process
// crash (kill -9) loses nothing either way: written data sits in the page
// cache; the fsync is for power loss.
//
// A failed fdatasync is sticky (as PostgreSQL treats it): the pending
// callbacks and every later batch get kStoreError, because after such a
// failure the kernel may have dropped the dirty pages it could not write.
//
// Thread rules: After(), SyncHereIfIdle() and Broken() from any thread (the
// store's writer); callbacks run on the syncer's thread or the caller of
// SyncHereIfIdle, in the order handed in. Stop() drains and joins; it must
// not be called from a callback.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hie::sqlite {

class FileSyncer {
 public:
  using Done = std::function<void(const Status&)>;
  struct Pending {
    Done done;
    Status result;  // the fn's own outcome; an OK one becomes the sync's
  };

  // `path`: the file to sync (the redo log).
  explicit FileSyncer(std::string path);
  ~FileSyncer();
  FileSyncer(const FileSyncer&) = delete;
  FileSyncer& operator=(const FileSyncer&) = delete;

  // Calls each pending's done after a sync that starts after this call.
  void After(std::vector<Pending> batch);
  // When the syncer holds nothing: syncs on the calling thread and completes
  // `batch` here, returning true (for the writer when no further writes wait:
  // one thread hand-off less). Otherwise returns false, `batch` untouched.
  bool SyncHereIfIdle(std::vector<Pending>& batch);
  // Non-OK once a sync failed; the writer then refuses new batches.
  Status Broken() const;
  // Syncs and completes everything handed in, then ends the thread.
  void Stop();
  bool OnSyncerThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Loop();
  Status SyncOnce();  // under sync_mu_
  Status SyncAndRecord();
  static void Complete(std::vector<Pending>& batch, const Status& synced);

  const std::string path_;
  std::mutex sync_mu_;  // one sync at a time; guards fd_
  int fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stop_ = false;
  bool busy_ = false;  // the syncer thread holds a batch
  Status broken_;
  std::thread thread_;
};

// Opens `path`, fdatasyncs it and closes it: for the rare syncs (the WAL
// before the redo log is emptied).
Status SyncFile(const std::string& path);

}  // namespace hie::sqlite
