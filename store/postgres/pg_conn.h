// Connections of the PostgreSQL store: opening one (session settings and
// every prepared statement of pg_ops declared up front), a small pool of
// them for reads and claims, and the mapping of libpqxx exceptions onto
// Status. libpqxx throws; nothing above store/postgres ever sees an
// exception: every call into pqxx goes through Guard (or a try block that
// uses StatusFromException).
// Thread rules: a Conn is used by one thread at a time (the writer thread,
// or whoever leased it from the Pool). Pool and its Lease are thread-safe.
#pragma once

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie::pg {

// How bad a failure is, for the code that decides to retry.
enum class Failure {
  kStatement,  // this statement failed; the transaction (savepoint) is aborted
  kRetry,      // serialization failure or deadlock: run the transaction again
  kBroken,     // the connection is gone: reconnect, run the transaction again
  kInDoubt,    // COMMIT sent, the answer lost: outcome unknown, do NOT rerun
};

// unique violation -> kConflict; dropped connection, serialization failure,
// deadlock, too many connections, in-doubt commit -> kUnavailable; every
// other database error -> kStoreError. `where` names the operation.
Status StatusFromException(const std::exception& e, std::string_view where, Failure* kind);

// `uri` plus connect_timeout, TCP keepalives and tcp_user_timeout where the
// URI (libpq URI or key=value string) does not set them itself.
std::string WithNetworkDefaults(const std::string& uri);

// One connection with the store's session settings and prepared statements.
class Conn {
 public:
  // `uri` is a libpq URI or key=value string. durable=false turns
  // synchronous_commit off (a crash of the server may lose the last commits,
  // never corrupts).
  static Result<std::unique_ptr<Conn>> Open(const std::string& uri, bool durable);

  pqxx::connection& c() { return *c_; }
  bool is_open() const { return c_->is_open(); }

 private:
  explicit Conn(std::unique_ptr<pqxx::connection> c) : c_(std::move(c)) {}
  std::unique_ptr<pqxx::connection> c_;
};

// Connections opened on demand up to `max_open`, reused LIFO. A Lease whose
// connection broke is discarded rather than returned.
class Pool {
 public:
  Pool(std::string uri, bool durable, int max_open)
      : uri_(std::move(uri)), durable_(durable), max_open_(max_open) {}
  ~Pool();

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) pool_->Release(std::move(c_));
    }
    Conn& conn() { return *c_; }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> c_;
  };

  Result<Lease> Acquire();
  // Closes the idle connections; leases still out close when returned.
  void CloseIdle();

 private:
  void Release(std::unique_ptr<Conn> c);

  const std::string uri_;
  const bool durable_;
  const int max_open_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

// Runs f(conn) on a leased connection; maps any exception to a Status. A
// dropped connection or a serialization failure is retried on a fresh
// connection a few times, so `f` must be a whole transaction that is safe to
// run again (reads, claims). Returns whatever f returns (a Result or Status).
template <typename F>
auto WithConn(Pool& pool, const char* where, F&& f) -> decltype(f(std::declval<Conn&>()));

}  // namespace hie::pg

#include "store/postgres/pg_conn_inl.h"
