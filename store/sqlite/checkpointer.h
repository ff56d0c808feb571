// Keeps the store's WAL short. A background thread copies WAL frames back
// into the database file on its own connection (PASSIVE passes, which
// neither wait for nor block anyone). PASSIVE alone never lets the WAL
// start over under load: that needs a moment with every frame copied and
// no commit before the next write, and the EMPI's and the shared record's
// writers commit to the same file between any pass and the store writer's
// next BEGIN. So once the WAL is long the thread chases the tail until
// little is left, syncs the database file, and tells the writer, which
// then runs a short RESTART checkpoint between its transactions
// (RestartWal); the next write starts the WAL from its beginning.
//
// Thread rules: Poke, TakeCaughtUp and Stop may be called from any thread;
// the caught-up callback runs on the checkpointer's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_conn.h"

namespace hie::sqlite {

// WAL lengths in frames (one page, 4 KiB, each), all derived from the
// length at which the WAL is restarted.
struct WalLimits {
  int restart = 16384;    // ~64 MB: the writer restarts the WAL
  int pass = 4096;        // a commit that leaves this many asks for a pass
  int tail = 327;         // the chase stops once a pass saw this few new
  int fresh_tail = 2048;  // a restart is worth it this soon after a chase
  int forced = 65536;     // restart anyway (the chase never caught up)
  static WalLimits ForRestartAt(int restart_frames);
};

class Checkpointer {
 public:
  Checkpointer(std::unique_ptr<Conn> c, WalLimits limits);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Asks for a pass; cheap, callable from the writer's WAL hook.
  void Poke();
  // Set before the first Poke; called after each successful chase.
  void SetOnCaughtUp(std::function<void()> fn);
  // The WAL frame up to which the last chase copied every frame and synced
  // the database file; 0 when there was none since the previous call.
  int TakeCaughtUp() { return caught_up_at_.exchange(0, std::memory_order_acq_rel); }
  void Stop();

 private:
  void Loop();
  void Chase(int nlog);
  int Pass(int* nlog, int* nck);

  std::unique_ptr<Conn> conn_;
  const WalLimits limits_;
  const std::string db_path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stop_ = false;
  std::function<void()> on_caught_up_;
  std::atomic<int> caught_up_at_{0};
  std::thread thread_;
};

// A RESTART checkpoint on the writer's connection `c`, between its
// transactions: copies what is left, waits at most wait_ms for other
// writers and for readers of older snapshots, so that the next write
// starts the WAL over. SQLITE_OK when it will; SQLITE_BUSY when someone
// did not finish in time (the frames are still copied as far as possible).
int RestartWal(Conn& c, int wait_ms);

}  // namespace hie::sqlite
