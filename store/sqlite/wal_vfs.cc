#include "store/sqlite/wal_vfs.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "core/log.h"

namespace hie::sqlite {
namespace {

constexpr char kVfsName[] = "hie-coalescing";
// A pending run is written once it reaches this size.
constexpr size_t kMaxPending = size_t{1} << 20;
constexpr int kFrameHeader = 24;
constexpr size_t kMaxWrite = 120 * 1024;

sqlite3_vfs* g_real = nullptr;  // the VFS underneath (set once)

// Our file object; SQLite allocates szOsFile bytes and we place the real
// VFS's file right after it.
struct ShimFile {
  sqlite3_file base;  // first: what SQLite sees
  sqlite3_file* real = nullptr;
  bool is_wal = false;
  ShimFile* wal = nullptr;  // a database file: its connection's linked WAL
  ShimFile* db = nullptr;   // a WAL file: the database file that linked it
  bool coalesce = false;    // a WAL file: gathers writes
  bool commit_header = false;
  std::string pending;
  sqlite3_int64 pending_off = 0;
};

constexpr size_t kRealOffset = (sizeof(ShimFile) + 15) / 16 * 16;

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
const sqlite3_io_methods* Real(ShimFile* f) { return f->real->pMethods; }

// The unix VFS writes at most 128 KiB - 1 per call (it masks the count: it
// is only ever handed a page), so a long run goes in pieces of kMaxWrite.
int Flush(ShimFile* f) {
  int rc = SQLITE_OK;
  for (size_t done = 0; rc == SQLITE_OK && done < f->pending.size(); done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, f->pending.size() - done);
    rc = Real(f)->xWrite(f->real, f->pending.data() + done, static_cast<int>(n),
                         f->pending_off + static_cast<sqlite3_int64>(done));
  }
  f->pending.clear();
  return rc;
}

int Close(sqlite3_file* file) {
  ShimFile* f = Shim(file);
  int rc = Flush(f);
  if (f->db != nullptr) f->db->wal = nullptr;
  if (f->wal != nullptr) {
    int frc = Flush(f->wal);
    if (rc == SQLITE_OK) rc = frc;
    f->wal->db = nullptr;
    f->wal->coalesce = false;
  }
  int crc = Real(f)->xClose(f->real);
  f->~ShimFile();
  return rc != SQLITE_OK ? rc : crc;
}

int Read(sqlite3_file* file, void* buf, int n, sqlite3_int64 off) {
  ShimFile* f = Shim(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xRead(f->real, buf, n, off);
}

int Write(sqlite3_file* file, const void* buf, int n, sqlite3_int64 off) {
  ShimFile* f = Shim(file);
  if (!f->coalesce) return Real(f)->xWrite(f->real, buf, n, off);
  const auto* p = static_cast<const char*>(buf);
  const bool continues =
      !f->pending.empty() && off == f->pending_off + static_cast<sqlite3_int64>(f->pending.size());
  if (!continues) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    f->pending_off = off;
  }
  f->pending.append(p, static_cast<size_t>(n));
  // A frame header: bytes 4..7 hold the database size after a commit, zero
  // in every frame but a transaction's last.
  bool flush_now = f->pending.size() >= kMaxPending;
  if (n == kFrameHeader) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    f->commit_header = (u[4] | u[5] | u[6] | u[7]) != 0;
  } else if (f->commit_header) {
    f->commit_header = false;
    flush_now = true;  // the commit frame is complete
  }
  return flush_now ? Flush(f) : SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  ShimFile* f = Shim(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  ShimFile* f = Shim(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  ShimFile* f = Shim(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) { return Real(Shim(file))->xLock(Shim(file)->real, level); }
int Unlock(sqlite3_file* file, int level) {
  return Real(Shim(file))->xUnlock(Shim(file)->real, level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Real(Shim(file))->xCheckReservedLock(Shim(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  ShimFile* f = Shim(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) { return Real(Shim(file))->xSectorSize(Shim(file)->real); }
int DeviceCharacteristics(sqlite3_file* file) {
  return Real(Shim(file))->xDeviceCharacteristics(Shim(file)->real);
}

int ShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  return Real(Shim(file))->xShmMap(Shim(file)->real, page, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return Real(Shim(file))->xShmLock(Shim(file)->real, offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) {
  ShimFile* f = Shim(file);
  // Before a new WAL index header is published: every frame in the file.
  if (f->wal != nullptr && !f->wal->pending.empty()) {
    if (Flush(f->wal) != SQLITE_OK) {
      // Cannot be reported from here; stop gathering so the next write of
      // this connection fails (or succeeds) on its own.
      HIE_LOG_ERROR("store: WAL write failed at a barrier; writes go straight through from now");
      f->wal->coalesce = false;
    }
  }
  Real(f)->xShmBarrier(f->real);
}
int ShmUnmap(sqlite3_file* file, int del) {
  return Real(Shim(file))->xShmUnmap(Shim(file)->real, del);
}
int Fetch(sqlite3_file* file, sqlite3_int64 off, int n, void** out) {
  return Real(Shim(file))->xFetch(Shim(file)->real, off, n, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 off, void* p) {
  return Real(Shim(file))->xUnfetch(Shim(file)->real, off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = new (file) ShimFile();
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  f->real->pMethods = nullptr;
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) {
    f->~ShimFile();
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  if (f->real->pMethods->iVersion < 3) {
    // Cannot forward the shared-memory and mmap methods: refuse.
    f->real->pMethods->xClose(f->real);
    f->~ShimFile();
    return SQLITE_CANTOPEN;
  }
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->base.pMethods = &kMethods;
  return rc;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void DlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*DlSym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_real->xDlSym(g_real, h, sym);
}
void DlClose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int Sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}
int SetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr p) {
  return g_real->xSetSystemCall(g_real, name, p);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs*, const char* name) {
  return g_real->xGetSystemCall(g_real, name);
}
const char* NextSystemCall(sqlite3_vfs*, const char* name) {
  return g_real->xNextSystemCall(g_real, name);
}

sqlite3_vfs g_vfs;

bool Register() {
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr || g_real->iVersion < 3) return false;
  std::memset(&g_vfs, 0, sizeof g_vfs);
  g_vfs.iVersion = 3;
  g_vfs.szOsFile = static_cast<int>(kRealOffset) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  g_vfs.xSetSystemCall = SetSystemCall;
  g_vfs.xGetSystemCall = GetSystemCall;
  g_vfs.xNextSystemCall = NextSystemCall;
  return sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
}

}  // namespace

const char* CoalescingVfsName() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = Register(); });
  return ok ? kVfsName : nullptr;
}

bool EnableWalCoalescing(sqlite3* db) {
  sqlite3_file* main = nullptr;
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &main) != SQLITE_OK ||
      sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK) {
    return false;
  }
  if (main == nullptr || wal == nullptr || main->pMethods != &kMethods ||
      wal->pMethods != &kMethods) {
    return false;
  }
  ShimFile* m = Shim(main);
  ShimFile* w = Shim(wal);
  if (!w->is_wal || m->is_wal) return false;
  m->wal = w;
  w->db = m;
  w->coalesce = true;
  return true;
}

}  // namespace hie::sqlite
