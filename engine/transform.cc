#include "engine/transform.h"

#include <nlohmann/json.hpp>

#include "core/env.h"
#include "mappings/canonical/canonical_to_v2.h"
#include "mappings/canonical/fhir.h"
#include "mappings/hl7v2/charset.h"

namespace hie {
namespace {

using nlohmann::json;

bool IsUtf8Label(std::string_view l) {
  return l.empty() || l == "UNICODE UTF-8" || l == "UTF-8" || l == "UTF8" || l == "utf-8";
}

// Sets MSH-18 to "UNICODE UTF-8" in ER7 text, keeping every other byte; an
// MSH with fewer fields gets the missing separators.
std::string RewriteMsh18(std::string text) {
  if (text.size() < 8 || text.compare(0, 3, "MSH") != 0) return text;
  const char fs = text[3];
  size_t seg_end = text.find_first_of("\r\n");
  if (seg_end == std::string::npos) seg_end = text.size();
  // MSH-n (n >= 2) begins after the (n-1)th separator; text[3] is the first.
  size_t pos = 3;
  int seps = 1;
  while (seps < 17) {
    const size_t next = text.find(fs, pos + 1);
    if (next == std::string::npos || next >= seg_end) {
      text.insert(seg_end, std::string(static_cast<size_t>(17 - seps), fs) + "UNICODE UTF-8");
      return text;
    }
    pos = next;
    ++seps;
  }
  const size_t start = pos + 1;
  size_t end = text.find(fs, start);
  if (end == std::string::npos || end > seg_end) end = seg_end;
  text.replace(start, end - start, "UNICODE UTF-8");
  return text;
}

std::string_view CodeOf(std::string_view message_type) {
  return message_type.substr(0, message_type.find('^'));
}
std::string_view TriggerOf(std::string_view message_type) {
  const size_t caret = message_type.find('^');
  if (caret == std::string_view::npos) return {};
  std::string_view t = message_type.substr(caret + 1);
  return t.substr(0, t.find('^'));
}

// Resources of a type in the bundle.
std::vector<const json*> ResourcesOf(const json& bundle, std::string_view type) {
  std::vector<const json*> out;
  if (!bundle.contains("entry") || !bundle["entry"].is_array()) return out;
  for (const auto& e : bundle["entry"]) {
    if (!e.is_object() || !e.contains("resource") || !e["resource"].is_object()) continue;
    const json& r = e["resource"];
    if (r.value("resourceType", "") == type) out.push_back(&r);
  }
  return out;
}

// What WriteCda takes the document time from when none is given.
bool HasDocumentTime(const json& bundle) {
  for (const json* d : ResourcesOf(bundle, "DocumentReference")) {
    if (d->contains("date")) return true;
  }
  for (const json* r : ResourcesOf(bundle, "DiagnosticReport")) {
    if (r->contains("issued") || r->contains("effectiveDateTime")) return true;
  }
  return false;
}

std::string ClassOf(const json& encounter) {
  if (!encounter.contains("class") || !encounter["class"].is_object()) return {};
  return encounter["class"].value("code", "");
}

Status NoCdaForm(std::string_view message_type, std::string_view why_zh, std::string_view why_en) {
  return Status(ErrorCode::kUnsupportedType,
                "该消息没有对应的 CDA 文档 (no CDA form for " + std::string(message_type) +
                    "): " + std::string(why_zh) + " (" + std::string(why_en) +
                    ")；请把它路由到 hl7v2 或 json 格式的目的地 (route it to an hl7v2 or json "
                    "destination)",
                "destinations.format");
}

}  // namespace

Result<std::string> MessageTextUtf8(const MessageRecord& m) {
  if (IsUtf8Label(m.charset)) return m.raw;
  HIE_ASSIGN_OR_RETURN(std::string text, DecodeToUtf8(m.raw, m.charset));
  if (SourceFormatOf(m.content_type) != SourceFormat::kHl7v2) return text;
  return RewriteMsh18(std::move(text));
}

Result<cda::CdaDocumentKind> CdaKindFor(const canonical::CanonicalMessage& msg) {
  const std::string_view type = msg.message_type;
  if (!ResourcesOf(msg.bundle, "DiagnosticReport").empty() || CodeOf(type) == "ORU") {
    return cda::CdaDocumentKind::kLabReport;
  }
  if (CodeOf(type) == "DFT") {
    return NoCdaForm(type, "收费与结算消息不生成 WS/T 500 文档", "charges and settlement have no WS/T 500 document");
  }
  if (CodeOf(type) != "ADT") {
    return NoCdaForm(type, "该消息类型没有 WS/T 500 / WS/T 483 文档模板",
                     "no WS/T 500 / WS/T 483 template for this message type");
  }
  const std::string_view trigger = TriggerOf(type);
  if (trigger == "A40") {
    return NoCdaForm(type, "患者合并是身份操作，不是共享文档", "a patient merge is not a shared document");
  }
  if (trigger == "A28" || trigger == "A31" || trigger == "A08") {
    return cda::CdaDocumentKind::kHealthRecordBasic;
  }
  const auto encounters = ResourcesOf(msg.bundle, "Encounter");
  if (encounters.empty()) return cda::CdaDocumentKind::kHealthRecordBasic;
  const std::string cls = ClassOf(*encounters.front());
  if (cls == "AMB" || cls == "EMER") return cda::CdaDocumentKind::kOutpatientRecord;
  return NoCdaForm(type, "住院登记没有可生成的文档（只生成门(急)诊病历 C0002）",
                   "an inpatient visit has no document written here; only the outpatient record "
                   "C0002");
}

Renderer::Renderer(const TerminologyService* terminology,
                   std::shared_ptr<const cda::OidTable> oid_table)
    : terminology_(terminology),
      oid_table_(oid_table ? std::move(oid_table) : cda::OidTable::BuiltIn()) {}

Result<RenderedPayload> Renderer::Render(const MessageRecord& m, DestinationFormat format) const {
  // One snapshot for the whole render: a reload meanwhile changes nothing here.
  const std::shared_ptr<const TerminologySnapshot> snap =
      terminology_ != nullptr && terminology_->configured() ? terminology_->Current()
                                                            : TerminologySnapshot::Empty();
  return Render(m, format, *snap);
}

Result<canonical::CanonicalMessage> Renderer::CanonicalWithTerminology(
    const MessageRecord& m, const TerminologySnapshot& snapshot) const {
  CanonicalizeOptions co;
  co.oid_table = oid_table_;
  HIE_ASSIGN_OR_RETURN(canonical::CanonicalMessage msg, Canonicalize(m, co));
  ApplyTerminology(msg, snapshot, nullptr);  // counted at intake, not per render
  return msg;
}

Result<RenderedPayload> Renderer::Render(const MessageRecord& m, DestinationFormat format,
                                         const TerminologySnapshot& snapshot) const {
  const SourceFormat source = SourceFormatOf(m.content_type);
  switch (format) {
    case DestinationFormat::kHl7v2: {
      if (source == SourceFormat::kHl7v2) {
        HIE_ASSIGN_OR_RETURN(std::string text, MessageTextUtf8(m));
        return RenderedPayload{"application/hl7-v2; charset=utf-8", std::move(text), ".hl7"};
      }
      HIE_ASSIGN_OR_RETURN(auto msg, CanonicalWithTerminology(m, snapshot));
      canonical::V2WriteOptions wo;
      wo.sending_application = "HIE";
      HIE_ASSIGN_OR_RETURN(std::string text, canonical::CanonicalToV2(msg, wo));
      return RenderedPayload{"application/hl7-v2; charset=utf-8", std::move(text), ".hl7"};
    }
    case DestinationFormat::kJson: {
      HIE_ASSIGN_OR_RETURN(auto msg, CanonicalWithTerminology(m, snapshot));
      return RenderedPayload{"application/fhir+json; charset=utf-8", canonical::WriteFhir(msg),
                             ".json"};
    }
    case DestinationFormat::kCda: {
      if (source == SourceFormat::kCda) {
        // Forwarded as it came: regenerating would drop the narrative that the
        // canonical model keeps only flattened.
        return RenderedPayload{"application/xml; charset=utf-8", m.raw, ".xml"};
      }
      HIE_ASSIGN_OR_RETURN(auto msg, CanonicalWithTerminology(m, snapshot));
      HIE_ASSIGN_OR_RETURN(std::string doc, CdaFromCanonical(msg, m.received_at_ms,
                                                             m.facility_id + "-" +
                                                                 std::to_string(m.id)));
      return RenderedPayload{"application/xml; charset=utf-8", std::move(doc), ".xml"};
    }
  }
  return Status(ErrorCode::kInternal, "unknown format");
}

Result<std::string> Renderer::CdaFromCanonical(const canonical::CanonicalMessage& msg,
                                               int64_t fallback_time_ms,
                                               const std::string& fallback_document_id) const {
  HIE_ASSIGN_OR_RETURN(cda::CdaDocumentKind kind, CdaKindFor(msg));
  cda::CdaWriteOptions wo;
  wo.oid_table = oid_table_;
  if (!HasDocumentTime(msg.bundle)) {
    // A registration carries no document time: the message's (MSH-7), else
    // when the hub received it.
    if (msg.bundle.contains("timestamp") && msg.bundle["timestamp"].is_string()) {
      wo.effective_time = msg.bundle["timestamp"].get<std::string>();
    } else {
      wo.effective_time = FormatTimeMillis(fallback_time_ms);
    }
  }
  if (ResourcesOf(msg.bundle, "DiagnosticReport").empty() &&
      ResourcesOf(msg.bundle, "DocumentReference").empty()) {
    wo.document_id = fallback_document_id;
  }
  auto doc = cda::WriteCda(msg.bundle, kind, wo);
  if (!doc.ok()) {
    return Status(doc.status().code(),
                  "无法生成 CDA 文档 (cannot write the CDA document): " + doc.status().message(),
                  doc.status().where());
  }
  return std::move(doc).value();
}

}  // namespace hie
