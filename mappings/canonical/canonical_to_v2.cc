#include "mappings/canonical/canonical_to_v2.h"

#include <deque>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mappings/canonical/v2_to_canonical.h"
#include "mappings/canonical/v2_types.h"
#include "mappings/hl7v2/charset.h"

namespace hie::canonical {

using nlohmann::json;
using v2::Esc;
using v2::JoinComps;
using v2::Str;

namespace {

struct Segment {
  std::string id;
  std::vector<std::string> fields;  // fields[n] = field n (raw ER7); [0] unused
  void Set(size_t n, std::string raw) {
    if (fields.size() <= n) {
      fields.resize(n + 1);
    }
    fields[n] = std::move(raw);
  }
};

std::string JoinReps(const std::vector<std::string>& reps) {
  std::string out;
  for (size_t i = 0; i < reps.size(); ++i) {
    out += (i ? "~" : "") + reps[i];
  }
  return out;
}

std::string Structure(const std::string& type) {
  if (type == "ADT^A28" || type == "ADT^A31") {
    return "ADT_A05";
  }
  if (type == "ADT^A40") {
    return "ADT_A39";
  }
  if (type == "ORU^R01") {
    return "ORU_R01";
  }
  if (type == "DFT^P03") {
    return "DFT_P03";
  }
  return "ADT_A01";
}

const json& Empty() {
  static const json kNull;
  return kNull;
}

const json& At(const json& j, const char* key) {
  if (!j.is_object()) {
    return Empty();
  }
  auto it = j.find(key);
  return it == j.end() ? Empty() : *it;
}

std::string FirstCode(const json& cc) {
  const json& coding = At(cc, "coding");
  if (!coding.is_array() || coding.empty()) {
    return {};
  }
  return Str(coding[0], "code");
}

class Writer {
 public:
  Writer(const CanonicalMessage& msg, const V2WriteOptions& opt) : msg_(msg), opt_(opt) {}

  Result<std::string> Run() {
    if (!IsMappedV2Type(msg_.message_type)) {
      return Status(
          ErrorCode::kUnsupportedType,
          "不支持输出该消息类型 (unsupported message type): " + msg_.message_type.substr(0, 20),
          "MSH-9");
    }
    if (msg_.control_id.empty()) {
      return Status(ErrorCode::kRequiredMissing, "缺少消息控制号 (missing control id for MSH-10)",
                    "MSH-10");
    }
    const json& b = msg_.bundle;
    if (!b.is_object() || !At(b, "entry").is_array()) {
      return Status(ErrorCode::kInvalidArgument, "规范消息缺少 entry (bundle has no entry)",
                    "/entry");
    }
    std::string charset_label = "UNICODE UTF-8";
    std::string iconv_name = "UTF-8";
    if (!opt_.charset.empty()) {
      HIE_ASSIGN_OR_RETURN(iconv_name, CanonicalCharset(opt_.charset));
      if (iconv_name == "GB18030") {
        charset_label = "GB 18030-2000";
      }
    }
    const std::string trigger = msg_.message_type.substr(msg_.message_type.find('^') + 1);
    std::string ts;
    if (At(b, "timestamp").is_string()) {
      HIE_ASSIGN_OR_RETURN(ts, FhirTimeToV2(b["timestamp"].get<std::string>(), "/timestamp"));
    }
    Segment& msh = Add("MSH");
    msh.Set(3, Esc(opt_.sending_application));
    msh.Set(4, Esc(msg_.facility));
    msh.Set(5, Esc(opt_.receiving_application));
    msh.Set(6, Esc(opt_.receiving_facility));
    msh.Set(7, ts);
    msh.Set(9, msg_.message_type + "^" + Structure(msg_.message_type));  // a mapped type
    msh.Set(10, Esc(msg_.control_id));
    msh.Set(11, "P");
    msh.Set(12, Esc(opt_.version));
    msh.Set(18, charset_label);
    if (msg_.message_type.rfind("ADT", 0) == 0 || msg_.message_type == "DFT^P03") {
      Segment& evn = Add("EVN");
      evn.Set(1, Esc(trigger));
      evn.Set(2, ts);
    }
    const json& entries = b["entry"];
    // Observations written with their report, not on their own.
    for (const auto& e : entries) {
      const json& r = At(e, "resource");
      if (Str(r, "resourceType") != "DiagnosticReport") {
        continue;
      }
      const json& results = At(r, "result");
      if (!results.is_array()) {
        continue;
      }
      for (const auto& ref : results) {
        in_report_.insert(Str(ref, "reference"));
      }
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const json& r = At(entries[i], "resource");
      const std::string type = Str(r, "resourceType");
      ptr_ = "/entry/" + std::to_string(i) + "/resource";
      Status st;
      if (type == "Patient") {
        st = IsReplaced(r) ? WriteMrg(r) : WritePid(r);
      } else if (type == "Encounter") {
        st = WritePv1(r);
      } else if (type == "DiagnosticReport") {
        st = WriteObr(r, entries);
      } else if (type == "Observation") {
        if (!in_report_.count("Observation/" + Str(r, "id"))) {
          st = WriteObx(r, ptr_);
        }
      } else if (type == "Condition") {
        st = WriteDg1(r);
      } else if (type == "ExplanationOfBenefit") {
        st = WriteFt1(r);
      }
      if (!st.ok()) {
        return st;
      }
    }
    std::string out = Serialize();
    const json& meta_ext = At(At(b, "meta"), "extension");
    if (meta_ext.is_array()) {
      for (const auto& x : meta_ext) {
        const std::string seg = Str(x, "valueString");
        if (Str(x, "url") != kV2SegmentExtension || seg.size() < 3 || seg[0] != 'Z' ||
            seg.find_first_of("\r\n") != std::string::npos) {
          continue;
        }
        out += seg;
        out += TerminatorText(opt_.terminator);
      }
    }
    if (iconv_name == "UTF-8") {
      return out;
    }
    return EncodeFromUtf8(out, opt_.charset);
  }

 private:
  Segment& Add(const char* id) {
    segs_.push_back(Segment{id, {}});
    return segs_.back();
  }

  std::string Serialize() const {
    std::string out;
    const std::string_view term = TerminatorText(opt_.terminator);
    for (const Segment& s : segs_) {
      out += s.id;
      size_t first = 1;
      if (s.id == "MSH") {
        out += "|^~\\&";
        first = 3;
      }
      size_t last = s.fields.size();
      while (last > first && s.fields[last - 1].empty()) {
        --last;
      }
      for (size_t n = first; n < last; ++n) {
        out += '|';
        out += s.fields[n];
      }
      out += term;
    }
    return out;
  }

  Result<std::string> Time(const json& v, const std::string& where) {
    if (!v.is_string()) {
      return std::string();
    }
    return FhirTimeToV2(v.get<std::string>(), where);
  }

  static bool IsReplaced(const json& patient) {
    const json& links = At(patient, "link");
    if (!links.is_array()) {
      return false;
    }
    for (const auto& l : links) {
      if (Str(l, "type") == "replaced-by") {
        return true;
      }
    }
    return false;
  }

  std::string Identifiers(const json& ids) const {
    std::vector<std::string> reps;
    if (!ids.is_array()) {
      return {};
    }
    for (const auto& id : ids) {
      const std::string value = Str(id, "value");
      if (value.empty()) {
        continue;
      }
      const std::string system = Str(id, "system");
      const std::string type = FirstCode(At(id, "type"));
      std::string authority;
      if (system.rfind("urn:oid:", 0) == 0) {
        authority = "&" + Esc(system.substr(8)) + "&ISO";
      } else if (system.rfind("local:", 0) == 0) {
        authority = Esc(system.substr(6));
      } else if (!system.empty()) {
        authority = "&" + Esc(system) + "&URI";
      }
      std::string cx_type = type;
      if (system == kIdCardSystem) {
        cx_type = "NI";
      }
      if (type == "MR") {
        authority = Esc(msg_.facility);
      }
      reps.push_back(JoinComps({Esc(value), "", "", authority, Esc(cx_type)}, '^'));
    }
    return JoinReps(reps);
  }

  template <typename Fn>
  static std::string EachRep(const json& arr, Fn fn) {
    std::vector<std::string> reps;
    if (arr.is_array()) {
      for (const auto& x : arr) {
        std::string r = fn(x);
        if (!r.empty()) {
          reps.push_back(std::move(r));
        }
      }
    }
    return JoinReps(reps);
  }

  Status WritePid(const json& p) {
    Segment& s = Add("PID");
    s.Set(1, std::to_string(++pid_count_));
    s.Set(3, Identifiers(At(p, "identifier")));
    s.Set(5, EachRep(At(p, "name"), v2::WriteXPN));
    HIE_ASSIGN_OR_RETURN(std::string birth, Time(At(p, "birthDate"), ptr_ + "/birthDate"));
    s.Set(7, birth);
    std::string sex;
    const json* ext = FindExtension(p, kSexExtension);
    if (ext != nullptr) {
      sex = FirstCode(*ext);
    }
    if (sex.empty()) {
      const std::string g = Str(p, "gender");
      sex = g == "male" ? "M" : g == "female" ? "F" : g == "other" ? "O" : g.empty() ? "" : "U";
    }
    s.Set(8, Esc(sex));
    s.Set(11, EachRep(At(p, "address"), v2::WriteXAD));
    s.Set(13, EachRep(At(p, "telecom"), v2::WriteXTN));
    s.Set(16, v2::WriteCE(At(p, "maritalStatus")));
    const json* eth = FindExtension(p, kEthnicityExtension);
    if (eth != nullptr) {
      s.Set(22, v2::WriteCE(*eth));
    }
    HIE_ASSIGN_OR_RETURN(std::string death,
                         Time(At(p, "deceasedDateTime"), ptr_ + "/deceasedDateTime"));
    s.Set(29, death);
    return Status::Ok();
  }

  Status WriteMrg(const json& p) {
    Segment& s = Add("MRG");
    s.Set(1, Identifiers(At(p, "identifier")));
    s.Set(7, EachRep(At(p, "name"), v2::WriteXPN));
    return Status::Ok();
  }

  Status WritePv1(const json& e) {
    Segment& s = Add("PV1");
    s.Set(1, std::to_string(++pv1_count_));
    std::string cls;
    if (const json* x = FindExtension(e, kPatientClassExtension)) {
      cls = FirstCode(*x);
    }
    if (cls.empty()) {
      const std::string act = Str(At(e, "class"), "code");
      // AMB without the class as received stays empty: the v2 source had none.
      cls = act == "IMP" ? "I" : act == "EMER" ? "E" : act == "PRENC" ? "P" : "";
    }
    s.Set(2, Esc(cls));
    std::vector<std::string> pl(3);
    const json& locs = At(e, "location");
    if (locs.is_array()) {
      for (const auto& l : locs) {
        const std::string kind = FirstCode(At(l, "physicalType"));
        const std::string v = Esc(Str(At(l, "location"), "display"));
        if (kind == "ro") {
          pl[1] = v;
        } else if (kind == "bd") {
          pl[2] = v;
        } else if (pl[0].empty()) {
          pl[0] = v;
        }
      }
    }
    s.Set(3, JoinComps(pl, '^'));
    std::vector<std::string> attending, admitting;
    const json& parts = At(e, "participant");
    if (parts.is_array()) {
      for (const auto& part : parts) {
        const json& types = At(part, "type");
        const std::string code = types.is_array() && !types.empty() ? FirstCode(types[0]) : "";
        std::string who = v2::WriteXCN(At(part, "individual"));
        if (who.empty()) {
          continue;
        }
        (code == "ADM" ? admitting : attending).push_back(std::move(who));
      }
    }
    s.Set(7, JoinReps(attending));
    s.Set(17, JoinReps(admitting));
    const json& ids = At(e, "identifier");
    if (ids.is_array() && !ids.empty()) {
      s.Set(19, Esc(Str(ids[0], "value")));
    }
    if (const json* x = FindExtension(e, kPaymentMethodExtension)) {
      s.Set(20, Esc(FirstCode(*x)));
    }
    const json& period = At(e, "period");
    HIE_ASSIGN_OR_RETURN(std::string start, Time(At(period, "start"), ptr_ + "/period/start"));
    HIE_ASSIGN_OR_RETURN(std::string end, Time(At(period, "end"), ptr_ + "/period/end"));
    s.Set(44, start);
    s.Set(45, end);
    return Status::Ok();
  }

  Status WriteObr(const json& r, const json& entries) {
    Segment& s = Add("OBR");
    s.Set(1, std::to_string(++obr_count_));
    const json& ids = At(r, "identifier");
    if (ids.is_array()) {
      for (const auto& id : ids) {
        const std::string t = FirstCode(At(id, "type"));
        if (t == "PLAC") {
          s.Set(2, Esc(Str(id, "value")));
        }
        if (t == "FILL") {
          s.Set(3, Esc(Str(id, "value")));
        }
      }
    }
    s.Set(4, v2::WriteCE(At(r, "code")));
    HIE_ASSIGN_OR_RETURN(std::string eff,
                         Time(At(r, "effectiveDateTime"), ptr_ + "/effectiveDateTime"));
    s.Set(7, eff);
    if (const json* x = FindExtension(r, kOrderingProviderExtension)) {
      s.Set(16, v2::WriteXCN(*x));
    }
    HIE_ASSIGN_OR_RETURN(std::string issued, Time(At(r, "issued"), ptr_ + "/issued"));
    s.Set(22, issued);
    const json& cat = At(r, "category");
    if (cat.is_array() && !cat.empty()) {
      s.Set(24, Esc(FirstCode(cat[0])));
    }
    s.Set(25, v2::ReportStatusToV2(Str(r, "status")));
    s.Set(32, EachRep(At(r, "resultsInterpreter"),
                      [](const json& x) { return v2::WriteXCN(x, /*sub=*/true); }));
    const std::string conclusion = Str(r, "conclusion");
    if (!conclusion.empty()) {
      AddNte(conclusion);
    }
    const json& results = At(r, "result");
    if (!results.is_array()) {
      return Status::Ok();
    }
    // Index once: a report with n results against n entries was n² string
    // compares (an 839-OBX ORU took 70 ms; fuzzing found it).
    if (observation_index_.empty()) {
      for (size_t i = 0; i < entries.size(); ++i) {
        const json& o = At(entries[i], "resource");
        if (Str(o, "resourceType") == "Observation") {
          observation_index_.emplace("Observation/" + Str(o, "id"), i);  // first one wins
        }
      }
    }
    for (const auto& ref : results) {
      auto hit = observation_index_.find(Str(ref, "reference"));
      if (hit == observation_index_.end()) {
        continue;
      }
      const size_t i = hit->second;
      HIE_RETURN_IF_ERROR(
          WriteObx(At(entries[i], "resource"), "/entry/" + std::to_string(i) + "/resource"));
    }
    return Status::Ok();
  }

  void AddNte(const std::string& text) {
    Segment& n = Add("NTE");
    n.Set(1, std::to_string(++nte_count_));
    n.Set(3, Esc(text));
  }

  static std::string RangeText(const json& rr) {
    const std::string text = Str(rr, "text");
    if (!text.empty()) {
      return text;
    }
    const std::string lo = GetDecimal(At(rr, "low"), "value");
    const std::string hi = GetDecimal(At(rr, "high"), "value");
    if (!lo.empty() && !hi.empty()) {
      return lo + "-" + hi;
    }
    if (!hi.empty()) {
      return "<=" + hi;
    }
    if (!lo.empty()) {
      return ">=" + lo;
    }
    return {};
  }

  Status WriteObx(const json& o, const std::string& ptr) {
    Segment& s = Add("OBX");
    s.Set(1, std::to_string(++obx_count_));
    s.Set(3, v2::WriteCE(At(o, "code")));
    std::string type, value;
    const json* unit_ext = FindExtension(o, kUnitExtension);
    const json* unit_source = nullptr;
    if (const json& q = At(o, "valueQuantity"); q.is_object()) {
      const std::string cmp = Str(q, "comparator");
      type = cmp.empty() ? "NM" : "SN";
      value = cmp.empty() ? Esc(GetDecimal(q, "value"))
                          : JoinComps({Esc(cmp), Esc(GetDecimal(q, "value"))}, '^');
      unit_source = &q;
    } else if (const json& rg = At(o, "valueRange"); rg.is_object()) {
      type = "SN";
      value = JoinComps({"", Esc(GetDecimal(At(rg, "low"), "value")), "-",
                         Esc(GetDecimal(At(rg, "high"), "value"))},
                        '^');
      unit_source = &At(rg, "low");
    } else if (const json& ra = At(o, "valueRatio"); ra.is_object()) {
      type = "SN";
      value = JoinComps({"", Esc(GetDecimal(At(ra, "numerator"), "value")), ":",
                         Esc(GetDecimal(At(ra, "denominator"), "value"))},
                        '^');
    } else if (const json& cc = At(o, "valueCodeableConcept"); cc.is_object()) {
      type = "CE";
      value = v2::WriteCE(cc);
    } else if (const json& dt = At(o, "valueDateTime"); dt.is_string()) {
      HIE_ASSIGN_OR_RETURN(value, FhirTimeToV2(dt.get<std::string>(), ptr + "/valueDateTime"));
      type = dt.get<std::string>().size() <= 10 ? "DT" : "TS";
    } else if (const json& st = At(o, "valueString"); st.is_string()) {
      const std::string& text = st.get_ref<const std::string&>();
      type = text.find('\n') == std::string::npos && text.size() <= 199 ? "ST" : "TX";
      value = Esc(text);
    } else if (const json& b = At(o, "valueBoolean"); b.is_boolean()) {
      type = "ST";
      value = b.get<bool>() ? "true" : "false";
    }
    s.Set(2, type);
    s.Set(5, value);
    if (unit_ext != nullptr) {
      s.Set(6, v2::WriteCE(*unit_ext));
    } else if (unit_source != nullptr && unit_source->is_object() &&
               !Str(*unit_source, "unit").empty()) {
      const std::string code = Str(*unit_source, "code");
      const std::string unit = Str(*unit_source, "unit");
      s.Set(6, JoinComps({Esc(code.empty() ? unit : code), Esc(unit),
                          Str(*unit_source, "system") == kUcumUri ? "UCUM" : ""},
                         '^'));
    }
    const json& rr = At(o, "referenceRange");
    if (rr.is_array() && !rr.empty()) {
      s.Set(7, Esc(RangeText(rr[0])));
    }
    s.Set(8, EachRep(At(o, "interpretation"), [](const json& c) { return Esc(FirstCode(c)); }));
    s.Set(11, v2::ObservationStatusToV2(Str(o, "status")));
    HIE_ASSIGN_OR_RETURN(std::string eff,
                         Time(At(o, "effectiveDateTime"), ptr + "/effectiveDateTime"));
    s.Set(14, eff);
    s.Set(16, EachRep(At(o, "performer"), [](const json& x) { return v2::WriteXCN(x); }));
    const json& notes = At(o, "note");
    if (notes.is_array()) {
      for (const auto& n : notes) {
        const std::string text = Str(n, "text");
        if (!text.empty()) {
          AddNte(text);
        }
      }
    }
    return Status::Ok();
  }

  Status WriteDg1(const json& c) {
    Segment& s = Add("DG1");
    s.Set(1, std::to_string(++dg1_count_));
    const json& code = At(c, "code");
    s.Set(3, v2::WriteCE(code));
    const json& coding = At(code, "coding");
    std::string text = Str(code, "text");
    if (coding.is_array() && !coding.empty() && !Str(coding[0], "display").empty()) {
      text = Str(coding[0], "display");
    }
    s.Set(4, Esc(text));
    HIE_ASSIGN_OR_RETURN(std::string rec, Time(At(c, "recordedDate"), ptr_ + "/recordedDate"));
    s.Set(5, rec);
    const json& cat = At(c, "category");
    if (cat.is_array() && !cat.empty()) {
      s.Set(6, Esc(FirstCode(cat[0])));
    }
    return Status::Ok();
  }

  static std::string Money(const json& m) {
    if (!m.is_object()) {
      return {};
    }
    const std::string v = GetDecimal(m, "value");
    if (v.empty()) {
      return {};
    }
    const std::string cur = Str(m, "currency");
    return Esc(v) + (cur.empty() ? "" : "&" + Esc(cur));
  }

  Segment& Ft1(const json& x, const json& cc, const std::string& type) {
    Segment& s = Add("FT1");
    s.Set(1, std::to_string(++ft1_count_));
    if (const json* id = FindExtension(x, kTransactionIdExtension); id && id->is_string()) {
      s.Set(2, Esc(id->get<std::string>()));
    }
    s.Set(6, Esc(type));
    s.Set(7, v2::WriteCE(cc));
    const json& coding = At(cc, "coding");
    std::string text = Str(cc, "text");
    if (coding.is_array() && !coding.empty() && !Str(coding[0], "display").empty()) {
      text = Str(coding[0], "display");
    }
    s.Set(8, Esc(text));
    return s;
  }

  Status WriteFt1(const json& eob) {
    const json& items = At(eob, "item");
    if (items.is_array()) {
      for (size_t i = 0; i < items.size(); ++i) {
        const json& item = items[i];
        Segment& s = Ft1(item, At(item, "productOrService"), FirstCode(At(item, "revenue")));
        const json& period = At(item, "servicedPeriod");
        const std::string p = ptr_ + "/item/" + std::to_string(i) + "/servicedPeriod";
        HIE_ASSIGN_OR_RETURN(std::string start, Time(At(period, "start"), p + "/start"));
        HIE_ASSIGN_OR_RETURN(std::string end, Time(At(period, "end"), p + "/end"));
        s.Set(4, JoinComps({start, end}, '^'));
        s.Set(10, Esc(GetDecimal(At(item, "quantity"), "value")));
        s.Set(11, Money(At(item, "net")));
        s.Set(12, Money(At(item, "unitPrice")));
      }
    }
    const json& totals = At(eob, "total");
    if (totals.is_array()) {
      for (const auto& t : totals) {
        const json* type = FindExtension(t, kTransactionTypeExtension);
        if (type == nullptr || !type->is_string()) {
          continue;  // computed totals
        }
        Segment& s = Ft1(t, At(t, "category"), type->get<std::string>());
        s.Set(11, Money(At(t, "amount")));
        if (const json* when = FindExtension(t, kTransactionDateExtension)) {
          HIE_ASSIGN_OR_RETURN(std::string ts, Time(*when, ptr_ + "/total"));
          s.Set(4, ts);
        }
      }
    }
    return Status::Ok();
  }

  const CanonicalMessage& msg_;
  const V2WriteOptions& opt_;
  std::deque<Segment> segs_;  // deque: references stay valid
  std::set<std::string> in_report_;
  std::unordered_map<std::string, size_t> observation_index_;  // "Observation/<id>" -> entry
  std::string ptr_;
  size_t pid_count_ = 0, pv1_count_ = 0, obr_count_ = 0, obx_count_ = 0, nte_count_ = 0;
  size_t dg1_count_ = 0, ft1_count_ = 0;
};

}  // namespace

Result<std::string> CanonicalToV2(const CanonicalMessage& msg, const V2WriteOptions& options) {
  return Writer(msg, options).Run();
}

}  // namespace hie::canonical
