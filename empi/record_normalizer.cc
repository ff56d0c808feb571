#include "empi/record_normalizer.h"

#include <cstdlib>

#include "empi/fields.h"

namespace hie::empi {

Result<std::unique_ptr<RecordNormalizer>> RecordNormalizer::Create() {
  HIE_ASSIGN_OR_RETURN(auto names, NameNormalizer::Create());
  return std::unique_ptr<RecordNormalizer>(new RecordNormalizer(std::move(names)));
}

std::unique_ptr<RecordNormalizer> RecordNormalizer::Clone() const {
  return std::unique_ptr<RecordNormalizer>(new RecordNormalizer(names_->Clone()));
}

bool IdContradictsRecord(const IdCard& id, const BirthDate& birth, Sex sex) {
  if (id.kind != IdKind::kResident || !id.birth.known()) return false;
  if (sex != Sex::kUnknown && id.sex != Sex::kUnknown && sex != id.sex) return true;
  if (!birth.known()) return false;
  if (std::abs(birth.year - id.birth.year) > 1) return true;
  if (!birth.informative()) return birth.year != id.birth.year;
  if (birth.month == id.birth.day && birth.day == id.birth.month) return false;
  int diff = DaysFromCivil(birth.year, birth.month, birth.day) -
             DaysFromCivil(id.birth.year, id.birth.month, id.birth.day);
  return std::abs(diff) > 62;
}

Result<NormalizedRecord> RecordNormalizer::Normalize(const PersonRecord& in) {
  if (in.record_id.empty()) {
    return Status(ErrorCode::kRequiredMissing, "缺少记录标识 (record id missing)");
  }
  NormalizedRecord r;
  r.record_id = in.record_id;
  if (!in.name.empty() || !in.surname.empty() || !in.given_name.empty()) {
    auto name = names_->Normalize(in.name, in.surname, in.given_name);
    if (name.ok()) r.name = std::move(name).value();
  }
  if (!in.id_number.empty()) {
    auto id = NormalizeIdCard(in.id_number);
    if (id.ok()) r.id = std::move(id).value();
  }
  if (r.name.empty() && r.id.kind == IdKind::kNone) {
    return Status(ErrorCode::kRequiredMissing,
                  "记录既无可用姓名也无证件号码 (neither name nor id number)");
  }
  r.sex = ParseSex(in.sex);
  if (!in.birth_date.empty()) {
    auto b = ParseBirthDate(in.birth_date);
    if (b.ok()) r.birth = *b;
  }
  if (!in.phone.empty()) {
    auto p = NormalizePhone(in.phone);
    if (p.ok()) {
      r.phone = std::move(p).value();
    } else if (in.phone.find('@') != std::string::npos) {
      // An e-mail address (some data sets) is kept as an exact contact key.
      for (char c : in.phone) {
        if (c != ' ') r.phone.digits.push_back(static_cast<char>(std::tolower(c)));
      }
    }
  }
  if (!in.address.empty() || !in.township.empty() || !in.village.empty()) {
    r.address = NormalizeAddress(names_->Simplify(in.address), names_->Simplify(in.township),
                                 names_->Simplify(in.village));
  }
  if (r.id.kind == IdKind::kResident) {
    r.id_contradicts_record = IdContradictsRecord(r.id, r.birth, r.sex);
    if (r.id.checksum_ok && !r.id_contradicts_record) {
      if (!r.birth.informative() && (!r.birth.known() || r.birth.year == r.id.birth.year)) {
        r.birth = r.id.birth;
      }
      if (r.sex == Sex::kUnknown) r.sex = r.id.sex;
    }
  }
  return r;
}

}  // namespace hie::empi
