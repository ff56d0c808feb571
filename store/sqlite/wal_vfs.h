// A thin SQLite VFS over the default one ("unix") that gathers a writing
// connection's WAL writes into a few large writes per commit.
//
// Why: SQLite writes each WAL frame as two pwrite() calls (the 24-byte frame
// header, then the page), so a commit of 50 pages made 100 system calls,
// and a system call costs about 3 us on this VM: the WAL writes were the
// most frequent call of the whole hub. Gathered, a commit is one write per
// 120 KiB of frames (the unix VFS takes at most 128 KiB - 1 per call).
//
// How it stays correct: only the WAL file of a connection linked by
// EnableWalCoalescing buffers, and only writes that continue the pending
// run; everything else goes straight through. The pending bytes are written
// before any read, sync, truncate, size query or file control of that WAL
// file, as soon as the page of a commit frame (a frame header whose "size
// after commit" field is not zero) is buffered — so a failed write fails the
// commit itself — and, as a last guard, in the database file's xShmBarrier,
// which SQLite calls before it publishes a new WAL index header: no other
// connection can see a frame that is not in the file. Nothing is ever
// synced later than without the VFS (the store's WAL is not synced at
// commit; see sqlite_store.cc), so durability is unchanged.
//
// Thread rules: a connection's files are used by one thread at a time, as
// the connection itself; the VFS is registered once, thread-safely.
#pragma once

#include <sqlite3.h>

namespace hie::sqlite {

// The VFS to open every store connection with; registered on first use.
// nullptr if it could not be registered (then the default VFS is used).
const char* CoalescingVfsName();

// For a connection opened with that VFS, in WAL mode, whose WAL file is open
// (after a read): its WAL writes are gathered from now on. False (and
// nothing changes) if the connection's files are not the VFS's.
bool EnableWalCoalescing(sqlite3* db);

}  // namespace hie::sqlite
