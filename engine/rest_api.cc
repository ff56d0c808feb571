#include "engine/rest_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "engine/document_input.h"
#include "engine/rest_patients.h"
#include "engine/rest_record.h"
#include "engine/rest_retranslate.h"
#include "engine/transform.h"

namespace hie {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse JsonResponse(int status, const json& j) {
  HttpResponse r;
  r.status = status;
  r.body = Dump(j);
  return r;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

json ErrorJson(const std::string& code, const std::string& text, const std::string& where) {
  json e = {{"code", code}, {"message", text}, {"where", where}};
  return e;
}

json MessageJson(const MessageRecord& m) {
  json j = {{"id", m.id},
            {"facility", m.facility_id},
            {"control_id", m.control_id},
            {"dedupe_key", m.dedupe_key},
            {"message_type", m.message_type},
            {"content_type", m.content_type},
            {"source", m.source},
            {"peer", m.peer},
            {"charset", m.charset},
            {"status", ToString(m.status)},
            {"received_at", FormatTimeMillis(m.received_at_ms)},
            {"updated_at", FormatTimeMillis(m.updated_at_ms)}};
  if (!m.error_code.empty() || !m.error_text.empty()) {
    j["error"] = ErrorJson(m.error_code, m.error_text, m.error_where);
  } else {
    j["error"] = nullptr;
  }
  return j;
}

json RejectedJson(const RejectedInput& r) {
  return json{{"id", r.id},
              {"received_at", FormatTimeMillis(r.received_at_ms)},
              {"source", r.source},
              {"peer", r.peer},
              {"facility", r.facility_id},
              {"control_id", r.control_id},
              {"content_type", r.content_type},
              {"size", r.raw_size},
              {"error", ErrorJson(r.error_code, r.error_text, r.error_where)}};
}

std::string Base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

constexpr const char* kDashboard = R"(<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>县域医共体平台 county-hie</title></head>
<body><h1>县域医共体健康信息平台 (county-hie)</h1>
<p>仪表盘 (dashboard) 尚未实现，将在后续版本提供。现在可用：</p>
<ul><li><a href="/api/v1/health">/api/v1/health</a> 健康检查 (health)</li>
<li><a href="/api/v1/messages">/api/v1/messages</a> 消息 (messages)</li>
<li><a href="/api/v1/errors">/api/v1/errors</a> 拒收的输入 (rejected inputs)</li>
<li><a href="/api/v1/destinations">/api/v1/destinations</a> 目的地与队列 (destinations)</li>
<li><a href="/metrics">/metrics</a> 指标 (Prometheus metrics)</li></ul></body></html>
)";

}  // namespace

Status UnreadableSince(std::string_view shown, std::string_view where) {
  return Status(ErrorCode::kInvalidArgument,
                "无法识别的时间 (unreadable time) " + std::string(shown) +
                    "；请用 2026-11-22、2026-11-22T08:00:00+08:00 或毫秒数 (epoch ms)",
                std::string(where));
}

Result<int64_t> ParseSinceParam(std::string_view text, std::string_view where) {
  if (text.empty()) return int64_t{0};
  const int64_t ms = ParseSinceMillis(text);
  if (ms < 0) return UnreadableSince("\"" + std::string(text) + "\"", where);
  return ms;
}

HttpResponse ErrorResponse(const Status& st) {
  std::string text = st.message().empty() ? std::string(DefaultText(st.code())) : st.message();
  return JsonResponse(
      HttpStatus(st.code()),
      json{{"error", ErrorJson(std::string(ApiCode(st.code())), text, st.where())}});
}

void RestApi::Handle(HttpRequest req, HttpRespond respond) {
  auto parts = SplitPath(req.path);
  const std::string& method = req.method;
  auto not_allowed = [&] {
    HttpResponse r = ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                          "不支持的方法 (method not allowed) " + method, req.path));
    r.status = 405;
    respond(std::move(r));
  };

  if (parts.empty()) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = kDashboard;
    respond(std::move(r));
    return;
  }
  if (parts.size() == 1 && parts[0] == "metrics") {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = d_.metrics->RenderPrometheus();
    respond(std::move(r));
    return;
  }
  if (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1") {
    respond(ErrorResponse(Status(ErrorCode::kNotFound, "没有这个地址 (no such path)", req.path)));
    return;
  }
  parts.erase(parts.begin(), parts.begin() + 2);
  if (parts.empty()) {
    respond(ErrorResponse(Status(ErrorCode::kNotFound, "没有这个地址 (no such path)", req.path)));
    return;
  }
  const std::string_view res = parts[0];

  if (res == "health" && parts.size() == 1) {
    bool draining = d_.draining && d_.draining->load();
    json j = {{"status", draining ? "draining" : "ok"},
              {"hub", d_.config->hub_name},
              {"store", d_.config->store.rfind("postgres", 0) == 0 ? "postgresql" : "sqlite"},
              {"time", FormatTimeMillis(d_.env->NowMillis())}};
    respond(JsonResponse(draining ? 503 : 200, j));
    return;
  }
  if (res == "messages") {
    if (parts.size() == 1) {
      if (method == "POST") return PostMessage(std::move(req), std::move(respond));
      if (method == "GET") return respond(ListMessages(req));
      return not_allowed();
    }
    auto id = ParseId(parts[1]);
    if (!id) {
      respond(ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                   "消息编号应为正整数 (message id must be a positive integer)",
                                   std::string(parts[1]))));
      return;
    }
    if (parts.size() == 2) {
      if (method != "GET") return not_allowed();
      return respond(GetMessage(*id, req));
    }
    if (parts.size() == 3 && parts[2] == "reprocess") {
      if (method != "POST") return not_allowed();
      return respond(Reprocess(*id));
    }
  }
  if (res == "errors") {
    if (parts.size() == 1 && method == "GET") return respond(ListErrors(req));
    if (parts.size() == 2 && method == "GET") {
      auto id = ParseId(parts[1]);
      if (!id) {
        return respond(ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                            "编号应为正整数 (id must be a positive integer)",
                                            std::string(parts[1]))));
      }
      return respond(GetError(*id));
    }
  }
  if (res == "destinations") {
    if (parts.size() == 1 && method == "GET") return respond(ListDestinations());
    if (parts.size() == 3 && (parts[2] == "pause" || parts[2] == "resume")) {
      if (method != "POST") return not_allowed();
      return respond(PauseDestination(std::string(parts[1]), parts[2] == "pause"));
    }
  }
  if (res == "terminology" && parts.size() == 2 && d_.terminology != nullptr) {
    const std::string_view sub = parts[1];
    if (sub == "translate") {
      if (method != "POST") return not_allowed();
      return respond(Translate(req));
    }
    if (sub == "unmapped") {
      if (method != "GET") return not_allowed();
      return respond(Unmapped(req));
    }
    if (sub == "systems") {
      if (method != "GET") return not_allowed();
      return respond(Systems());
    }
    if (sub == "reload") {
      if (method != "POST") return not_allowed();
      return respond(ReloadTerminology());
    }
    if (sub == "retranslate") return respond(HandleRetranslate(d_.retranslate, req));
  }
  if ((res == "patients" || res == "documents") && d_.empi != nullptr && d_.records != nullptr &&
      ServesRecordPath(parts, method)) {
    RecordDeps rd;
    rd.config = d_.config;
    rd.empi = d_.empi;
    rd.records = d_.records;
    rd.access = d_.access;
    rd.catalogue = d_.recognition;
    rd.renderer = d_.renderer;
    rd.env = d_.env;
    if (d_.record_readers == nullptr) {
      HandleRecordRequest(rd, req, parts, respond);
      return;
    }
    // Off the event loop: a slow read must not hold up MLLP intake.
    auto task = [rd, req = std::move(req), respond]() {
      auto p = SplitPath(req.path);  // the views must point into this copy
      p.erase(p.begin(), p.begin() + 2);
      HandleRecordRequest(rd, req, p, respond);
    };
    if (!d_.record_readers->Post(std::move(task))) {
      respond(ErrorResponse(Status(ErrorCode::kUnavailable,
                                   "查询过多，请稍后重试 (too many reads queued; retry later)")));
    }
    return;
  }
  if ((res == "patients" || res == "empi") && d_.empi != nullptr) {
    HttpResponse r;
    if (HandleEmpiRequest(*d_.empi, req, parts, &r)) return respond(std::move(r));
  }
  if ((res == "patients" || res == "documents") && (d_.empi == nullptr || d_.records == nullptr)) {
    // A hub configured without them: say which key to set.
    const char* why = d_.empi == nullptr
                          ? "本平台未启用患者主索引 (EMPI disabled): 配置 empi.enabled: true"
                          : "本平台未启用共享档案 (shared record disabled): 配置 empi.record: true";
    respond(ErrorResponse(Status(ErrorCode::kNotImplemented, why, req.path)));
    return;
  }
  respond(ErrorResponse(Status(ErrorCode::kNotFound, "没有这个地址 (no such path)", req.path)));
}

void RestApi::PostMessage(HttpRequest req, HttpRespond respond) {
  if (d_.draining && d_.draining->load()) {
    respond(ErrorResponse(
        Status(ErrorCode::kUnavailable, "平台正在停止，暂不接收 (hub is draining; resend later)")));
    return;
  }
  IntakeInput in;
  in.source = "http";
  in.peer = req.peer;
  in.size = req.body_truncated ? req.body_size : req.body.size();
  in.oversized = req.body_truncated;
  in.raw = std::move(req.body);
  in.content_type = req.Header("Content-Type");
  if (in.content_type.empty()) in.content_type = "application/hl7-v2";
  in.facility_header = req.Header("X-Facility-Id");
  in.idempotency_key = req.Header("Idempotency-Key");
  d_.intake->Submit(std::move(in), [respond = std::move(respond)](const IntakeAnswer& a) {
    switch (a.kind) {
      case IntakeAnswer::Kind::kAccepted:
        respond(JsonResponse(202, json{{"id", a.message_id}, {"status", ToString(a.status)}}));
        return;
      case IntakeAnswer::Kind::kDuplicate: {
        HttpResponse r = JsonResponse(
            202, json{{"id", a.message_id}, {"status", ToString(a.status)}, {"duplicate", true}});
        r.headers.emplace_back("Idempotent-Replayed", "true");
        respond(std::move(r));
        return;
      }
      case IntakeAnswer::Kind::kAcceptedWithError: {
        json j = {{"id", a.message_id},
                  {"status", "ERROR"},
                  {"error", ErrorJson(std::string(ApiCode(a.error.code())), a.error.message(),
                                      a.error.where())}};
        respond(JsonResponse(422, j));
        return;
      }
      case IntakeAnswer::Kind::kRejected: {
        HttpResponse r = ErrorResponse(a.error);
        if (a.rejected_id > 0) {
          json j = json::parse(r.body);
          j["error_id"] = a.rejected_id;
          r.body = Dump(j);
        }
        respond(std::move(r));
        return;
      }
    }
  });
}

HttpResponse RestApi::ListMessages(const HttpRequest& req) {
  MessageFilter f;
  std::string status = req.Query("status");
  if (!status.empty()) {
    auto s = ParseMessageStatus(status);
    if (!s) {
      return ErrorResponse(
          Status(ErrorCode::kInvalidArgument,
                 "未知的状态 (unknown status) \"" + status +
                     "\"；可选 RECEIVED, FILTERED, TRANSFORMED, QUEUED, SENT, ERROR",
                 "status"));
    }
    f.status = *s;
  }
  f.facility_id = req.Query("facility");
  f.message_type = req.Query("type");
  auto since = ParseSinceParam(req.Query("since"), "since");
  if (!since.ok()) return ErrorResponse(since.status());
  f.since_ms = *since;
  std::string limit = req.Query("limit");
  if (!limit.empty()) {
    auto v = ParseId(limit);
    if (!v) {
      return ErrorResponse(
          Status(ErrorCode::kInvalidArgument, "limit 应为正整数 (positive integer)", "limit"));
    }
    f.limit = static_cast<int>(std::min<int64_t>(*v, 1000));
  }
  std::string before = req.Query("before");
  if (!before.empty()) {
    auto v = ParseId(before);
    if (!v) {
      return ErrorResponse(
          Status(ErrorCode::kInvalidArgument, "before 应为消息编号 (message id)", "before"));
    }
    f.before_id = *v;
  }
  auto list = d_.store->ListMessages(f);
  if (!list.ok()) return ErrorResponse(list.status());
  json arr = json::array();
  for (const auto& m : *list) arr.push_back(MessageJson(m));
  json j = {{"messages", arr}};
  if (static_cast<int>(list->size()) == f.limit && !list->empty()) {
    j["next_before"] = list->back().id;
  } else {
    j["next_before"] = nullptr;
  }
  return JsonResponse(200, j);
}

HttpResponse RestApi::GetMessage(int64_t id, const HttpRequest& req) {
  auto m = d_.store->GetMessage(id);
  if (!m.ok()) {
    if (m.status().code() == ErrorCode::kNotFound) {
      return ErrorResponse(
          Status(ErrorCode::kNotFound,
                 "没有编号为 " + std::to_string(id) + " 的消息 (message not found)", "id"));
    }
    return ErrorResponse(m.status());
  }
  json j = MessageJson(*m);
  if (std::string dt = DocumentTypeOfRecord(*m); !dt.empty()) j["document_type"] = dt;
  auto trace = d_.store->GetTrace(id);
  if (!trace.ok()) return ErrorResponse(trace.status());
  json tr = json::array();
  for (const auto& e : *trace) {
    tr.push_back({{"at", FormatTimeMillis(e.at_ms)},
                  {"step", e.step},
                  {"outcome", e.outcome},
                  {"detail", e.detail}});
  }
  j["trace"] = tr;
  auto deliveries = d_.store->GetDeliveries(id);
  if (!deliveries.ok()) return ErrorResponse(deliveries.status());
  json ds = json::array();
  for (const auto& d : *deliveries) {
    json dj = {{"id", d.id},
               {"destination", d.destination_id},
               {"state", ToString(d.state)},
               {"attempt_count", d.attempts},
               {"next_attempt_at", d.state == DeliveryState::kQueued
                                       ? json(FormatTimeMillis(d.next_attempt_at_ms))
                                       : json(nullptr)},
               {"last_error", d.last_error},
               {"created_at", FormatTimeMillis(d.created_at_ms)},
               {"updated_at", FormatTimeMillis(d.updated_at_ms)}};
    json attempts = json::array();
    if (auto a = d_.store->GetAttempts(d.id); a.ok()) {
      for (const auto& x : *a) {
        attempts.push_back({{"number", x.number},
                            {"at", FormatTimeMillis(x.at_ms)},
                            {"duration_ms", x.duration_ms},
                            {"ok", x.ok},
                            {"outcome", x.outcome},
                            {"response", x.response}});
      }
    }
    dj["attempts"] = attempts;
    ds.push_back(dj);
  }
  j["deliveries"] = ds;
  std::string raw = req.Query("raw");
  if (raw == "1" || raw == "true") {
    auto text = MessageTextUtf8(*m);
    if (text.ok()) {
      j["raw"] = *text;
    } else {
      j["raw_base64"] = Base64(m->raw);
    }
  }
  return JsonResponse(200, j);
}

HttpResponse RestApi::Reprocess(int64_t id) {
  const int64_t now = d_.env->NowMillis();
  bool to_pipeline = false;
  std::vector<std::string> requeued;
  Status st = d_.store->WriteSync([&](WriteTxn& txn) -> Status {
    // A store may run this fn again (PostgreSQL retries a batch): start over.
    to_pipeline = false;
    requeued.clear();
    HIE_ASSIGN_OR_RETURN(MessageRecord m, txn.GetMessage(id));
    if (m.status != MessageStatus::kError) {
      return Status(ErrorCode::kConflict,
                    "只有 ERROR 状态的消息可以重新处理 (only ERROR messages can be reprocessed); "
                    "当前状态 (current status): " +
                        std::string(ToString(m.status)),
                    "status");
    }
    HIE_ASSIGN_OR_RETURN(auto ds, txn.DeliveriesOf(id));
    for (const auto& d : ds) {
      if (d.state != DeliveryState::kError) continue;
      HIE_RETURN_IF_ERROR(txn.UpdateDelivery(d.id, DeliveryState::kQueued, 0, now, "", now));
      requeued.push_back(d.destination_id);
    }
    if (!m.error_where.empty() && m.error_where.rfind("destination:", 0) != 0 && requeued.empty()) {
      // Refused at intake for its content: the raw bytes have not changed, so
      // running it again would give the same answer.
      return Status(
          ErrorCode::kConflict,
          "该消息内容有误，重新处理会得到同样结果，请由发送方更正后重发 (the message itself "
          "is faulty; have the sender correct and resend): " +
              m.error_text,
          m.error_where);
    }
    TraceEvent ev{now, "reprocess", "ok", ""};
    if (!requeued.empty()) {
      ev.detail =
          "重新发送 (re-queued) " + std::to_string(requeued.size()) + " 个投递 (deliveries)";
      HIE_RETURN_IF_ERROR(txn.AppendTrace(id, ev));
      return txn.UpdateStatus(id, MessageStatus::kQueued, now, Status::Ok());
    }
    ev.detail = "重新进入处理流程 (back to the pipeline)";
    HIE_RETURN_IF_ERROR(txn.AppendTrace(id, ev));
    to_pipeline = true;
    return txn.UpdateStatus(id, MessageStatus::kReceived, now, Status::Ok());
  });
  if (!st.ok()) {
    if (st.code() == ErrorCode::kNotFound) {
      return ErrorResponse(
          Status(ErrorCode::kNotFound,
                 "没有编号为 " + std::to_string(id) + " 的消息 (message not found)", "id"));
    }
    return ErrorResponse(st);
  }
  if (to_pipeline) d_.pipeline->EnqueueById(id);
  for (const auto& dest : requeued) d_.delivery->Wake(dest);
  return JsonResponse(202, json{{"id", id}, {"status", to_pipeline ? "RECEIVED" : "QUEUED"}});
}

HttpResponse RestApi::ListErrors(const HttpRequest& req) {
  int64_t before = 0;
  int limit = 50;
  if (auto v = ParseId(req.Query("before"))) before = *v;
  if (auto v = ParseId(req.Query("limit"))) limit = static_cast<int>(std::min<int64_t>(*v, 1000));
  auto list = d_.store->ListRejected(before, limit);
  if (!list.ok()) return ErrorResponse(list.status());
  json arr = json::array();
  for (const auto& r : *list) arr.push_back(RejectedJson(r));
  return JsonResponse(200, json{{"errors", arr}});
}

HttpResponse RestApi::GetError(int64_t id) {
  auto r = d_.store->GetRejected(id);
  if (!r.ok()) return ErrorResponse(r.status());
  json j = RejectedJson(*r);
  j["raw_base64"] = Base64(r->raw);
  j["raw_kept"] = static_cast<int64_t>(r->raw.size());
  return JsonResponse(200, j);
}

HttpResponse RestApi::ListDestinations() {
  auto depths = d_.store->QueueDepths();
  json arr = json::array();
  for (const auto& [id, disp] : d_.delivery->all()) {
    const auto& c = disp->config();
    json j = {{"id", id},
              {"type", ToString(c.type)},
              {"format", ToString(c.format)},
              {"paused", disp->paused()},
              {"queue_depth", depths.ok() && depths->count(id) ? depths->at(id) : 0}};
    if (c.type == DestinationType::kHttp) j["url"] = c.url;
    if (c.type == DestinationType::kMllp) j["address"] = c.host + ":" + std::to_string(c.port);
    if (c.type == DestinationType::kFile) j["path"] = c.path;
    arr.push_back(j);
  }
  return JsonResponse(200, json{{"destinations", arr}});
}

HttpResponse RestApi::PauseDestination(const std::string& id, bool paused) {
  Status st = d_.delivery->SetPaused(id, paused);
  if (!st.ok()) return ErrorResponse(st);
  HIE_LOG_INFO("目的地 {} 已{} (destination {})", id, paused ? "暂停" : "恢复",
               paused ? "paused" : "resumed");
  return JsonResponse(200, json{{"id", id}, {"paused", paused}});
}

// ---------------------------------------------------------------- terminology

HttpResponse RestApi::Translate(const HttpRequest& req) {
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                "请求体应为 JSON 对象 (body must be a JSON object) "
                                "{\"system\":..,\"code\":..,\"target\":..}",
                                ""));
  }
  std::string fields[3];
  const char* names[3] = {"system", "code", "target"};
  for (int i = 0; i < 3; ++i) {
    const std::string pointer = std::string("/") + names[i];
    auto it = body.find(names[i]);
    if (it == body.end() || it->is_null()) {
      return ErrorResponse(Status(ErrorCode::kRequiredMissing,
                                  std::string("缺少必填字段 (required field missing): ") + names[i],
                                  pointer));
    }
    if (it->is_string()) {
      fields[i] = it->get<std::string>();
    } else if (i == 1 && it->is_number_integer()) {
      fields[i] = it->dump();  // {"code": 1} means "1"
    } else {
      return ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                  std::string("字段应为字符串 (must be a string): ") + names[i],
                                  pointer));
    }
    if (fields[i].empty()) {
      return ErrorResponse(Status(ErrorCode::kRequiredMissing,
                                  std::string("字段为空 (empty field): ") + names[i], pointer));
    }
  }
  const std::string& system = fields[0];
  const std::string& code = fields[1];
  const std::string& target = fields[2];
  auto snap = d_.terminology->Current();  // one snapshot for the whole answer
  const SystemId sys = snap->FindSystem(system);
  const SystemId tgt = snap->FindSystem(target);
  // A facility's local system needs no declaration: no map yet means "unmapped".
  auto is_local = [](const std::string& s) { return s.rfind("local:", 0) == 0; };
  if (sys == kNoSystem && !is_local(system)) {
    return ErrorResponse(Status(ErrorCode::kNotFound,
                                "未知的代码系统 (unknown code system) \"" + system +
                                    "\"；可用 GET /api/v1/terminology/systems 查看已加载的系统",
                                "/system"));
  }
  if (tgt == kNoSystem && !is_local(target)) {
    return ErrorResponse(Status(ErrorCode::kNotFound,
                                "未知的目标代码系统 (unknown target system) \"" + target +
                                    "\"；可用 GET /api/v1/terminology/systems 查看已加载的系统",
                                "/target"));
  }
  const std::string sys_name = sys != kNoSystem ? snap->System(sys)->name : system;
  const std::string tgt_name = tgt != kNoSystem ? snap->System(tgt)->name : target;
  const TranslateResult r = snap->Translate(sys, code, tgt);
  json j = {{"found", r.found}, {"system", sys_name}, {"code", code}, {"target", tgt_name}};
  if (sys != kNoSystem) {
    if (auto display = snap->Lookup(sys_name, code)) j["display"] = std::string(*display);
  }
  if (r.found) {
    j["target_code"] = std::string(r.code);
    j["target_display"] = std::string(r.display);
  } else {
    j["message"] =
        "未映射 (unmapped): " + sys_name + " " + code + " 没有到 " + tgt_name +
        " 的映射 (no mapping)；请在 terminology.dir 的概念映射文件中添加 (add a row to a "
        "concept map) 后重新加载 (reload)";
  }
  return JsonResponse(200, j);
}

HttpResponse RestApi::Unmapped(const HttpRequest& req) {
  const UnmappedRegister& reg = d_.terminology->unmapped();
  const std::string format = req.Query("format");
  if (format == "csv") {
    HttpResponse r;
    r.content_type = "text/csv; charset=utf-8";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"unmapped.csv\"");
    r.body = reg.ToConceptMapCsv();
    return r;
  }
  if (!format.empty() && format != "json") {
    return ErrorResponse(Status(ErrorCode::kInvalidArgument,
                                "format 只能是 json 或 csv (format must be json or csv)",
                                "format"));
  }
  const std::string facility = req.Query("facility");
  const std::string system = req.Query("system");
  json arr = json::array();
  for (const auto& e : reg.Snapshot()) {
    if (!facility.empty() && e.facility != facility) continue;
    if (!system.empty() && e.system != system) continue;
    json sample = e.sample_message_id;
    if (auto id = ParseId(e.sample_message_id)) sample = *id;
    arr.push_back({{"system", e.system},
                   {"code", e.code},
                   {"display", e.display},
                   {"facility", e.facility},
                   {"target_system", e.target_system},
                   {"count", e.count},
                   {"first_seen", FormatTimeMillis(e.first_seen_ms)},
                   {"last_seen", FormatTimeMillis(e.last_seen_ms)},
                   {"sample_message_id", sample}});
  }
  return JsonResponse(200, json{{"unmapped", arr}, {"dropped", reg.dropped()}});
}

HttpResponse RestApi::Systems() {
  auto snap = d_.terminology->Current();
  json arr = json::array();
  for (const auto& s : snap->systems()) {
    arr.push_back({{"name", s.name},
                   {"oid", s.oid},
                   {"aliases", s.aliases},
                   {"title", s.title},
                   {"edition", s.edition},
                   {"local", s.local}});
  }
  const LoadStats& st = snap->stats();
  return JsonResponse(200, json{{"systems", arr},
                                {"dir", d_.terminology->dir()},
                                {"generation", d_.terminology->terminology().generation()},
                                {"counts",
                                 {{"files", st.files},
                                  {"systems", snap->systems().size()},
                                  {"concepts", snap->concept_count()},
                                  {"mappings", snap->mapping_count()},
                                  {"value_set_members", st.value_set_members},
                                  {"pending_rows", st.pending_rows},
                                  {"warnings", st.warnings.size()}}}});
}

HttpResponse RestApi::ReloadTerminology() {
  if (!d_.terminology->configured()) {
    return ErrorResponse(Status(ErrorCode::kConflict,
                                "未配置术语目录 (terminology.dir not configured)，无法重新加载",
                                "terminology.dir"));
  }
  auto rep = d_.terminology->Reload();
  if (!rep.ok()) {
    // The file is refused, the running maps stay: 422 with file:line in `where`.
    HttpResponse r = ErrorResponse(Status(
        rep.status().code(),
        "术语文件有误，已保留原有映射 (bad terminology file; the previous maps stay in use): " +
            rep.status().message(),
        rep.status().where()));
    r.status = 422;
    return r;
  }
  constexpr size_t kMaxWarnings = 100;
  json warnings = json::array();
  for (size_t i = 0; i < rep->stats.warnings.size() && i < kMaxWarnings; ++i) {
    warnings.push_back(rep->stats.warnings[i]);
  }
  return JsonResponse(200, json{{"status", "reloaded"},
                                {"systems", rep->systems},
                                {"concepts", rep->concepts},
                                {"mappings", rep->mappings},
                                {"files", rep->stats.files},
                                {"value_set_members", rep->stats.value_set_members},
                                {"pending_rows", rep->stats.pending_rows},
                                {"warning_count", rep->stats.warnings.size()},
                                {"warnings", warnings},
                                {"generation", rep->generation},
                                {"millis", rep->millis}});
}

}  // namespace hie
