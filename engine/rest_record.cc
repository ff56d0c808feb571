#include "engine/rest_record.h"

#include <charconv>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "connectors/http/http_client.h"
#include "engine/empi_records.h"
#include "engine/rest_api.h"
#include "mappings/canonical/model.h"

namespace hie {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse Json(int status, const json& j) {
  HttpResponse r;
  r.status = status;
  r.body = Dump(j);
  return r;
}

Status Invalid(std::string what, std::string where) {
  return Status(ErrorCode::kInvalidArgument, std::move(what), std::move(where));
}

std::optional<int64_t> PositiveInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

Result<int> LimitOf(const HttpRequest& req, int def, int max) {
  const std::string s = req.Query("limit");
  if (s.empty()) return def;
  auto v = PositiveInt(s);
  if (!v) return Invalid("limit 应为正整数 (limit must be a positive integer)", "limit");
  return static_cast<int>(std::min<int64_t>(*v, max));
}

json TimeOrNull(int64_t ms) { return ms == 0 ? json(nullptr) : json(FormatTimeMillis(ms)); }

class Reader {
 public:
  Reader(const RecordDeps& d, const HttpRequest& req, const HttpRespond& respond)
      : d_(d), req_(req), respond_(respond) {}

  void Fail(const Status& st) {
    if (pending_) return Finish(ErrorResponse(st));
    respond_(ErrorResponse(st));
  }

  // Writes the access event, then answers `ok` (or 503 when it could not be
  // written). With Begin() called before, completes that one instead. The
  // only way any data leaves this file.
  void Answer(int64_t person, std::string what, json detail, HttpResponse ok) {
    if (pending_) return Finish(std::move(ok));
    d_.access->Record(Event(person, std::move(what), detail),
                      [respond = respond_, ok = std::move(ok)](Status st) mutable {
                        respond(st.ok() ? std::move(ok) : ErrorResponse(st));
                      });
  }

  // Overlapped form for the busy reads: once the person is known and the
  // parameters are valid, the event is queued (its commit runs while the
  // data is read); the answer leaves when both are done — the data only if
  // the event is durable. A read that then fails keeps its event (an
  // auditor sees an attempt, never misses a read).
  void Begin(int64_t person, std::string what, const json& detail) {
    auto j = std::make_shared<Join>();
    j->respond = respond_;
    pending_ = j;
    d_.access->Record(Event(person, std::move(what), detail), [j](Status st) {
      std::optional<HttpResponse> out;
      {
        std::lock_guard lock(j->mu);
        j->logged = true;
        j->st = st;
        out.swap(j->out);
      }
      if (out) Fire(*j, st, std::move(*out));
    });
  }

  struct Join {
    std::mutex mu;
    bool logged = false;
    Status st;
    std::optional<HttpResponse> out;
    HttpRespond respond;
  };
  static void Fire(Join& j, const Status& st, HttpResponse out) {
    j.respond(st.ok() ? std::move(out) : ErrorResponse(st));
  }
  void Finish(HttpResponse out) {
    std::shared_ptr<Join> j = std::move(pending_);
    Status st;
    {
      std::lock_guard lock(j->mu);
      if (!j->logged) {
        j->out = std::move(out);  // the event's completion answers
        return;
      }
      st = j->st;
    }
    Fire(*j, st, std::move(out));
  }
  AccessEventRow Event(int64_t person, std::string what, const json& detail) const {
    AccessEventRow ev;
    ev.actor = req_.Header("X-User");
    ev.facility_id = req_.Header("X-Facility-Id");
    ev.person_id = person;
    ev.what = std::move(what);
    ev.detail = Dump(detail);
    return ev;
  }

  std::string FacilityName(const std::string& id) const {
    const FacilityConfig* f = d_.config != nullptr ? d_.config->FindFacility(id) : nullptr;
    return f != nullptr ? f->name : std::string();
  }

  json LabJson(const LabResultRow& r, const std::string& empi_id, int64_t now) const {
    json j = {{"id", r.id},
              {"message_id", r.message_id},
              {"source_id", r.source_id},
              {"facility", r.facility_id},
              {"facility_name", FacilityName(r.facility_id)},
              {"performing_facility",
               r.performing_facility.empty() ? r.facility_id : r.performing_facility},
              {"report_id", r.report_id},
              {"status", r.status},
              {"code", {{"system", r.code_system}, {"code", r.code}, {"display", r.display}}},
              {"standard_code",
               r.std_code.empty()
                   ? json(nullptr)
                   : json{{"system", "LOINC"}, {"code", r.std_code}, {"display", r.std_display}}},
              {"value", r.value},
              {"value_type", r.value_type},
              {"unit", r.unit},
              {"standard_unit", r.std_unit.empty() ? json(nullptr) : json(r.std_unit)},
              {"reference_range", r.reference_range},
              {"abnormal_flag", r.abnormal_flag},
              {"specimen", r.specimen},
              {"verifier", r.verifier},
              {"effective_time", TimeOrNull(r.effective_ms)},
              {"issued_time", TimeOrNull(r.issued_ms)},
              {"recorded_at", TimeOrNull(r.recorded_at_ms)},
              {"version", r.version},
              {"current", r.current},
              {"superseded_by", r.superseded_by == 0 ? json(nullptr) : json(r.superseded_by)},
              {"history", "/api/v1/patients/" + empi_id +
                              "/lab-results/history?item_key=" + UrlEncode(r.item_key)}};
    static const RecognitionCatalogue kNone{RecognitionConfig{}};
    const RecognitionCatalogue& cat = d_.catalogue != nullptr ? *d_.catalogue : kNone;
    j["recognition"] = RecognitionJson(cat.Evaluate(r, now));
    return j;
  }

  json DocJson(const DocumentRow& r) const {
    return {{"id", r.id},
            {"type_code", r.type_code},
            {"title", r.title},
            {"facility", r.facility_id},
            {"facility_name", FacilityName(r.facility_id)},
            {"document_id", r.document_id},
            {"effective_time", TimeOrNull(r.effective_ms)},
            {"version", r.version},
            {"current", r.current},
            {"message_id", r.message_id},
            {"href", "/api/v1/documents/" + std::to_string(r.id)}};
  }

  Result<EmpiService::RecordSubject> Subject(std::string_view id_text) {
    const int64_t id = ParseEmpiId(id_text);
    if (id == 0) {
      return Invalid("EMPI 编号格式应为 E<数字> (EMPI id must look like E123)",
                     std::string(id_text));
    }
    return d_.empi->RecordSubjectOf(id);
  }

  static std::vector<int64_t> SourceIds(const EmpiService::RecordSubject& s) {
    std::vector<int64_t> ids;
    for (const auto& src : s.sources) ids.push_back(src.id);
    return ids;
  }

  static void Redirected(const EmpiService::RecordSubject& s, json& j, json& detail) {
    j["empi_id"] = EmpiId(s.person);
    if (s.requested != s.person) {
      j["requested_empi_id"] = EmpiId(s.requested);
      j["merged_into"] = EmpiId(s.person);
      detail["requested"] = EmpiId(s.requested);
    }
  }

  void Person(std::string_view id_text) {
    const int64_t id = ParseEmpiId(id_text);
    if (id == 0) {
      return Fail(
          Invalid("EMPI 编号格式应为 E<数字> (EMPI id must look like E123)", std::string(id_text)));
    }
    auto p = d_.empi->Person(id);
    if (!p.ok()) return Fail(p.status());
    json j = std::move(p).value();
    const std::string e = EmpiId(id);
    j["record"] = {{"lab_results", "/api/v1/patients/" + e + "/lab-results"},
                   {"documents", "/api/v1/patients/" + e + "/documents"},
                   {"summary", "/api/v1/patients/" + e + "/summary"},
                   {"access", "/api/v1/patients/" + e + "/access"}};
    Answer(id, "person", json::object(), Json(200, j));
  }

  void LabResults(std::string_view id_text) {
    auto s = Subject(id_text);
    if (!s.ok()) return Fail(s.status());
    LabResultFilter f;
    f.source_ids = SourceIds(*s);
    f.code = req_.Query("code");
    f.facility_id = req_.Query("facility");
    const std::string since = req_.Query("since");
    auto since_ms = ParseSinceParam(since, "since");
    if (!since_ms.ok()) return Fail(since_ms.status());
    f.since_ms = *since_ms;
    const std::string hist = req_.Query("history");
    f.include_history = hist == "1" || hist == "true";
    auto limit = LimitOf(req_, 100, 1000);
    if (!limit.ok()) return Fail(limit.status());
    f.limit = *limit;
    if (const std::string c = req_.Query("cursor"); !c.empty()) {
      const size_t us = c.find('_');
      int64_t ms = 0;
      auto id = us == std::string::npos ? std::nullopt : PositiveInt(c.substr(us + 1));
      auto [p, ec] = std::from_chars(c.data(), c.data() + (us == std::string::npos ? 0 : us), ms);
      if (!id || ec != std::errc() || p != c.data() + us) {
        return Fail(Invalid("cursor 无效，请用上一页的 next_cursor (bad cursor; use next_cursor)",
                            "cursor"));
      }
      f.before_ms = ms;
      f.before_id = *id;
    }
    json detail = {{"code", f.code},   {"facility", f.facility_id},
                   {"since", since},   {"history", f.include_history},
                   {"limit", f.limit}, {"cursor", req_.Query("cursor")}};
    if (s->requested != s->person) detail["requested"] = EmpiId(s->requested);
    Begin(s->person, "lab-results", detail);
    std::vector<LabResultRow> rows;
    if (!f.source_ids.empty()) {
      auto r = d_.records->LabResults(f);
      if (!r.ok()) return Fail(r.status());
      rows = std::move(r).value();
    }
    const int64_t now = d_.env->NowMillis();
    const std::string e = EmpiId(s->person);
    json items = json::array();
    for (const auto& row : rows) items.push_back(LabJson(row, e, now));
    json j = json::object();
    Redirected(*s, j, detail);
    j["lab_results"] = std::move(items);
    j["next_cursor"] =
        static_cast<int>(rows.size()) == f.limit && !rows.empty()
            ? json(std::to_string(rows.back().effective_ms) + "_" + std::to_string(rows.back().id))
            : json(nullptr);
    Answer(s->person, "lab-results", std::move(detail), Json(200, j));
  }

  void LabHistory(std::string_view id_text) {
    auto s = Subject(id_text);
    if (!s.ok()) return Fail(s.status());
    const std::string key = req_.Query("item_key");
    if (key.empty())
      return Fail(
          Status(ErrorCode::kRequiredMissing, "需要 item_key (item_key required)", "item_key"));
    auto r = d_.records->LabResultHistory(key);
    if (!r.ok()) return Fail(r.status());
    std::set<int64_t> mine;
    for (const auto& src : s->sources) mine.insert(src.id);
    const int64_t now = d_.env->NowMillis();
    const std::string e = EmpiId(s->person);
    json versions = json::array();
    for (const auto& row : *r) {
      if (mine.count(row.source_id) == 0) continue;  // another person's: never shown here
      versions.push_back(LabJson(row, e, now));
    }
    if (versions.empty()) {
      return Fail(Status(ErrorCode::kNotFound,
                         "该患者没有这个检验结果 (no such lab result for this person)",
                         "item_key"));
    }
    json j = json::object();
    json detail = {{"item_key", key}, {"count", versions.size()}};
    Redirected(*s, j, detail);
    j["item_key"] = key;
    j["versions"] = std::move(versions);  // oldest first
    Answer(s->person, "lab-result-history", std::move(detail), Json(200, j));
  }

  void Documents(std::string_view id_text) {
    auto s = Subject(id_text);
    if (!s.ok()) return Fail(s.status());
    auto limit = LimitOf(req_, 100, 1000);
    if (!limit.ok()) return Fail(limit.status());
    json detail = {{"limit", *limit}};
    if (s->requested != s->person) detail["requested"] = EmpiId(s->requested);
    Begin(s->person, "documents", detail);
    std::vector<DocumentRow> rows;
    if (!s->sources.empty()) {
      auto r = d_.records->Documents(SourceIds(*s), *limit);
      if (!r.ok()) return Fail(r.status());
      rows = std::move(r).value();
    }
    json items = json::array();
    for (const auto& row : rows) {
      items.push_back(DocJson(row));
    }
    json j = json::object();
    Redirected(*s, j, detail);
    j["documents"] = std::move(items);
    Answer(s->person, "documents", std::move(detail), Json(200, j));
  }

  void Document(std::string_view id_text) {
    auto id = PositiveInt(id_text);
    if (!id) {
      return Fail(Invalid("文档编号应为正整数 (document id must be a positive integer)",
                          std::string(id_text)));
    }
    auto doc = d_.records->GetDocument(*id);
    if (!doc.ok()) return Fail(doc.status());
    if (!*doc) {
      return Fail(Status(ErrorCode::kNotFound,
                         "没有编号为 " + std::to_string(*id) + " 的文档 (document not found)",
                         "id"));
    }
    const DocumentRow& row = **doc;
    auto person = d_.empi->PersonOfSource(row.source_id);
    if (!person.ok()) return Fail(person.status());
    HttpResponse out;
    out.content_type = "application/xml; charset=utf-8";
    std::string origin = "received";
    if (!row.content.empty()) {
      out.body = row.content;  // byte for byte as received
    } else {
      origin = "generated";
      json cj = json::parse(row.canonical, nullptr, false);
      auto msg = cj.is_discarded() ? Result<canonical::CanonicalMessage>(Status(
                                         ErrorCode::kInternal, "stored canonical JSON unreadable"))
                                   : canonical::FromJson(cj);
      if (!msg.ok()) {
        return Fail(Status(ErrorCode::kInternal,
                           "无法读取文档的规范模型 (cannot read the document's canonical model): " +
                               msg.status().message()));
      }
      auto xml = d_.renderer->CdaFromCanonical(
          *msg, row.effective_ms != 0 ? row.effective_ms : row.recorded_at_ms,
          row.document_id.empty() ? row.facility_id + "-" + std::to_string(row.message_id)
                                  : row.document_id);
      if (!xml.ok()) return Fail(xml.status());
      out.body = std::move(xml).value();
    }
    out.headers.emplace_back("X-Document-Source", origin);
    out.headers.emplace_back("X-Document-Type", row.type_code);
    json detail = {{"document", row.id}, {"type_code", row.type_code}, {"source", origin}};
    // A source with no person (cannot happen while sources are never
    // deleted) is still logged, under person 0.
    Answer(person->value_or(0), "document:" + std::to_string(row.id), std::move(detail),
           std::move(out));
  }

  void Summary(std::string_view id_text) {
    auto s = Subject(id_text);
    if (!s.ok()) return Fail(s.status());
    json detail = json::object();
    if (s->requested != s->person) detail["requested"] = EmpiId(s->requested);
    Begin(s->person, "summary", detail);
    auto demo = d_.empi->Demographics(s->person);
    if (!demo.ok()) return Fail(demo.status());
    const std::vector<int64_t> ids = SourceIds(*s);
    std::vector<LabResultRow> labs;
    std::vector<DiagnosisRow> dx;
    std::vector<EncounterRow> enc;
    std::vector<DocumentRow> docs;
    if (!ids.empty()) {
      LabResultFilter f;
      f.source_ids = ids;
      f.limit = 1000;
      auto l = d_.records->LabResults(f);
      if (!l.ok()) return Fail(l.status());
      labs = std::move(l).value();
      auto g = d_.records->Diagnoses(ids, 200);
      if (!g.ok()) return Fail(g.status());
      dx = std::move(g).value();
      auto e = d_.records->Encounters(ids, 10);
      if (!e.ok()) return Fail(e.status());
      enc = std::move(e).value();
      auto o = d_.records->Documents(ids, 20);
      if (!o.ok()) return Fail(o.status());
      docs = std::move(o).value();
    }
    const int64_t now = d_.env->NowMillis();
    const std::string eid = EmpiId(s->person);
    json latest = json::array();
    std::set<std::string> items;
    for (const auto& r : labs) {  // newest first: the first of each item is its last result
      const std::string key = r.std_code.empty() ? r.code_system + "|" + r.code : r.std_code;
      if (!items.insert(key).second) continue;
      latest.push_back(LabJson(r, eid, now));
    }
    json problems = json::array();
    std::set<std::string> seen_dx;
    for (const auto& r : dx) {
      if (r.clinical_status == "resolved" || r.clinical_status == "inactive") continue;
      const std::string key = r.std_code.empty() ? r.code_system + "|" + r.code : r.std_code;
      if (!seen_dx.insert(key).second) continue;
      problems.push_back(
          {{"id", r.id},
           {"code", {{"system", r.code_system}, {"code", r.code}, {"display", r.display}}},
           {"standard_code",
            r.std_code.empty()
                ? json(nullptr)
                : json{{"system", "ICD-10"}, {"code", r.std_code}, {"display", r.std_display}}},
           {"clinical_status", r.clinical_status},
           {"facility", r.facility_id},
           {"facility_name", FacilityName(r.facility_id)},
           {"visit_number", r.visit_number},
           {"recorded", TimeOrNull(r.recorded_ms)}});
    }
    json encounters = json::array();
    for (const auto& r : enc) {
      encounters.push_back({{"id", r.id},
                            {"facility", r.facility_id},
                            {"facility_name", FacilityName(r.facility_id)},
                            {"visit_number", r.visit_number},
                            {"class", r.encounter_class},
                            {"status", r.status},
                            {"department", r.department},
                            {"attending", r.attending},
                            {"start", TimeOrNull(r.start_ms)},
                            {"end", TimeOrNull(r.end_ms)}});
    }
    json documents = json::array();
    for (const auto& r : docs) {
      documents.push_back(DocJson(r));
    }
    json j = json::object();
    Redirected(*s, j, detail);
    j["state"] = s->state;
    json dj = std::move(demo).value();
    j["golden"] = dj.value("golden", json::object());
    j["identifiers"] = dj.value("identifiers", json::array());
    j["active_problems"] = std::move(problems);
    j["latest_results"] = std::move(latest);
    j["recent_encounters"] = std::move(encounters);
    j["documents"] = std::move(documents);
    j["as_of"] = FormatTimeMillis(now);
    Answer(s->person, "summary", std::move(detail), Json(200, j));
  }

  // PIX / PDQ answer golden records: one access event per person answered.
  void Find() {
    const std::string identifier = req_.Query("identifier");
    Result<json> r = Status::Ok();
    json detail;
    std::string what;
    if (!identifier.empty()) {
      const size_t bar = identifier.find('|');
      if (bar == std::string::npos) {
        return Fail(
            Invalid("identifier 应为 AUTHORITY|VALUE (expected AUTHORITY|VALUE)", "identifier"));
      }
      what = "pix";
      detail = {{"authority", identifier.substr(0, bar)}};  // not the number itself
      r = d_.empi->Pix(identifier.substr(0, bar), identifier.substr(bar + 1));
    } else {
      auto v = PositiveInt(req_.Query("limit"));
      const int limit = v ? static_cast<int>(std::min<int64_t>(*v, 200)) : 20;
      what = "pdq";
      detail = {{"birth_date", req_.Query("birth_date")}, {"sex", req_.Query("sex")}};
      r = d_.empi->Pdq(req_.Query("name"), req_.Query("birth_date"), req_.Query("sex"), limit);
    }
    if (!r.ok()) return Fail(r.status());
    std::vector<AccessEventRow> events;
    for (const auto& p : (*r)["patients"]) {
      AccessEventRow ev;
      ev.actor = req_.Header("X-User");
      ev.facility_id = req_.Header("X-Facility-Id");
      ev.person_id = ParseEmpiId(p.value("empi_id", std::string()));
      ev.what = what;
      ev.detail = Dump(detail);
      if (ev.person_id != 0) events.push_back(std::move(ev));
    }
    d_.access->RecordAll(std::move(events),
                         [respond = respond_, ok = Json(200, *r)](Status st) mutable {
                           respond(st.ok() ? std::move(ok) : ErrorResponse(st));
                         });
  }

  void Access(std::string_view id_text) {
    const int64_t id = ParseEmpiId(id_text);
    if (id == 0) {
      return Fail(
          Invalid("EMPI 编号格式应为 E<数字> (EMPI id must look like E123)", std::string(id_text)));
    }
    auto person = d_.empi->RecordSubjectOf(id);  // 404 for an unknown person
    if (!person.ok()) return Fail(person.status());
    auto limit = LimitOf(req_, 100, 1000);
    if (!limit.ok()) return Fail(limit.status());
    auto rows = d_.records->AccessOfPerson(id, *limit);
    if (!rows.ok()) return Fail(rows.status());
    json items = json::array();
    for (const auto& r : *rows) {
      json detail = json::parse(r.detail, nullptr, false);
      items.push_back({{"id", r.id},
                       {"at", FormatTimeMillis(r.at_ms)},
                       {"actor", r.actor},
                       {"facility", r.facility_id},
                       {"empi_id", EmpiId(r.person_id)},
                       {"what", r.what},
                       {"detail", detail.is_discarded() ? json(r.detail) : detail}});
    }
    json j = {{"empi_id", EmpiId(id)}, {"access", std::move(items)}};
    Answer(id, "access", json{{"limit", *limit}, {"count", rows->size()}}, Json(200, j));
  }

 private:
  const RecordDeps& d_;
  const HttpRequest& req_;
  const HttpRespond& respond_;
  std::shared_ptr<Join> pending_;  // Begin() called: Answer/Fail complete it
};

HttpResponse MethodNotAllowed(const HttpRequest& req) {
  HttpResponse r = ErrorResponse(Status(
      ErrorCode::kInvalidArgument, "不支持的方法 (method not allowed) " + req.method, req.path));
  r.status = 405;
  return r;
}

}  // namespace

bool ServesRecordPath(const std::vector<std::string_view>& parts, const std::string& method) {
  if (parts.empty()) return false;
  if (parts[0] == "documents") return parts.size() == 2;
  if (parts[0] != "patients") return false;
  if (parts.size() <= 2) return method == "GET";  // others: the EMPI handler
  const std::string_view sub = parts[2];
  return sub == "lab-results" || sub == "documents" || sub == "summary" || sub == "access";
}

bool HandleRecordRequest(const RecordDeps& d, const HttpRequest& req,
                         const std::vector<std::string_view>& parts, const HttpRespond& respond) {
  if (!ServesRecordPath(parts, req.method)) return false;
  Reader r(d, req, respond);
  if (parts[0] == "documents" && parts.size() == 2) {
    if (req.method != "GET") return respond(MethodNotAllowed(req)), true;
    r.Document(parts[1]);
    return true;
  }
  if (parts[0] != "patients") return false;
  if (parts.size() == 1) {
    if (req.method != "GET") return false;  // the EMPI handler answers
    r.Find();
    return true;
  }
  if (parts.size() == 2) {
    if (req.method != "GET") return false;  // the EMPI handler answers
    r.Person(parts[1]);
    return true;
  }
  const std::string_view sub = parts[2];
  const bool mine =
      sub == "lab-results" || sub == "documents" || sub == "summary" || sub == "access";
  if (!mine) return false;
  if (req.method != "GET") return respond(MethodNotAllowed(req)), true;
  if (parts.size() == 3) {
    if (sub == "lab-results") r.LabResults(parts[1]);
    if (sub == "documents") r.Documents(parts[1]);
    if (sub == "summary") r.Summary(parts[1]);
    if (sub == "access") r.Access(parts[1]);
    return true;
  }
  if (parts.size() == 4 && sub == "lab-results" && parts[3] == "history") {
    r.LabHistory(parts[1]);
    return true;
  }
  respond(ErrorResponse(Status(ErrorCode::kNotFound, "没有这个地址 (no such path)", req.path)));
  return true;
}

}  // namespace hie
