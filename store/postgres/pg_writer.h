// The write side of the PostgreSQL store: group commit with the COMMIT of
// one batch overlapped with building the next ones.
//
// One builder thread takes the queued WriteFns (<= max_batch), runs them in
// a transaction on a free writer connection (a savepoint per fn only when
// one fails: the batch is then run again with them), and hands the still
// open transaction to that connection's committer thread, which sends
// COMMIT (and waits for its WAL flush) while the builder goes on with the
// next batch on another connection. So up to `connections` transactions of
// one node are in flight: one being built, the others committing. A
// committing transaction takes no new locks, so the one being built may
// wait for it (a unique-key wait on a repeat, a row or queue lock) but never
// the other way round: no cycle within a node.
//
// DoneFns run in the order the writes were queued, each only after its own
// batch's COMMIT returned (durable with synchronous_commit on), never
// concurrently with each other; on the committer threads (or the builder,
// for a batch that failed before COMMIT).
//
// Visibility: a WriteFn sees every commit that happened before it was
// queued (READ COMMITTED, fresh snapshot per statement), but no longer the
// writes of a batch still committing: what it must see of a concurrent
// write it locks first (message row, queue and trace advisory locks), as
// between two nodes.
//
// Retries: a batch is rerun (5 tries, backoff) after a serialization
// failure, a deadlock or a dropped connection before COMMIT. A COMMIT that
// fails is never rerun (its answer may be lost: outcome unknown; or it was
// rolled back): its DoneFns get kUnavailable (intake answers AR, the sender
// resends, dedupe answers with the first ACK if it did commit).
//
// Thread rules: Write from any thread; Close from any thread but the
// store's own (from a DoneFn it only marks closing). WriteFns run on the
// builder thread only, one at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/status.h"
#include "store/postgres/pg_conn.h"
#include "store/store.h"

namespace hie::pg {

struct WriterOptions {
  std::string uri;
  bool durable = true;
  int max_batch = 256;
  // Writer connections: transactions in flight at once (1 = commit, then
  // build the next batch).
  int connections = 3;
  Env* env = nullptr;
  MetricsRegistry* metrics = nullptr;
};

class Writer {
 public:
  // `first` becomes the first writer connection (the others open on use).
  Writer(WriterOptions o, std::unique_ptr<Conn> first);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Write(Store::WriteFn fn, Store::DoneFn done);
  // Refuses new writes, runs what is queued to its end (DoneFns called),
  // then joins the threads. Called from a DoneFn it only refuses new writes.
  void Close();
  // True on the builder or a committer thread (inside a WriteFn or DoneFn).
  bool OnOwnThread() const;

 private:
  struct Item {
    Store::WriteFn fn;
    Store::DoneFn done;
  };
  struct Batch;
  struct Slot;

  void BuilderLoop();
  void CommitterLoop(Slot* s);
  // Runs the batch's fns to just before COMMIT on s's connection, again after
  // a retryable failure. OK: b.work holds the open transaction.
  void Build(Slot& s, Batch& b);
  Status TryBuild(Slot& s, Batch& b, Failure* kind, bool savepoints, bool* need_savepoints);
  void Commit(Slot& s, Batch& b);
  // Marks b finished and runs the DoneFns of every finished batch at the
  // head of the in-flight list, in order.
  void Finish(Batch* b);

  const WriterOptions opts_;
  Env& env_;
  Histogram* batch_hist_ = nullptr;
  Histogram* commit_hist_ = nullptr;
  Counter* commits_ = nullptr;
  Counter* retries_ = nullptr;

  std::mutex mu_;                     // queue_, closing_, the slots' hand-over, inflight_
  std::condition_variable queue_cv_;  // the builder waits for writes
  std::condition_variable slot_cv_;   // the builder waits for a free slot
  std::deque<Item> queue_;
  bool closing_ = false;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<std::unique_ptr<Batch>> inflight_;  // in queue order
  std::mutex report_mu_;                         // one thread runs DoneFns at a time
  std::mutex close_mu_;
  bool joined_ = false;
  std::thread builder_;
};

}  // namespace hie::pg
