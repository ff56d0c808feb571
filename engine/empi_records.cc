#include "engine/empi_records.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

namespace hie {
namespace {

using nlohmann::json;

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// Component n of a repetition, unescaped and trimmed; "" for HL7's "" (null).
std::string Comp(std::string_view rep, const Er7Delimiters& d, size_t n, size_t sub = 0) {
  std::string_view c = Er7Piece(rep, d.component, n);
  if (sub > 0 && d.subcomponent != '\0') c = Er7Piece(c, d.subcomponent, sub);
  std::string v = Trim(Er7Unescape(c, d));
  return v == "\"\"" ? std::string() : v;
}

std::string Rep1(const Er7Message& msg, size_t seg, size_t field) {
  std::string_view f = msg.field(seg, field);
  return std::string(Er7Piece(f, msg.delimiters().repetition, 1));
}

std::vector<PatientIdentifier> ReadCx(const Er7Message& msg, size_t seg, size_t field) {
  const Er7Delimiters& d = msg.delimiters();
  std::vector<PatientIdentifier> out;
  std::string_view f = msg.field(seg, field);
  const size_t reps = Er7PieceCount(f, d.repetition);
  for (size_t r = 1; r <= reps; ++r) {
    std::string_view cx = Er7Piece(f, d.repetition, r);
    PatientIdentifier id;
    id.value = Comp(cx, d, 1);
    if (id.value.empty()) continue;
    id.authority = Comp(cx, d, 4, 1);
    id.type = Upper(Comp(cx, d, 5));
    out.push_back(std::move(id));
  }
  return out;
}

std::string LocalId(const std::vector<PatientIdentifier>& ids, const std::string& facility) {
  for (const auto& i : ids) {
    if (i.type == "MR") return i.value;
  }
  for (const auto& i : ids) {
    if (i.type.empty() && (i.authority.empty() || i.authority == facility)) return i.value;
  }
  return {};
}

json BirthJson(const empi::BirthDate& b) {
  return json::array({b.year, b.month, b.day, b.placeholder ? 1 : 0});
}
empi::BirthDate BirthFrom(const json& j) {
  empi::BirthDate b;
  if (!j.is_array() || j.size() != 4) return b;
  b.year = j[0].get<int>();
  b.month = j[1].get<int>();
  b.day = j[2].get<int>();
  b.placeholder = j[3].get<int>() != 0;
  return b;
}

}  // namespace

Result<PatientInput> ExtractPatient(const Er7Message& msg, const std::string& facility_id) {
  auto pid = msg.FindSegment("PID");
  if (!pid) {
    return Status(ErrorCode::kRequiredMissing, "缺少患者信息段 PID (required segment missing)",
                  "PID");
  }
  const Er7Delimiters& d = msg.delimiters();
  PatientInput in;
  in.identifiers = ReadCx(msg, *pid, 3);
  for (const auto& i : ReadCx(msg, *pid, 2)) in.identifiers.push_back(i);
  in.local_id = LocalId(in.identifiers, facility_id);
  for (const auto& i : in.identifiers) {
    if (i.type == "NI") {
      in.id_number = i.value;
      break;
    }
  }
  empi::PersonRecord& r = in.record;
  r.id_number = in.id_number;
  // PID-5: the whole name in 5.1, or family^given.
  const std::string name = Rep1(msg, *pid, 5);
  const std::string family = Comp(name, d, 1), given = Comp(name, d, 2);
  if (!given.empty()) {
    r.surname = family;
    r.given_name = given;
    r.name = family + given;
  } else {
    r.name = family;
  }
  r.birth_date = Comp(Rep1(msg, *pid, 7), d, 1);
  if (r.birth_date.size() > 8) r.birth_date.resize(8);  // YYYYMMDD of a TS
  r.sex = Comp(Rep1(msg, *pid, 8), d, 1);
  // PID-11: province (4), city (3), county (9), other (2), street (1).
  const std::string addr = Rep1(msg, *pid, 11);
  for (size_t c : {4, 3, 9, 2, 1}) r.address += Comp(addr, d, c);
  const std::string tel = Rep1(msg, *pid, 13);
  r.phone = Comp(tel, d, 1);
  if (r.phone.empty()) r.phone = Comp(tel, d, 12);
  if (auto mrg = msg.FindSegment("MRG")) {
    auto prior = ReadCx(msg, *mrg, 1);
    in.prior_local_id = LocalId(prior, facility_id);
    if (in.prior_local_id.empty() && !prior.empty()) in.prior_local_id = prior[0].value;
  }
  if (in.identifiers.empty() && r.name.empty()) {
    return Status(ErrorCode::kRequiredMissing,
                  "PID 中既无标识也无姓名 (PID names nobody: no identifier, no name)", "PID-3");
  }
  return in;
}

std::string SourceKey(const std::string& facility, const PatientInput& in, int64_t message_id) {
  if (!in.local_id.empty()) return "MR|" + facility + "|" + in.local_id;
  if (!in.id_number.empty()) return "NI|" + facility + "|" + Upper(in.id_number);
  return "MSG|" + std::to_string(message_id);
}

json RawToJson(const empi::PersonRecord& r) {
  json j = json::object();
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("name", r.name);
  put("surname", r.surname);
  put("given_name", r.given_name);
  put("sex", r.sex);
  put("birth_date", r.birth_date);
  put("id_number", r.id_number);
  put("phone", r.phone);
  put("address", r.address);
  return j;
}

std::string NormToJson(const empi::NormalizedRecord& r) {
  json j;
  j["r"] = r.record_id;
  j["n"] = json::array({r.name.text, r.name.surname, r.name.given, r.name.pinyin_surname,
                        r.name.pinyin_given, r.name.han ? 1 : 0});
  j["s"] = static_cast<int>(r.sex);
  j["b"] = BirthJson(r.birth);
  j["i"] = json::array({static_cast<int>(r.id.kind), r.id.number, r.id.checksum_ok ? 1 : 0,
                        r.id.upgraded_from_15 ? 1 : 0, BirthJson(r.id.birth),
                        static_cast<int>(r.id.sex)});
  j["c"] = r.id_contradicts_record ? 1 : 0;
  j["p"] = json::array({r.phone.digits, r.phone.mobile ? 1 : 0});
  j["a"] = json::array({r.address.full, r.address.township, r.address.village});
  return j.dump();
}

Result<empi::NormalizedRecord> NormFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::kStoreError, "EMPI 记录无法解析 (bad normalized record)");
  }
  try {
    empi::NormalizedRecord r;
    r.record_id = j.at("r").get<std::string>();
    const json& n = j.at("n");
    r.name.text = n[0].get<std::string>();
    r.name.surname = n[1].get<std::string>();
    r.name.given = n[2].get<std::string>();
    r.name.pinyin_surname = n[3].get<std::string>();
    r.name.pinyin_given = n[4].get<std::string>();
    r.name.han = n[5].get<int>() != 0;
    r.sex = static_cast<empi::Sex>(j.at("s").get<int>());
    r.birth = BirthFrom(j.at("b"));
    const json& i = j.at("i");
    r.id.kind = static_cast<empi::IdKind>(i[0].get<int>());
    r.id.number = i[1].get<std::string>();
    r.id.checksum_ok = i[2].get<int>() != 0;
    r.id.upgraded_from_15 = i[3].get<int>() != 0;
    r.id.birth = BirthFrom(i[4]);
    r.id.sex = static_cast<empi::Sex>(i[5].get<int>());
    r.id_contradicts_record = j.at("c").get<int>() != 0;
    r.phone.digits = j.at("p")[0].get<std::string>();
    r.phone.mobile = j.at("p")[1].get<int>() != 0;
    r.address.full = j.at("a")[0].get<std::string>();
    r.address.township = j.at("a")[1].get<std::string>();
    r.address.village = j.at("a")[2].get<std::string>();
    return r;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kStoreError,
                  std::string("EMPI 记录无法解析 (bad normalized record): ") + e.what());
  }
}

std::string_view SexCode(empi::Sex s) {
  return s == empi::Sex::kMale ? "M" : s == empi::Sex::kFemale ? "F" : "";
}

std::string BirthText(const empi::BirthDate& b) {
  if (!b.known()) return {};
  char buf[16];
  if (b.month == 0) {
    std::snprintf(buf, sizeof(buf), "%04d", b.year);
  } else if (b.day == 0) {
    std::snprintf(buf, sizeof(buf), "%04d-%02d", b.year, b.month);
  } else {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", b.year, b.month, b.day);
  }
  return buf;
}

json Evidence(const empi::FsModel& model, const empi::ComparisonVector& v) {
  static const char* kKeys[] = {"id", "name", "birth_date", "sex", "phone", "address"};
  json j = json::object();
  for (size_t f = 0; f < empi::kFieldCount; ++f) {
    const auto field = static_cast<empi::Field>(f);
    json e;
    e["level"] = v[f];
    e["label"] = std::string(empi::LevelLabel(field, v[f]));
    e["weight"] = std::round(model.Weight(field, v[f]) * 100) / 100;
    j[kKeys[f]] = e;
  }
  return j;
}

json GoldenRecord(int64_t person_id, const std::vector<EmpiSourceRow>& sources,
                  const std::vector<empi::NormalizedRecord>& norms) {
  json g = json::object();
  g["empi_id"] = EmpiId(person_id);
  g["source_count"] = sources.size();
  // Most recent first.
  std::vector<size_t> order(sources.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return sources[a].updated_at_ms != sources[b].updated_at_ms
               ? sources[a].updated_at_ms > sources[b].updated_at_ms
               : sources[a].id > sources[b].id;
  });
  auto from = [&](size_t i) { return sources[i].id; };
  // ID card.
  std::optional<size_t> card;
  for (size_t i : order) {
    const auto& n = norms[i];
    if (sources[i].card_reader && n.id.kind == empi::IdKind::kResident && n.id.checksum_ok) {
      card = i;
      break;
    }
  }
  if (!card) {
    for (size_t i : order) {
      const auto& n = norms[i];
      if (n.id.kind == empi::IdKind::kResident && n.id.checksum_ok && !n.id_contradicts_record) {
        card = i;
        break;
      }
    }
  }
  if (card) {
    g["id_number"] = norms[*card].id.number;
    g["id_number_from"] = from(*card);
    g["id_number_card_reader"] = sources[*card].card_reader;
  }
  // Name: the most complete.
  auto name_score = [&](size_t i) {
    const auto& n = norms[i].name;
    return (n.han ? 1000 : 0) + (!n.surname.empty() && !n.given.empty() ? 500 : 0) +
           static_cast<int>(n.text.size());
  };
  std::optional<size_t> best_name;
  for (size_t i : order) {
    if (norms[i].name.empty()) continue;
    if (!best_name || name_score(i) > name_score(*best_name)) best_name = i;
  }
  if (best_name) {
    const auto& n = norms[*best_name].name;
    g["name"] = n.text;
    g["surname"] = n.surname;
    g["given_name"] = n.given;
    g["pinyin"] = n.pinyin_surname + (n.pinyin_given.empty() ? "" : " " + n.pinyin_given);
    g["name_from"] = from(*best_name);
  }
  // Birth date and sex: the card's, else the most recent informative / known.
  if (card && norms[*card].id.birth.known()) {
    g["birth_date"] = BirthText(norms[*card].id.birth);
    g["birth_date_from"] = from(*card);
  } else {
    std::optional<size_t> b;
    for (size_t i : order) {
      if (norms[i].birth.informative()) {
        b = i;
        break;
      }
    }
    if (!b) {
      for (size_t i : order) {
        if (norms[i].birth.known()) {
          b = i;
          break;
        }
      }
    }
    if (b) {
      g["birth_date"] = BirthText(norms[*b].birth);
      g["birth_date_from"] = from(*b);
    }
  }
  if (card && norms[*card].id.sex != empi::Sex::kUnknown) {
    g["sex"] = std::string(SexCode(norms[*card].id.sex));
  } else {
    for (size_t i : order) {
      if (norms[i].sex != empi::Sex::kUnknown) {
        g["sex"] = std::string(SexCode(norms[i].sex));
        break;
      }
    }
  }
  for (size_t i : order) {
    if (!norms[i].address.full.empty()) {
      g["address"] = norms[i].address.full;
      if (!norms[i].address.township.empty()) g["township"] = norms[i].address.township;
      if (!norms[i].address.village.empty()) g["village"] = norms[i].address.village;
      g["address_from"] = from(i);
      break;
    }
  }
  for (size_t i : order) {
    if (!norms[i].phone.digits.empty()) {
      g["phone"] = norms[i].phone.digits;
      g["phone_from"] = from(i);
      break;
    }
  }
  return g;
}

std::string EmpiId(int64_t person_id) { return "E" + std::to_string(person_id); }

int64_t ParseEmpiId(std::string_view text) {
  if (text.size() < 2 || text.size() > 19 || (text[0] != 'E' && text[0] != 'e')) return 0;
  int64_t v = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace hie
