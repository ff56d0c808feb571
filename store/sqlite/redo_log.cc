#include "store/sqlite/redo_log.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

namespace hie::sqlite {
namespace {

constexpr size_t kRecordHeader = 16;
constexpr uint32_t kMaxPayload = 1u << 30;
constexpr char kMagic[8] = {'H', 'I', 'E', 'R', 'E', 'D', 'O', '2'};
constexpr size_t kFileHeader = 20;  // magic, salt, crc; the rest of the block is zero

Status IoError(const char* what, const std::string& path, int err) {
  return Status(ErrorCode::kStoreError,
                std::string("写入日志 (redo log) ") + what + " 失败: " + std::strerror(err), path);
}

// Slicing-by-8 tables of the CRC-32 of zlib/PNG (reflected 0xEDB88320):
// eight bytes per step instead of one, the same checksum.
struct CrcTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
    }
  }
};

void PutLE(char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint64_t GetLE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t Load32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint32_t RecordCrc(uint64_t salt, uint64_t seq, std::string_view payload) {
  char s[16];
  PutLE(s, salt, 8);
  PutLE(s + 8, seq, 8);
  return Crc32(Crc32(0, s, sizeof s), payload.data(), payload.size());
}
// The earlier layout: no salt.
uint32_t LegacyRecordCrc(uint64_t seq, std::string_view payload) {
  char s[8];
  PutLE(s, seq, 8);
  return Crc32(Crc32(0, s, sizeof s), payload.data(), payload.size());
}

uint32_t HeaderCrc(const char* header) { return Crc32(0, header, 16); }

Status PwriteAll(int fd, const char* data, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

uint64_t NewSalt(uint64_t old) {
  uint64_t s = 0;
  if (::getrandom(&s, sizeof s, 0) != static_cast<ssize_t>(sizeof s)) {
    s = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) *
        0x9E3779B97F4A7C15ull;
  }
  if (s == old || s == 0) s = old + 0x9E3779B97F4A7C15ull;
  return s;
}

Result<std::vector<RedoLog::Record>> ReadLegacy(const std::string& path) {
  std::vector<RedoLog::Record> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  while (data.size() - pos >= kRecordHeader) {
    const char* h = data.data() + pos;
    auto len = static_cast<uint32_t>(GetLE(h, 4));
    auto crc = static_cast<uint32_t>(GetLE(h + 4, 4));
    uint64_t seq = GetLE(h + 8, 8);
    if (len > kMaxPayload || data.size() - pos - kRecordHeader < len) break;  // torn tail
    std::string_view payload(h + kRecordHeader, len);
    if (LegacyRecordCrc(seq, payload) != crc) break;  // corrupt tail
    out.push_back(RedoLog::Record{seq, std::string(payload)});
    pos += kRecordHeader + len;
  }
  return out;
}

}  // namespace

uint32_t Crc32(uint32_t crc, const void* data, size_t n) {
  static const CrcTables kTables;
  const auto& t = kTables.t;
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  while (n >= 8) {
    const uint32_t lo = Load32(p) ^ crc;
    const uint32_t hi = Load32(p + 4);
    crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = t[0][(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

Result<RedoLog> RedoLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return out;  // no log: nothing to replay
    return IoError("open", path, errno);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  auto read_at = [&](char* buf, size_t n, uint64_t off) -> Result<bool> {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(off + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError("read", path, errno);
      }
      if (r == 0) return false;  // end of file
      got += static_cast<size_t>(r);
    }
    return true;
  };
  char header[kFileHeader];
  HIE_ASSIGN_OR_RETURN(bool whole, read_at(header, sizeof header, 0));
  if (!whole || std::memcmp(header, kMagic, sizeof kMagic) != 0) {
    // No header: the earlier layout (or an empty file).
    return ReadLegacy(path);
  }
  if (static_cast<uint32_t>(GetLE(header + 16, 4)) != HeaderCrc(header)) {
    return out;  // a header torn before any record of its round was synced
  }
  const uint64_t salt = GetLE(header + 8, 8);
  uint64_t off = kHeaderBytes;
  std::string payload;
  for (;;) {
    char h[kRecordHeader];
    HIE_ASSIGN_OR_RETURN(bool got, read_at(h, sizeof h, off));
    if (!got) break;
    auto len = static_cast<uint32_t>(GetLE(h, 4));
    auto crc = static_cast<uint32_t>(GetLE(h + 4, 4));
    uint64_t seq = GetLE(h + 8, 8);
    if (seq == 0 || len > kMaxPayload) break;              // zeros ahead of the records, or garbage
    if (!out.empty() && seq != out.back().seq + 1) break;  // a record of an earlier round
    payload.resize(len);
    HIE_ASSIGN_OR_RETURN(bool full, read_at(payload.data(), len, off + kRecordHeader));
    if (!full) break;                                 // torn tail
    if (RecordCrc(salt, seq, payload) != crc) break;  // torn, corrupt or stale
    out.push_back(Record{seq, payload});
    off += kRecordHeader + len;
  }
  return out;
}

RedoLog::RedoLog(RedoLog&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(o.fd_),
      salt_(o.salt_),
      pos_(o.pos_),
      allocated_(o.allocated_),
      ready_(o.ready_) {
  o.fd_ = -1;
}

RedoLog& RedoLog::operator=(RedoLog&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    salt_ = o.salt_;
    pos_ = o.pos_;
    allocated_ = o.allocated_;
    ready_ = o.ready_;
    o.fd_ = -1;
  }
  return *this;
}

RedoLog::~RedoLog() {
  if (fd_ >= 0) ::close(fd_);
}

// Zeros up to at least `end`, a chunk ahead: the blocks are allocated and
// the size set once per kExtendBytes of records, not by every sync.
Status RedoLog::EnsureAllocated(uint64_t end) {
  if (end <= allocated_) return Status::Ok();
  uint64_t target = std::max(end, allocated_ + kExtendBytes);
  target = (target + kHeaderBytes - 1) / kHeaderBytes * kHeaderBytes;
  static const std::string kZeros(64 * 1024, '\0');
  for (uint64_t off = allocated_; off < target;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kZeros.size(), target - off));
    HIE_RETURN_IF_ERROR(PwriteAll(fd_, kZeros.data(), n, off, path_));
    off += n;
  }
  allocated_ = target;
  return Status::Ok();
}

Status RedoLog::Append(uint64_t seq, std::string_view payload) {
  if (!ready_) {
    return Status(ErrorCode::kInternal, "写入日志未清空就追加 (redo log appended before reset)",
                  path_);
  }
  if (payload.size() > kMaxPayload) {
    return Status(ErrorCode::kTooLarge, "批次过大，无法写入日志 (batch too large for redo log)",
                  path_);
  }
  const uint64_t end = pos_ + kRecordHeader + payload.size();
  HIE_RETURN_IF_ERROR(EnsureAllocated(end));
  char h[kRecordHeader];
  PutLE(h, payload.size(), 4);
  PutLE(h + 4, RecordCrc(salt_, seq, payload), 4);
  PutLE(h + 8, seq, 8);
  iovec iov[2] = {{h, sizeof h}, {const_cast<char*>(payload.data()), payload.size()}};
  ssize_t w;
  do {
    w = ::pwritev(fd_, iov, payload.empty() ? 1 : 2, static_cast<off_t>(pos_));
  } while (w < 0 && errno == EINTR);
  if (w < 0) return IoError("write", path_, errno);
  if (static_cast<uint64_t>(w) < end - pos_) {
    // Short write (rare): the rest one piece at a time.
    std::string rec(h, sizeof h);
    rec.append(payload);
    HIE_RETURN_IF_ERROR(PwriteAll(fd_, rec.data() + w, rec.size() - static_cast<size_t>(w),
                                  pos_ + static_cast<uint64_t>(w), path_));
  }
  pos_ = end;
  return Status::Ok();
}

Status RedoLog::Truncate() {
  // The header block of the new round. It needs no sync of its own: the
  // sync that makes the round's first record durable writes it too, and
  // until then every record of the file is in the database (either header
  // on disk reads as a log with nothing to replay).
  std::string block(kHeaderBytes, '\0');
  const uint64_t salt = NewSalt(salt_);
  std::memcpy(block.data(), kMagic, sizeof kMagic);
  PutLE(block.data() + 8, salt, 8);
  PutLE(block.data() + 16, HeaderCrc(block.data()), 4);
  HIE_RETURN_IF_ERROR(PwriteAll(fd_, block.data(), block.size(), 0, path_));
  allocated_ = std::max(allocated_, kHeaderBytes);
  salt_ = salt;
  pos_ = kHeaderBytes;
  ready_ = true;
  return Status::Ok();
}

}  // namespace hie::sqlite
