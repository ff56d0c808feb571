// Opening a store by URI, whichever backend it names: what the engine calls
// for `hub.store` (CONTRACT §2).
//   sqlite:PATH                       the embedded store in file PATH
//   postgresql://user:pass@host:port/db[?param=...]   (also postgres://)
// `store: sqlite` in the config means sqlite:<data_dir>/hub.db; resolving
// that is the caller's business (it knows data_dir).
// Thread rules: the functions are safe from any thread; see store.h for the
// Store they return.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "store/store.h"

namespace hie {

// Opens the store `uri` names with `options` (options.path is replaced by
// the SQLite file or the PostgreSQL URI). kConfigError for a URI of no known
// scheme; the backend's error (kStoreError, kUnavailable) when it fails.
Result<std::unique_ptr<Store>> OpenStore(const std::string& uri, StoreOptions options);

// Opens (creating and migrating as needed) the PostgreSQL store at the libpq
// URI options.path. Several hub nodes may open the same database: they share
// intake dedupe and claim deliveries from one outbox (see DueDeliveries in
// store.h and claim_lease_ms in StoreOptions).
//
// Inside a write, WriteTxn::GetMessage, GetDelivery and DeliveriesOf lock
// the message (or delivery) row until commit (SELECT ... FOR UPDATE): two
// nodes deciding on the same message take turns, and the later one reads
// what the earlier committed (no write skew under READ COMMITTED).
//
// Beyond store.h: a WriteFn may run MORE THAN ONCE here. When the group
// commit fails on a serialization failure, a deadlock or a dropped
// connection before COMMIT, the store rolls the batch back and runs every
// WriteFn of it again (a few times, with backoff), so a WriteFn must keep
// its effects to the WriteTxn and to state it overwrites on each run. A
// commit whose answer is lost (connection dropped during COMMIT) is never
// rerun: its DoneFns get kUnavailable, and intake dedupe makes the sender's
// resend safe.
Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options);

// The URI with any password replaced by "***", for logs and error texts.
std::string RedactStoreUri(const std::string& uri);

}  // namespace hie
