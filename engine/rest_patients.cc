#include "engine/rest_patients.h"

#include <charconv>

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

HttpResponse From(const Result<json>& r, int ok_status = 200) {
  return r.ok() ? Json(ok_status, *r) : ErrorResponse(r.status());
}

int64_t PositiveInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v > 0 ? v : 0;
}

std::string Actor(const HttpRequest& req) {
  std::string user = req.Header("X-User");
  return user.empty() ? "api" : "api:" + user;
}

Result<json> Body(const HttpRequest& req) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kInvalidArgument, "请求体应为 JSON 对象 (body must be a JSON object)",
                  "body");
  }
  return j;
}

int64_t IdField(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>() > 0 ? v.get<int64_t>() : 0;
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    int64_t e = ParseEmpiId(s);
    return e != 0 ? e : PositiveInt(s);
  }
  return 0;
}

HttpResponse BadId(std::string_view what, std::string_view where) {
  return ErrorResponse(Status(ErrorCode::kInvalidArgument, std::string(what), std::string(where)));
}

HttpResponse MethodNotAllowed(const HttpRequest& req) {
  HttpResponse r = ErrorResponse(Status(
      ErrorCode::kInvalidArgument, "不支持的方法 (method not allowed) " + req.method, req.path));
  r.status = 405;
  return r;
}

int Limit(const HttpRequest& req, int def) {
  int64_t v = PositiveInt(req.Query("limit"));
  return v == 0 ? def : static_cast<int>(std::min<int64_t>(v, 200));
}

}  // namespace

bool HandleEmpiRequest(EmpiService& empi, const HttpRequest& req,
                       const std::vector<std::string_view>& parts, HttpResponse* out) {
  const std::string& m = req.method;
  if (parts[0] == "patients") {
    if (parts.size() == 1) {
      if (m != "GET") return *out = MethodNotAllowed(req), true;
      const std::string identifier = req.Query("identifier");
      if (!identifier.empty()) {
        const size_t bar = identifier.find('|');
        if (bar == std::string::npos) {
          *out = BadId("identifier 应为 AUTHORITY|VALUE (expected AUTHORITY|VALUE)", "identifier");
          return true;
        }
        *out = From(empi.Pix(identifier.substr(0, bar), identifier.substr(bar + 1)));
        return true;
      }
      *out = From(
          empi.Pdq(req.Query("name"), req.Query("birth_date"), req.Query("sex"), Limit(req, 20)));
      return true;
    }
    const int64_t person = ParseEmpiId(parts[1]);
    if (parts.size() == 3 && (parts[2] == "lab-results" || parts[2] == "documents")) return false;
    if (person == 0) {
      *out = BadId("EMPI 编号格式应为 E<数字> (EMPI id must look like E123)", parts[1]);
      return true;
    }
    if (parts.size() == 2) {
      if (m != "GET") return *out = MethodNotAllowed(req), true;
      *out = From(empi.Person(person));
      return true;
    }
    if (parts.size() == 3 && (parts[2] == "link" || parts[2] == "unlink" || parts[2] == "merge")) {
      if (m != "POST") return *out = MethodNotAllowed(req), true;
      auto body = Body(req);
      if (!body.ok()) return *out = ErrorResponse(body.status()), true;
      if (parts[2] == "merge") {
        const int64_t from = IdField(*body, "from");
        if (from == 0)
          return *out = BadId("需要 from: 被合并的 EMPI 编号 (from required)", "from"), true;
        *out = From(empi.Merge(person, from, Actor(req)));
        return true;
      }
      const int64_t source = IdField(*body, "source_id");
      if (source == 0) {
        *out = BadId("需要 source_id: 来源记录编号 (source_id required)", "source_id");
        return true;
      }
      *out = From(parts[2] == "link" ? empi.Link(person, source, Actor(req))
                                     : empi.Unlink(person, source, Actor(req)));
      return true;
    }
    return false;
  }
  // /api/v1/empi/...
  if (parts.size() >= 2 && parts[1] == "reviews") {
    if (parts.size() == 2) {
      if (m != "GET") return *out = MethodNotAllowed(req), true;
      std::string state = req.Query("state");
      if (state.empty()) state = "open";
      if (state == "all") state.clear();
      *out = From(empi.Reviews(state, PositiveInt(req.Query("before")), Limit(req, 50)));
      return true;
    }
    if (parts.size() == 4 && (parts[3] == "accept" || parts[3] == "reject")) {
      if (m != "POST") return *out = MethodNotAllowed(req), true;
      const int64_t id = PositiveInt(parts[2]);
      if (id == 0) return *out = BadId("审核编号应为正整数 (review id)", parts[2]), true;
      *out = From(empi.DecideReview(id, parts[3] == "accept", Actor(req)));
      return true;
    }
  }
  if (parts.size() == 4 && parts[1] == "merges" && parts[3] == "unmerge") {
    if (m != "POST") return *out = MethodNotAllowed(req), true;
    const int64_t id = PositiveInt(parts[2]);
    if (id == 0) return *out = BadId("合并编号应为正整数 (merge id)", parts[2]), true;
    *out = From(empi.Unmerge(id, Actor(req)));
    return true;
  }
  return false;
}

}  // namespace hie
