#include "store/sqlite/file_syncer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "core/log.h"
#include "core/posted_batch.h"
#include "core/thread.h"

namespace hie::sqlite {
namespace {

Status SysError(const char* what, const std::string& path, int err) {
  return Status(ErrorCode::kStoreError,
                std::string("同步到磁盘失败 (fsync failed): ") + what + ": " + std::strerror(err),
                path);
}

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysError("open", path, errno);
  int rc = ::fdatasync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return SysError("fdatasync", path, err);
  return Status::Ok();
}

FileSyncer::FileSyncer(std::string path, int threads)
    : path_(std::move(path)), threads_(threads < 1 ? 1 : threads), fds_(threads_, -1) {
  for (int i = 0; i < threads_; ++i) {
    threads_v_.emplace_back([this, i] {
      NameThisThread("hie-fsync");
      Loop(i);
    });
  }
}

FileSyncer::~FileSyncer() {
  Stop();
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

bool FileSyncer::OnSyncerThread() const {
  for (const auto& t : threads_v_) {
    if (t.get_id() == std::this_thread::get_id()) return true;
  }
  return false;
}

void FileSyncer::After(std::vector<Pending> batch) {
  std::lock_guard lock(mu_);
  const uint64_t gen = ++handed_;
  for (auto& p : batch) queue_.push_back({gen, std::move(p)});
  if (running_ < threads_) cv_.notify_one();
}

Status FileSyncer::Broken() const {
  std::lock_guard lock(mu_);
  return broken_;
}

void FileSyncer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (OnSyncerThread()) return;
  for (auto& t : threads_v_) {
    if (t.joinable()) t.join();
  }
}

// A slot's file is opened at its first sync, and the directory synced then,
// so the file's name is as durable as its content. It is never replaced
// while the store is open (the redo log is emptied in place), so later syncs
// are one fdatasync each.
Status FileSyncer::SyncOn(int slot) {
  int& fd = fds_[static_cast<size_t>(slot)];
  if (fd < 0) {
    fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SysError("open", path_, errno);
    std::string dir = DirOf(path_);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return SysError("open dir", dir, errno);
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0) return SysError("fsync dir", dir, err);
  }
  if (::fdatasync(fd) != 0) return SysError("fdatasync", path_, errno);
  return Status::Ok();
}

void FileSyncer::SyncAndComplete(std::unique_lock<std::mutex>& lock, int slot) {
  const uint64_t target = handed_;
  started_ = target;
  ++running_;  // until its completions ran: Stop() waits for them
  Status st = broken_;
  lock.unlock();
  if (st.ok()) st = SyncOn(slot);
  lock.lock();
  if (target > finished_) finished_ = target;
  if (st.ok()) {
    if (target > durable_) durable_ = target;
  } else if (broken_.ok()) {
    HIE_LOG_ERROR("store: {}; the store refuses further writes", st.ToString());
    broken_ = st;
  }
  lock.unlock();
  CompleteCovered();
  lock.lock();
  --running_;
  if (stop_) cv_.notify_all();
}

void FileSyncer::CompleteCovered() {
  std::lock_guard order(complete_mu_);
  std::vector<Entry> ready;
  Status broken;
  uint64_t durable = 0;
  {
    std::lock_guard lock(mu_);
    while (!queue_.empty() && queue_.front().gen <= finished_) {
      ready.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    broken = broken_;
    durable = durable_;
  }
  if (ready.empty()) return;
  PostHold hold;  // the batch's ACKs go to the event loop in one post
  for (Entry& e : ready) {
    // After a failure nothing not yet answered counts as durable.
    Complete(e.p, broken.ok() && e.gen <= durable ? Status::Ok() : broken);
  }
}

void FileSyncer::Loop(int slot) {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return (handed_ > started_ && running_ < threads_) ||
             (stop_ && running_ == 0 && handed_ == started_);
    });
    if (handed_ == started_) return;  // stopping: every sync ran and completed
    SyncAndComplete(lock, slot);
  }
}

void FileSyncer::Complete(Pending& p, const Status& synced) {
  if (!p.done) return;
  try {
    p.done(p.result.ok() ? synced : p.result);
  } catch (const std::exception& e) {
    HIE_LOG_ERROR("store: a write completion callback threw: {}", e.what());
  } catch (...) {
    HIE_LOG_ERROR("store: a write completion callback threw; ignored");
  }
}

}  // namespace hie::sqlite
