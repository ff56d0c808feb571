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
// Up to `threads` syncs run at once, each on its own descriptor: a batch
// handed in while a sync runs starts its own at once instead of waiting for
// that one to end (the device takes a second flush meanwhile: on this VM two
// concurrent fdatasyncs give 1.5x the syncs per second). Completions stay in
// the order handed in: a sync that ends covers every batch handed in before
// it started, so batches complete up to the newest such one, in order, under
// one lock.
//
// A failed fdatasync is sticky (as PostgreSQL treats it): the pending
// callbacks and every later batch get kStoreError, because after such a
// failure the kernel may have dropped the dirty pages it could not write.
// Each thread syncs through its own descriptor so that every sync sees a
// writeback error that happened meanwhile (the kernel reports one to each
// open file once).
//
// Thread rules: After() and Broken() from any thread (the store's writer);
// callbacks run on a syncer thread, one batch at a time, in the order
// handed in. Stop() drains and joins; it must not be called from a
// callback.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
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

  // `path`: the file to sync (the redo log); `threads`: syncs at once.
  explicit FileSyncer(std::string path, int threads = 2);
  ~FileSyncer();
  FileSyncer(const FileSyncer&) = delete;
  FileSyncer& operator=(const FileSyncer&) = delete;

  // Calls each pending's done after a sync that starts after this call.
  void After(std::vector<Pending> batch);
  // Non-OK once a sync failed; the writer then refuses new batches.
  Status Broken() const;
  // Syncs and completes everything handed in, then ends the threads.
  void Stop();
  bool OnSyncerThread() const;

 private:
  struct Entry {
    uint64_t gen;  // the After() call it came with
    Pending p;
  };
  void Loop(int slot);
  // Runs one sync covering everything handed in so far, on descriptor
  // `slot`, then completes what is durable. Called with `lock` held (mu_);
  // returns with it held.
  void SyncAndComplete(std::unique_lock<std::mutex>& lock, int slot);
  Status SyncOn(int slot);  // one fdatasync; opens the slot's descriptor first
  void CompleteCovered();   // takes complete_mu_, then mu_
  static void Complete(Pending& p, const Status& synced);

  const std::string path_;
  const int threads_;
  std::vector<int> fds_;    // one per slot; slot owner only
  std::mutex complete_mu_;  // one thread completes at a time, in order

  mutable std::mutex mu_;  // guards what follows
  std::condition_variable cv_;
  std::deque<Entry> queue_;  // handed in, not yet completed
  uint64_t handed_ = 0;      // gen of the last After()
  uint64_t started_ = 0;     // newest gen a running or finished sync covers
  uint64_t finished_ = 0;    // newest gen a finished sync covers
  uint64_t durable_ = 0;     // newest gen a successful sync covers
  int running_ = 0;
  bool stop_ = false;
  Status broken_;
  std::vector<std::thread> threads_v_;
};

// Opens `path`, fdatasyncs it and closes it: for the rare syncs (the WAL
// before the redo log is emptied).
Status SyncFile(const std::string& path);

}  // namespace hie::sqlite
