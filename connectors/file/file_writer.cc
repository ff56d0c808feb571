#include "connectors/file/file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace hie {

namespace {

Status IoError(const std::string& what, const std::filesystem::path& path, int err) {
  return Status(ErrorCode::kStoreError,
                "写文件失败 (file write failed) " + what + " " + path.string() + ": " +
                    std::system_category().message(err),
                path.string());
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error (close can report delayed write errors).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::atomic<uint64_t> g_temp_counter{0};

}  // namespace

Status WriteFileAtomic(const std::filesystem::path& dir, const std::string& file_name,
                       std::string_view content) {
  if (file_name.empty() || file_name == "." || file_name.find('/') != std::string::npos ||
      file_name.find("..") != std::string::npos || file_name.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument,
                  "文件名无效 (invalid file name): \"" + file_name +
                      "\" 不得为空、含 '/' 或 '..' (must be a plain name)",
                  dir.string());
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status(ErrorCode::kStoreError,
                  "无法创建目录 (mkdir failed) " + dir.string() + ": " + ec.message(),
                  dir.string());
  }
  const std::filesystem::path target = dir / file_name;
  const std::filesystem::path temp = dir / ("." + file_name + ".tmp." + std::to_string(::getpid()) +
                                            "." + std::to_string(g_temp_counter.fetch_add(1)));

  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoError("open", temp, errno);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(temp.c_str());
    return IoError(what, temp, err);
  };
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync", errno);
  if (fd.Close() != 0) return fail("close", errno);
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return IoError("rename", target, err);
  }
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return IoError("open dir", dir, errno);
  if (::fsync(dfd.get()) != 0) return IoError("fsync dir", dir, errno);
  return Status::Ok();
}

}  // namespace hie
