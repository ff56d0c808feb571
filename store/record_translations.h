// Retranslation of the shared record (issue 4, `hie terminology
// retranslate --since DATE`): pages of stored rows that may lack a standard
// code, and the in-place update of their translated fields once the current
// maps give one. Over the shared record's tables (store/record_store.h,
// migration 0005), with sessions of its own (store/empi_sql.h).
//
// An update is a translation ADDED beside the original, not a new clinical
// version: the row keeps its id, version, item_key and currency, and no row
// is superseded; only the standard fields (std_code, std_display, std_unit)
// and the FHIR JSON they were derived from (resource, or a document's
// canonical) change. The original code, value and unit are never touched.
//
// Which rows a page holds (recorded_at >= since, id > after, in id order):
//   lab results  std_code = '' OR (std_unit = '' AND unit <> '') OR the
//                resource carries the unmapped mark (urn:hie:unmapped)
//   diagnoses    std_code = '' OR the resource carries the mark
//   documents    the canonical JSON carries the mark
// A row the current maps still cannot translate is met again by the next
// run (it is exactly what is not up to date).
//
// Thread rules: every method is safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hie {

namespace empisql {
class SessionSource;
}

enum class RecordKind { kLabResult, kDiagnosis, kDocument };
std::string_view ToString(RecordKind k);  // "lab_results" | "diagnoses" | "documents"

// One stored row as retranslation sees it.
struct TranslatableRow {
  int64_t id = 0;
  std::string facility_id;                      // the sender: its local:<facility> maps apply
  std::string std_code, std_display, std_unit;  // lab: all three; diagnosis: code, display
  std::string json;  // the resource (lab, diagnosis) or the canonical JSON (document)
};

class RecordTranslations {
 public:
  virtual ~RecordTranslations() = default;
  // At most `limit` rows of `kind` (see above) with recorded_at >= since_ms
  // and id > after_id, by id.
  virtual Result<std::vector<TranslatableRow>> Page(RecordKind kind, int64_t since_ms,
                                                    int64_t after_id, int limit) = 0;
  // Writes each row's standard fields and json by id, in one transaction.
  virtual Status Update(RecordKind kind, const std::vector<TranslatableRow>& rows) = 0;
  virtual void Close() = 0;
};

std::unique_ptr<RecordTranslations> MakeSqlRecordTranslations(
    std::unique_ptr<empisql::SessionSource> sessions);

// Over the database `uri` names (the main Store's URI; the Store's
// migrations created the tables). durable: updates are synced.
Result<std::unique_ptr<RecordTranslations>> OpenRecordTranslations(const std::string& uri,
                                                                   bool durable);

}  // namespace hie
