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

FileSyncer::FileSyncer(std::string path) : path_(std::move(path)) {
  thread_ = std::thread([this] {
    NameThisThread("hie-fsync");
    Loop();
  });
}

FileSyncer::~FileSyncer() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

void FileSyncer::After(std::vector<Pending> batch) {
  std::lock_guard lock(mu_);
  const bool was_empty = queue_.empty();
  for (auto& p : batch) queue_.push_back(std::move(p));
  if (was_empty) cv_.notify_one();
}

Status FileSyncer::Broken() const {
  std::lock_guard lock(mu_);
  return broken_;
}

void FileSyncer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable() && !OnSyncerThread()) thread_.join();
}

// The file is opened at the first sync, and its directory synced then, so
// the file's name is as durable as its content. It is never replaced while
// the store is open (the redo log is emptied in place), so later syncs are
// one fdatasync each.
Status FileSyncer::SyncOnce() {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return SysError("open", path_, errno);
    std::string dir = DirOf(path_);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return SysError("open dir", dir, errno);
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0) return SysError("fsync dir", dir, err);
  }
  if (::fdatasync(fd_) != 0) return SysError("fdatasync", path_, errno);
  return Status::Ok();
}

bool FileSyncer::SyncHereIfIdle(std::vector<Pending>& batch) {
  {
    std::lock_guard lock(mu_);
    if (busy_ || !queue_.empty()) return false;
    busy_ = true;  // keeps the syncer thread's completions behind ours
  }
  Status synced = SyncAndRecord();
  Complete(batch, synced);
  batch.clear();
  std::lock_guard lock(mu_);
  busy_ = false;
  if (!queue_.empty() || stop_) cv_.notify_one();
  return true;
}

Status FileSyncer::SyncAndRecord() {
  Status synced = Broken();
  if (!synced.ok()) return synced;
  {
    std::lock_guard sync_lock(sync_mu_);
    synced = SyncOnce();
  }
  if (!synced.ok()) {
    HIE_LOG_ERROR("store: {}; the store refuses further writes", synced.ToString());
    std::lock_guard lock(mu_);
    broken_ = synced;
  }
  return synced;
}

void FileSyncer::Loop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return (!queue_.empty() && !busy_) || (stop_ && !busy_); });
      if (queue_.empty()) return;  // stopping, all completed
      batch.swap(queue_);
      busy_ = true;
    }
    Complete(batch, SyncAndRecord());
    batch.clear();
    std::lock_guard lock(mu_);
    busy_ = false;
  }
}

void FileSyncer::Complete(std::vector<Pending>& batch, const Status& synced) {
  PostHold hold;  // the batch's ACKs go to the event loop in one post
  for (auto& p : batch) {
    if (!p.done) continue;
    try {
      p.done(p.result.ok() ? synced : p.result);
    } catch (const std::exception& e) {
      HIE_LOG_ERROR("store: a write completion callback threw: {}", e.what());
    } catch (...) {
      HIE_LOG_ERROR("store: a write completion callback threw; ignored");
    }
  }
}

}  // namespace hie::sqlite
