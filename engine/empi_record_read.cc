// EmpiService: the reads the shared record needs (issue 6): which person a
// read answers for and its source records now. See engine/empi_service.h.
#include "engine/empi_service.h"

namespace hie {

Result<EmpiService::RecordSubject> EmpiService::RecordSubjectOf(int64_t person_id) {
  RecordSubject s;
  s.requested = person_id;
  int64_t id = person_id;
  // A merged person's records are its survivor's now; follow the chain
  // (bounded: a cycle would be a bug, not a reason to spin).
  for (int hop = 0; hop < 16; ++hop) {
    HIE_ASSIGN_OR_RETURN(auto p, empi_->GetPerson(id));
    if (!p) {
      return Status(ErrorCode::kNotFound, "没有该患者 (no such person) " + EmpiId(person_id),
                    "empi_id");
    }
    if (p->state == "merged" && p->merged_into != 0 && p->merged_into != id) {
      id = p->merged_into;
      continue;
    }
    s.person = id;
    s.state = p->state;
    HIE_ASSIGN_OR_RETURN(s.sources, empi_->SourcesOfPerson(id));
    return s;
  }
  return Status(ErrorCode::kInternal, "合并链过长 (merge chain too long) from " + EmpiId(person_id),
                "empi_id");
}

Result<std::optional<int64_t>> EmpiService::PersonOfSource(int64_t source_id) {
  HIE_ASSIGN_OR_RETURN(auto s, empi_->GetSource(source_id));
  if (!s) return std::optional<int64_t>();
  return std::optional<int64_t>(s->person_id);
}

}  // namespace hie
