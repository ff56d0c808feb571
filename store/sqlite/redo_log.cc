#include "store/sqlite/redo_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace hie::sqlite {
namespace {

constexpr size_t kHeader = 16;
constexpr uint32_t kMaxPayload = 1u << 30;

Status IoError(const char* what, const std::string& path, int err) {
  return Status(ErrorCode::kStoreError,
                std::string("写入日志 (redo log) ") + what + " 失败: " + std::strerror(err), path);
}

std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

void PutU32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint64_t GetLE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t RecordCrc(uint64_t seq, std::string_view payload) {
  std::string s;
  PutU64(s, seq);
  uint32_t crc = Crc32(0, s.data(), s.size());
  return Crc32(crc, payload.data(), payload.size());
}

}  // namespace

uint32_t Crc32(uint32_t crc, const void* data, size_t n) {
  static const std::array<uint32_t, 256> kTable = MakeTable();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

Result<RedoLog> RedoLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return IoError("fstat", path, err);
  }
  return RedoLog(path, fd, static_cast<uint64_t>(st.st_size));
}

Result<std::vector<RedoLog::Record>> RedoLog::ReadAll(const std::string& path) {
  std::vector<Record> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;  // no log: nothing to replay
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  while (data.size() - pos >= kHeader) {
    const char* h = data.data() + pos;
    auto len = static_cast<uint32_t>(GetLE(h, 4));
    auto crc = static_cast<uint32_t>(GetLE(h + 4, 4));
    uint64_t seq = GetLE(h + 8, 8);
    if (len > kMaxPayload || data.size() - pos - kHeader < len) break;  // torn tail
    std::string_view payload(h + kHeader, len);
    if (RecordCrc(seq, payload) != crc) break;  // corrupt tail
    out.push_back(Record{seq, std::string(payload)});
    pos += kHeader + len;
  }
  return out;
}

RedoLog::RedoLog(RedoLog&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), size_(o.size_), buf_(std::move(o.buf_)) {
  o.fd_ = -1;
}

RedoLog& RedoLog::operator=(RedoLog&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    size_ = o.size_;
    buf_ = std::move(o.buf_);
    o.fd_ = -1;
  }
  return *this;
}

RedoLog::~RedoLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status RedoLog::Append(uint64_t seq, std::string_view payload) {
  if (payload.size() > kMaxPayload) {
    return Status(ErrorCode::kTooLarge, "批次过大，无法写入日志 (batch too large for redo log)",
                  path_);
  }
  buf_.clear();
  PutU32(buf_, static_cast<uint32_t>(payload.size()));
  PutU32(buf_, RecordCrc(seq, payload));
  PutU64(buf_, seq);
  buf_.append(payload);
  size_t off = 0;
  while (off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path_, errno);
    }
    off += static_cast<size_t>(n);
  }
  size_ += buf_.size();
  return Status::Ok();
}

Status RedoLog::Truncate() {
  if (::ftruncate(fd_, 0) != 0) return IoError("truncate", path_, errno);
  size_ = 0;
  return Status::Ok();
}

}  // namespace hie::sqlite
