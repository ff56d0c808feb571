// EmpiService: queries (PIX, PDQ, person), the review queue and the
// operations (link, unlink, merge, unmerge). See engine/empi_service.h.
#include <algorithm>

#include "core/log.h"
#include "empi/fields.h"
#include "engine/empi_service.h"

namespace hie {
namespace {

using nlohmann::json;

json ParseOr(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

Status NotFound(const std::string& what) { return Status(ErrorCode::kNotFound, what); }
Status Invalid(const std::string& what, const std::string& where) {
  return Status(ErrorCode::kInvalidArgument, what, where);
}

}  // namespace

Result<json> EmpiService::SourceJson(const EmpiSourceRow& s, bool full) {
  json j;
  j["source_id"] = s.id;
  j["facility"] = s.facility_id;
  if (!s.local_id.empty()) j["mr_number"] = s.local_id;
  if (!s.id_number.empty()) j["id_number"] = s.id_number;
  j["name"] = s.name;
  if (!s.birth_date.empty()) j["birth_date"] = s.birth_date;
  if (!s.sex.empty()) j["sex"] = s.sex;
  if (full) {
    if (!s.phone.empty()) j["phone"] = s.phone;
    if (!s.address.empty()) j["address"] = s.address;
    j["raw"] = ParseOr(s.raw);
    j["card_reader"] = s.card_reader;
    j["link"] = {{"how", s.link_how},
                 {"weight", s.link_weight},
                 {"rule", s.link_rule},
                 {"evidence", ParseOr(s.link_evidence)}};
    if (s.replaced_by != 0) j["replaced_by_source"] = s.replaced_by;
    j["last_message_id"] = s.last_message;
    j["updated_at"] = FormatTimeMillis(s.updated_at_ms);
  }
  return j;
}

Result<json> EmpiService::PersonSummary(int64_t person_id) {
  HIE_ASSIGN_OR_RETURN(auto p, empi_->GetPerson(person_id));
  if (!p) return NotFound("没有该患者 (no such person) " + EmpiId(person_id));
  HIE_ASSIGN_OR_RETURN(auto sources, empi_->SourcesOfPerson(person_id));
  json j;
  j["empi_id"] = EmpiId(person_id);
  j["state"] = p->state;
  if (p->merged_into != 0) j["merged_into"] = EmpiId(p->merged_into);
  j["golden"] = ParseOr(p->golden);
  json ids = json::array();
  std::set<std::string> seen;
  for (const auto& s : sources) {
    if (!s.local_id.empty() && seen.insert("MR|" + s.facility_id + "|" + s.local_id).second) {
      ids.push_back({{"authority", s.facility_id}, {"type", "MR"}, {"value", s.local_id}});
    }
    if (!s.id_number.empty() && seen.insert("NI|" + s.id_number).second) {
      ids.push_back({{"authority", "NI"}, {"type", "NI"}, {"value", s.id_number}});
    }
  }
  j["identifiers"] = ids;
  return j;
}

Result<json> EmpiService::Pix(const std::string& authority, const std::string& value) {
  if (authority.empty() || value.empty()) {
    return Invalid("identifier 应为 AUTHORITY|VALUE (expected AUTHORITY|VALUE)", "identifier");
  }
  std::vector<EmpiSourceRow> hits;
  if (authority == "NI") {
    auto card = empi::NormalizeIdCard(value);
    const std::string number = card.ok() ? card->number : value;
    HIE_ASSIGN_OR_RETURN(hits, empi_->SourcesByIdNumber(number));
  } else {
    if (config_.FindFacility(authority) == nullptr) {
      return Invalid("未知机构 (unknown facility) \"" + authority + "\"", "identifier");
    }
    HIE_ASSIGN_OR_RETURN(auto s, empi_->SourceByKey("MR|" + authority + "|" + value));
    if (s) hits.push_back(*s);
  }
  std::set<int64_t> persons;
  for (const auto& s : hits) persons.insert(s.person_id);
  if (persons.empty()) return NotFound("没有该标识的患者 (no patient with this identifier)");
  json out = json::array();
  for (int64_t p : persons) {
    HIE_ASSIGN_OR_RETURN(auto j, PersonSummary(p));
    out.push_back(std::move(j));
  }
  return json{{"patients", out}};
}

Result<json> EmpiService::Pdq(const std::string& name, const std::string& birth_date,
                              const std::string& sex, int limit) {
  if (name.empty()) return Invalid("PDQ 需要姓名 (name required)", "name");
  if (!resolver()) return NotResolver();  // only the resolver keeps the index
  empi::PersonRecord q;
  q.record_id = "query";
  q.name = name;
  q.birth_date = birth_date;
  q.sex = sex;
  Result<empi::NormalizedRecord> n = Status::Ok();
  {
    std::lock_guard lock(query_norm_mu_);
    n = query_norm_->Normalize(q);
  }
  if (!n.ok()) return Invalid(n.status().message(), "name");
  std::map<int64_t, double> best;
  {
    std::shared_lock lock(index_mu_);
    for (const auto& c : index_.Candidates(*n)) {
      if (c.rule == empi::Rule::kIdConflict) continue;
      auto [it, inserted] = best.emplace(static_cast<int64_t>(c.person_id), c.weight);
      if (!inserted) it->second = std::max(it->second, c.weight);
    }
  }
  std::vector<std::pair<int64_t, double>> ranked(best.begin(), best.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  json out = json::array();
  for (const auto& [person, weight] : ranked) {
    if (weight <= 0 || static_cast<int>(out.size()) >= limit) break;
    HIE_ASSIGN_OR_RETURN(auto j, PersonSummary(person));
    j["score"] = std::round(weight * 100) / 100;
    out.push_back(std::move(j));
  }
  return json{{"patients", out}};
}

Result<json> EmpiService::Person(int64_t person_id) {
  HIE_ASSIGN_OR_RETURN(auto j, PersonSummary(person_id));
  HIE_ASSIGN_OR_RETURN(auto sources, empi_->SourcesOfPerson(person_id));
  json list = json::array();
  for (const auto& s : sources) {
    HIE_ASSIGN_OR_RETURN(auto sj, SourceJson(s, true));
    list.push_back(std::move(sj));
  }
  j["sources"] = list;
  HIE_ASSIGN_OR_RETURN(auto hist, empi_->History(person_id, 200));
  json h = json::array();
  for (const auto& r : hist) {
    json e{{"id", r.id},       {"at", FormatTimeMillis(r.at_ms)},
           {"op", r.op},       {"empi_id", EmpiId(r.person_id)},
           {"actor", r.actor}, {"detail", ParseOr(r.detail)}};
    if (r.other_person != 0) e["other_empi_id"] = EmpiId(r.other_person);
    if (r.source_id != 0) e["source_id"] = r.source_id;
    if (r.message_id != 0) e["message_id"] = r.message_id;
    h.push_back(std::move(e));
  }
  j["history"] = h;
  return j;
}

Result<json> EmpiService::Reviews(const std::string& state, int64_t before_id, int limit) {
  HIE_ASSIGN_OR_RETURN(auto rows, empi_->ListReviews(state, before_id, limit));
  json items = json::array();
  for (const auto& r : rows) {
    json j{{"id", r.id},
           {"kind", r.kind},
           {"state", r.state},
           {"weight", std::round(r.weight * 100) / 100},
           {"evidence", ParseOr(r.evidence)},
           {"created_at", FormatTimeMillis(r.created_at_ms)}};
    if (r.decided_at_ms != 0) {
      j["decided_at"] = FormatTimeMillis(r.decided_at_ms);
      j["decided_by"] = r.decided_by;
    }
    HIE_ASSIGN_OR_RETURN(auto s, empi_->GetSource(r.source_id));
    if (s) {
      HIE_ASSIGN_OR_RETURN(auto sj, SourceJson(*s, false));
      sj["empi_id"] = EmpiId(s->person_id);
      j["record"] = sj;
    }
    auto cand = PersonSummary(r.person_id);
    if (cand.ok()) j["candidate"] = *cand;
    items.push_back(std::move(j));
  }
  HIE_ASSIGN_OR_RETURN(auto open, empi_->CountReviews("open"));
  json out{{"items", items}, {"open", open}};
  if (!rows.empty() && static_cast<int>(rows.size()) == limit) out["next_before"] = rows.back().id;
  return out;
}

Result<json> EmpiService::DecideReview(int64_t review_id, bool accept, const std::string& actor) {
  std::lock_guard lock(ops_mu_);
  HIE_ASSIGN_OR_RETURN(auto r, empi_->GetReview(review_id));
  if (!r) return NotFound("没有该审核项 (no such review) " + std::to_string(review_id));
  if (r->state != "open") {
    return Status(ErrorCode::kConflict, "该审核项已处理 (review already decided): " + r->state);
  }
  HIE_ASSIGN_OR_RETURN(auto source, empi_->GetSource(r->source_id));
  if (!source) return NotFound("审核项的记录不存在 (record of the review is gone)");
  HIE_ASSIGN_OR_RETURN(auto cand, empi_->GetPerson(r->person_id));
  const int64_t now = env_.NowMillis();
  Plan plan;
  r->state = accept ? "accepted" : "rejected";
  r->decided_at_ms = now;
  r->decided_by = actor;
  plan.reviews.push_back(*r);
  auto h = History(accept ? "review_accept" : "review_reject", r->person_id, actor);
  h.other_person = source->person_id;
  h.source_id = source->id;
  h.detail = json{{"review", r->id}, {"kind", r->kind}, {"weight", r->weight}}.dump();
  int64_t result_person = source->person_id;
  if (accept) {
    if (!cand || cand->state != "active") {
      return Status(ErrorCode::kConflict,
                    "候选患者已不存在或已被合并 (candidate person no longer active)");
    }
    if (source->person_id == r->person_id) {
      return Status(ErrorCode::kConflict, "记录已属于该患者 (record already linked to it)");
    }
    const int64_t from = source->person_id;
    if (r->kind == "merge") {
      // Every record of the source's person joins the candidate.
      HIE_ASSIGN_OR_RETURN(auto moved, empi_->SourcesOfPerson(from));
      json ids = json::array();
      for (auto& s : moved) {
        ids.push_back({{"id", s.id},
                       {"how", s.link_how},
                       {"weight", s.link_weight},
                       {"rule", s.link_rule},
                       {"evidence", s.link_evidence}});
        HIE_RETURN_IF_ERROR(MoveSource(plan, s, r->person_id, "review"));
      }
      HIE_ASSIGN_OR_RETURN(EmpiPersonRow gone, PersonForPlan(plan, from));
      gone.state = "merged";
      gone.merged_into = r->person_id;
      plan.persons[from] = gone;
      auto m = History("merge", r->person_id, actor);
      m.other_person = from;
      m.detail = json{{"sources", ids}, {"review", r->id}}.dump();
      plan.history.push_back(std::move(m));
    } else {
      EmpiSourceRow s = *source;
      s.link_weight = r->weight;
      s.link_evidence = r->evidence;
      s.link_rule = "review";
      HIE_RETURN_IF_ERROR(MoveSource(plan, s, r->person_id, "review"));
      // The other candidates of this record are moot now.
      HIE_ASSIGN_OR_RETURN(auto others, empi_->OpenReviewsOfSource(source->id));
      for (auto& o : others) {
        if (o.id == r->id) continue;
        o.state = "obsolete";
        o.decided_at_ms = now;
        o.decided_by = actor;
        plan.reviews.push_back(o);
      }
    }
    result_person = r->person_id;
  }
  plan.history.insert(plan.history.begin(), std::move(h));
  HIE_RETURN_IF_ERROR(Commit(plan));
  HIE_LOG_INFO("EMPI 审核 (review) {} {} by {} → {}", review_id, r->state, actor,
               EmpiId(result_person));
  json out{{"review", review_id}, {"state", r->state}, {"empi_id", EmpiId(result_person)}};
  if (accept && r->kind == "merge") out["merge_id"] = plan.history.back().id;
  return out;
}

Result<json> EmpiService::Link(int64_t person_id, int64_t source_id, const std::string& actor) {
  std::lock_guard lock(ops_mu_);
  HIE_ASSIGN_OR_RETURN(auto p, empi_->GetPerson(person_id));
  if (!p || p->state == "merged") {
    return NotFound("没有该患者或已被合并 (no such person, or merged) " + EmpiId(person_id));
  }
  HIE_ASSIGN_OR_RETURN(auto s, empi_->GetSource(source_id));
  if (!s) return NotFound("没有该来源记录 (no such source record) " + std::to_string(source_id));
  if (s->person_id == person_id) {
    return Status(ErrorCode::kConflict, "记录已属于该患者 (record already linked to it)");
  }
  Plan plan;
  auto h = History("link", person_id, actor);
  h.other_person = s->person_id;
  h.source_id = source_id;
  h.detail = json{{"from", EmpiId(s->person_id)}, {"previous_how", s->link_how}}.dump();
  plan.history.push_back(std::move(h));
  EmpiSourceRow moved = *s;
  moved.link_rule = "manual";
  HIE_RETURN_IF_ERROR(MoveSource(plan, moved, person_id, "manual"));
  HIE_RETURN_IF_ERROR(Commit(plan));
  HIE_LOG_INFO("EMPI 关联 (link) source {} → {} by {}", source_id, EmpiId(person_id), actor);
  return json{{"empi_id", EmpiId(person_id)},
              {"source_id", source_id},
              {"from", EmpiId(s->person_id)},
              {"history_id", plan.history.back().id}};
}

Result<json> EmpiService::Unlink(int64_t person_id, int64_t source_id, const std::string& actor) {
  std::lock_guard lock(ops_mu_);
  HIE_ASSIGN_OR_RETURN(auto s, empi_->GetSource(source_id));
  if (!s || s->person_id != person_id) {
    return NotFound("该患者没有这条来源记录 (the person has no such source record)");
  }
  Plan plan;
  const int64_t to = NewPerson(plan).id;
  auto h = History("unlink", person_id, actor);
  h.other_person = to;
  h.source_id = source_id;
  h.detail = json{{"to", EmpiId(to)}, {"previous_how", s->link_how}}.dump();
  plan.history.push_back(std::move(h));
  EmpiSourceRow moved = *s;
  moved.link_weight = 0;
  moved.link_rule = "manual";
  moved.link_evidence = "{}";
  HIE_RETURN_IF_ERROR(MoveSource(plan, moved, to, "manual"));
  HIE_RETURN_IF_ERROR(Commit(plan));
  HIE_LOG_INFO("EMPI 拆分 (unlink) source {} from {} → {} by {}", source_id, EmpiId(person_id),
               EmpiId(to), actor);
  return json{{"empi_id", EmpiId(to)},
              {"source_id", source_id},
              {"from", EmpiId(person_id)},
              {"history_id", plan.history.back().id}};
}

Result<json> EmpiService::Merge(int64_t survivor, int64_t merged, const std::string& actor) {
  std::lock_guard lock(ops_mu_);
  if (survivor == merged)
    return Invalid("不能与自身合并 (cannot merge a person into itself)", "from");
  HIE_ASSIGN_OR_RETURN(auto a, empi_->GetPerson(survivor));
  HIE_ASSIGN_OR_RETURN(auto b, empi_->GetPerson(merged));
  if (!a || a->state != "active")
    return NotFound("没有该患者 (no such active person) " + EmpiId(survivor));
  if (!b || b->state != "active")
    return NotFound("没有该患者 (no such active person) " + EmpiId(merged));
  HIE_ASSIGN_OR_RETURN(auto moved, empi_->SourcesOfPerson(merged));
  Plan plan;
  json ids = json::array();
  for (auto& s : moved) {
    ids.push_back({{"id", s.id},
                   {"how", s.link_how},
                   {"weight", s.link_weight},
                   {"rule", s.link_rule},
                   {"evidence", s.link_evidence}});
    HIE_RETURN_IF_ERROR(MoveSource(plan, s, survivor, "merge"));
  }
  EmpiPersonRow gone = *b;
  gone.state = "merged";
  gone.merged_into = survivor;
  plan.persons[merged] = gone;
  plan.touched.insert(merged);
  plan.touched.insert(survivor);
  auto h = History("merge", survivor, actor);
  h.other_person = merged;
  h.detail = json{{"sources", ids}}.dump();
  plan.history.push_back(std::move(h));
  HIE_RETURN_IF_ERROR(Commit(plan));
  const int64_t merge_id = plan.history.back().id;
  HIE_LOG_INFO("EMPI 合并 (merge) {} → {} by {} (merge id {})", EmpiId(merged), EmpiId(survivor),
               actor, merge_id);
  return json{{"empi_id", EmpiId(survivor)},
              {"merged", EmpiId(merged)},
              {"merge_id", merge_id},
              {"sources_moved", ids.size()}};
}

Result<json> EmpiService::Unmerge(int64_t merge_id, const std::string& actor) {
  std::lock_guard lock(ops_mu_);
  HIE_ASSIGN_OR_RETURN(auto m, empi_->GetHistory(merge_id));
  if (!m || m->op != "merge")
    return NotFound("没有该合并操作 (no such merge) " + std::to_string(merge_id));
  HIE_ASSIGN_OR_RETURN(auto b, empi_->GetPerson(m->other_person));
  if (!b || b->state != "merged" || b->merged_into != m->person_id) {
    return Status(ErrorCode::kConflict,
                  "该合并已撤销或已被后续操作改变 (merge already undone or superseded)");
  }
  json detail = ParseOr(m->detail);
  Plan plan;
  json restored = json::array(), missing = json::array();
  for (const auto& e : detail.value("sources", json::array())) {
    const int64_t sid = e.value("id", int64_t{0});
    HIE_ASSIGN_OR_RETURN(auto s, empi_->GetSource(sid));
    if (!s || s->person_id != m->person_id) {
      missing.push_back(sid);  // moved on since (unlinked, linked elsewhere)
      continue;
    }
    EmpiSourceRow back = *s;
    back.link_weight = e.value("weight", 0.0);
    back.link_rule = e.value("rule", std::string());
    back.link_evidence = e.value("evidence", std::string("{}"));
    HIE_RETURN_IF_ERROR(
        MoveSource(plan, back, m->other_person, e.value("how", std::string("new"))));
    restored.push_back(sid);
  }
  EmpiPersonRow again = *b;
  again.state = "active";
  again.merged_into = 0;
  plan.persons[b->id] = again;
  plan.touched.insert(b->id);
  plan.touched.insert(m->person_id);
  auto h = History("unmerge", m->person_id, actor);
  h.other_person = b->id;
  h.detail = json{{"merge_id", merge_id}, {"restored", restored}, {"not_restored", missing}}.dump();
  plan.history.push_back(std::move(h));
  HIE_RETURN_IF_ERROR(Commit(plan));
  HIE_LOG_INFO("EMPI 撤销合并 (unmerge) {} by {}: {} 条记录回到 (records back to) {}", merge_id,
               actor, restored.size(), EmpiId(b->id));
  return json{{"empi_id", EmpiId(b->id)},
              {"from", EmpiId(m->person_id)},
              {"restored_sources", restored},
              {"not_restored", missing},
              {"history_id", plan.history.back().id}};
}

}  // namespace hie
