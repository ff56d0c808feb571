// Persistence of the EMPI (master patient index, issue 5): persons (EMPI
// ids), every source record a facility sent (normalized and raw) with its
// link to a person, the review queue, the append-only history of operations
// and the message -> source record map that makes resolution idempotent.
// Tables: store/migrations/{sqlite,postgres}/0004_empi.sql, created by the
// main store's migrations (open the Store first).
//
// The EMPI service owns the ids (it assigns them from MaxIds() + 1) and
// writes everything one operation changes with one Apply() (one
// transaction). One resolver per database: on a shared store (PostgreSQL,
// several hub nodes) only the node holding the resolver role may Apply
// (TryResolverRole; a session-level advisory lock on the writer connection,
// released when that node or its connection dies). Single-node stores
// (SQLite) always hold the role.
//
// Thread rules: every method is safe from any thread. Apply() calls are
// serialized inside; reads may run beside them and see only committed
// Applies.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/record_store.h"

namespace hie {

struct EmpiPersonRow {
  int64_t id = 0;
  std::string state = "active";  // active | merged | retired (no source left)
  int64_t merged_into = 0;       // when merged: the surviving person
  std::string golden;            // golden record (JSON)
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct EmpiSourceRow {
  int64_t id = 0;
  int64_t person_id = 0;
  std::string record_key;  // "MR|<facility>|<local id>" or "MSG|<message id>"
  std::string facility_id;
  std::string local_id;    // the facility's MR number ("" none)
  std::string id_number;   // normalized resident ID ("" none)
  std::string name;        // normalized name
  std::string birth_date;  // YYYY[-MM[-DD]]
  std::string sex;         // M | F | ""
  std::string phone;
  std::string address;
  std::string raw;   // the record as received (JSON)
  std::string norm;  // the normalized record (JSON): loads the index
  bool card_reader = false;
  std::string link_how;  // new | auto | review | manual | a40
  double link_weight = 0;
  std::string link_rule;
  std::string link_evidence;  // per-field levels (JSON)
  int64_t replaced_by = 0;    // A40: merged into that source of the same facility
  int64_t last_message = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct EmpiReviewRow {
  int64_t id = 0;
  std::string kind = "link";  // link (source -> person) | merge (person of source + person)
  int64_t source_id = 0;
  int64_t person_id = 0;  // the candidate person
  double weight = 0;
  std::string evidence;        // per-field levels (JSON)
  std::string state = "open";  // open | accepted | rejected | obsolete
  int64_t created_at_ms = 0;
  int64_t decided_at_ms = 0;
  std::string decided_by;
};

struct EmpiHistoryRow {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string
      op;  // new | link | update | unlink | merge | unmerge | a40 | review_accept | review_reject
  int64_t person_id = 0;
  int64_t other_person = 0;
  int64_t source_id = 0;
  int64_t message_id = 0;
  std::string actor;   // "pipeline", "api:<client>", ...
  std::string detail;  // JSON
};

// Everything one operation writes; applied in one transaction, in this order.
struct EmpiWrite {
  std::vector<EmpiPersonRow> persons;   // upsert by id
  std::vector<EmpiSourceRow> sources;   // upsert by id (record_key must stay unique)
  std::vector<EmpiReviewRow> reviews;   // upsert by id
  std::vector<EmpiHistoryRow> history;  // insert; an existing id is kConflict
  // (message id, source id): inserted; a message already present is left as is.
  std::vector<std::pair<int64_t, int64_t>> messages;
  // The shared record's rows of the messages resolved (issue 6,
  // store/record_store.h), pointing at their source records: written in
  // the same transaction, after the rows above. Rows of a message that was
  // in empi_messages before this Apply are not written again (a replayed
  // resolution never doubles the record).
  RecordWrite record;
  // false: the commit need not be synced before Apply returns (a crash may
  // lose it, never corrupt): for what can be redone from stored messages.
  bool sync = true;
  bool empty() const {
    return persons.empty() && sources.empty() && reviews.empty() && history.empty() &&
           messages.empty() && record.empty();
  }
};

// The resolver role: whether this node holds it, else who does (informative).
struct EmpiRole {
  bool resolver = true;
  std::string holder;  // the holder's node name ("" unknown / this node)
};

struct EmpiMaxIds {
  int64_t person = 0, source = 0, review = 0, history = 0, message = 0;
};

class EmpiStore {
 public:
  virtual ~EmpiStore() = default;

  // On a shared store Apply is refused (kUnavailable) unless this node holds
  // the resolver role on the very connection that writes.
  virtual Status Apply(const EmpiWrite& w) = 0;
  // Several hub nodes may use this store (PostgreSQL).
  virtual bool shared() const { return false; }
  // Takes the resolver role if free, or checks that it is still held (a
  // dropped writer connection loses it). `node` names this node to others.
  virtual Result<EmpiRole> TryResolverRole(const std::string& node) {
    (void)node;
    return EmpiRole{};
  }
  virtual Result<EmpiMaxIds> MaxIds() = 0;

  // Every source record in id order, read in pages (memory bounded). `fn`
  // returning an error stops the walk with that error.
  virtual Status ForEachSource(const std::function<Status(const EmpiSourceRow&)>& fn) = 0;

  virtual Result<std::optional<EmpiPersonRow>> GetPerson(int64_t id) = 0;
  virtual Result<std::vector<EmpiSourceRow>> SourcesOfPerson(int64_t person_id) = 0;
  virtual Result<std::optional<EmpiSourceRow>> GetSource(int64_t id) = 0;
  virtual Result<std::optional<EmpiSourceRow>> SourceByKey(const std::string& record_key) = 0;
  virtual Result<std::vector<EmpiSourceRow>> SourcesByIdNumber(const std::string& id_number) = 0;
  virtual Result<std::optional<int64_t>> SourceOfMessage(int64_t message_id) = 0;

  // Reviews in `state` ("" = any), newest first, id < before_id (0 = from newest).
  virtual Result<std::vector<EmpiReviewRow>> ListReviews(const std::string& state,
                                                         int64_t before_id, int limit) = 0;
  virtual Result<std::optional<EmpiReviewRow>> GetReview(int64_t id) = 0;
  virtual Result<std::vector<EmpiReviewRow>> OpenReviewsOfSource(int64_t source_id) = 0;
  virtual Result<int64_t> CountReviews(const std::string& state) = 0;

  // History rows naming the person (as person or other person), oldest first.
  virtual Result<std::vector<EmpiHistoryRow>> History(int64_t person_id, int limit) = 0;
  virtual Result<std::optional<EmpiHistoryRow>> GetHistory(int64_t id) = 0;

  virtual void Close() = 0;
};

// Opens the EMPI tables of the database `uri` names (sqlite:PATH or
// postgresql://...), the same URI the main Store was opened with (which
// created the tables). durable: fsync each Apply (SQLite synchronous=FULL,
// PostgreSQL synchronous_commit on).
Result<std::unique_ptr<EmpiStore>> OpenEmpiStore(const std::string& uri, bool durable);

}  // namespace hie
