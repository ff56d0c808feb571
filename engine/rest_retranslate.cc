#include "engine/rest_retranslate.h"

#include <algorithm>

#include "engine/rest_api.h"

namespace hie {
namespace {

using nlohmann::json;

HttpResponse Json(int status, const json& j) {
  HttpResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

json Counts(const RetranslateCounts& c) {
  return json{{"scanned", c.scanned}, {"updated", c.updated}, {"failed", c.failed}};
}

// "2026-11-01" (midnight China time, as the record's ?since=: a county
// thinks in its own days, and a pass that starts 8 hours early only looks
// at more rows), RFC 3339, or epoch milliseconds.
int64_t ParseSince(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return -1;
  return ParseSinceMillis(v.get<std::string>());
}

}  // namespace

json RetranslateProgressJson(const RetranslateProgress& p) {
  json j = {{"state", p.state},
            {"since", p.started_ms == 0 ? json() : json(FormatTimeMillis(p.since_ms))},
            {"started_at", p.started_ms == 0 ? json() : json(FormatTimeMillis(p.started_ms))},
            {"finished_at", p.finished_ms == 0 ? json() : json(FormatTimeMillis(p.finished_ms))},
            {"terminology_generation", p.generation},
            {"scanned", p.scanned()},
            {"updated", p.updated()},
            {"lab_results", Counts(p.lab_results)},
            {"diagnoses", Counts(p.diagnoses)},
            {"documents", Counts(p.documents)}};
  if (!p.error.empty()) j["error"] = p.error;
  return j;
}

HttpResponse HandleRetranslate(Retranslator* r, const HttpRequest& req) {
  if (req.method != "GET" && req.method != "POST") {
    HttpResponse r = ErrorResponse(Status(
        ErrorCode::kInvalidArgument, "不支持的方法 (method not allowed) " + req.method, req.path));
    r.status = 405;
    return r;
  }
  if (r == nullptr) {
    return ErrorResponse(Status(ErrorCode::kConflict,
                                "共享档案未启用，没有可重新翻译的结果 (the shared record is off: "
                                "nothing stored to retranslate; needs empi.enabled)",
                                "empi.enabled"));
  }
  if (req.method == "GET") return Json(200, RetranslateProgressJson(r->Progress()));
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                "请求体应为 JSON 对象 (body must be a JSON object) "
                                "{\"since\":\"2026-11-01\"}",
                                ""));
  }
  auto it = body.find("since");
  if (it == body.end() || it->is_null()) {
    return ErrorResponse(Status(ErrorCode::kRequiredMissing,
                                "缺少必填字段 (required field missing): since", "/since"));
  }
  const int64_t since = ParseSince(*it);
  if (since < 0) return ErrorResponse(UnreadableSince(it->dump(), "/since"));
  auto started = r->Start(since);
  if (!started.ok()) {
    return ErrorResponse(started.status());
  }
  return Json(202, RetranslateProgressJson(*started));
}

}  // namespace hie
