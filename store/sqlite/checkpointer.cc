#include "store/sqlite/checkpointer.h"

#include <algorithm>

#include "core/log.h"
#include "core/thread.h"
#include "store/sqlite/file_syncer.h"

namespace hie::sqlite {

namespace {
// At most one round every kPause: a pass syncs the WAL (16 MB or more at
// once) and copies pages into the database file, and under load that disk
// and CPU work is taken from the syncs ACKs wait on. A page rewritten many
// times meanwhile is copied once. 2 s rather than 500 ms: at 64
// connections p99 ACK latency 11.2 -> 7.9 ms (median of 7 alternating
// pairs; 13 of 14 pairs better over two rounds), rate unchanged or better
// (docs/architecture.md, Store).
constexpr std::chrono::milliseconds kPause{2000};
// Passes of one chase at most; each copies what the one before let pass.
constexpr int kMaxChasePasses = 8;
}  // namespace

WalLimits WalLimits::ForRestartAt(int restart_frames) {
  WalLimits l;
  l.restart = std::max(64, restart_frames);
  l.pass = std::max(16, l.restart / 4);
  l.tail = std::max(8, l.restart / 50);
  l.fresh_tail = std::max(16, l.restart / 8);
  l.forced = l.restart * 4;
  return l;
}

Checkpointer::Checkpointer(std::unique_ptr<Conn> c, WalLimits limits)
    : conn_(std::move(c)), limits_(limits), db_path_(sqlite3_db_filename(conn_->db(), "main")) {
  thread_ = std::thread([this] {
    NameThisThread("hie-checkpoint");
    Loop();
  });
}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Poke() {
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_one();
}

void Checkpointer::SetOnCaughtUp(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_caught_up_ = std::move(fn);
}

void Checkpointer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  conn_.reset();
}

void Checkpointer::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return requested_ || stop_; });
      if (stop_) return;
      requested_ = false;
    }
    int nlog = 0;
    int nck = 0;
    if (Pass(&nlog, &nck) == SQLITE_OK && nck == nlog && nlog >= limits_.restart) Chase(nlog);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kPause, [&] { return stop_; });
    if (stop_) return;
  }
}

// The WAL is long and a pass has copied all it saw: copy what was committed
// meanwhile until little is new, then sync the database file here, so the
// writer's restart has little to copy and little to sync.
void Checkpointer::Chase(int nlog) {
  int nck = nlog;
  for (int k = 0; k < kMaxChasePasses; ++k) {
    const int before = nlog;
    if (Pass(&nlog, &nck) != SQLITE_OK) return;
    if (nlog - before <= limits_.tail) break;
  }
  if (nck != nlog) return;
  if (Status st = SyncFile(db_path_); !st.ok()) {
    HIE_LOG_WARN("store: background checkpoint failed: {}", st.ToString());
    return;
  }
  caught_up_at_.store(nlog, std::memory_order_release);
  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    notify = on_caught_up_;
  }
  if (notify) notify();
}

int Checkpointer::Pass(int* nlog, int* nck) {
  int rc = sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nlog, nck);
  if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
    HIE_LOG_WARN("store: background checkpoint failed: {}", sqlite3_errmsg(conn_->db()));
  }
  return rc;
}

int RestartWal(Conn& c, int wait_ms) {
  const int saved = c.busy_timeout_ms();
  c.set_busy_timeout_ms(wait_ms);
  int rc = sqlite3_wal_checkpoint_v2(c.db(), nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  c.set_busy_timeout_ms(saved);
  if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
    HIE_LOG_WARN("store: checkpoint failed: {}", sqlite3_errmsg(c.db()));
  }
  return rc;
}

}  // namespace hie::sqlite
