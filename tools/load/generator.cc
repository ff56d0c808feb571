#include "tools/load/generator.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>
#include <vector>

namespace hie::load {

namespace {

constexpr std::array<const char*, 24> kFamilyNames = {
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周",   "吴",   "徐",   "孙",
    "胡", "朱", "高", "林", "何", "郭", "马", "罗", "欧阳", "诸葛", "司马", "上官"};
constexpr std::array<const char*, 24> kGivenChars = {
    "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋",
    "勇", "艳", "杰", "娟", "涛", "明", "超", "兰", "霞", "平", "刚", "桂"};

// Real county-level division codes (GB/T 2260) for the ID card prefix.
struct Region {
  const char* code;
  const char* province;
  const char* city;
  const char* county;
  const char* zip;
};
constexpr std::array<Region, 6> kRegions = {{
    {"330185", "浙江省", "杭州市", "临安区", "311300"},
    {"411424", "河南省", "商丘市", "柘城县", "476200"},
    {"430521", "湖南省", "邵阳市", "邵东市", "422800"},
    {"341222", "安徽省", "阜阳市", "太和县", "236600"},
    {"511381", "四川省", "南充市", "阆中市", "637400"},
    {"622421", "甘肃省", "定西市", "通渭县", "743300"},
}};
constexpr std::array<const char*, 6> kTowns = {"城关镇", "东湖乡", "南山镇",
                                               "青石乡", "白马镇", "柳溪乡"};

// A CBC panel: local code, Chinese name, unit, reference range, mean, spread.
struct LabItem {
  const char* code;
  const char* name;
  const char* unit;
  double low;
  double high;
  int decimals;
};
constexpr std::array<LabItem, 10> kCbc = {{
    {"WBC", "白细胞计数", "10*9/L", 3.5, 9.5, 2},
    {"RBC", "红细胞计数", "10*12/L", 4.3, 5.8, 2},
    {"HGB", "血红蛋白", "g/L", 130, 175, 0},
    {"HCT", "红细胞压积", "%", 40, 50, 1},
    {"PLT", "血小板计数", "10*9/L", 125, 350, 0},
    {"MCV", "平均红细胞体积", "fL", 82, 100, 1},
    {"MCH", "平均红细胞血红蛋白含量", "pg", 27, 34, 1},
    {"MCHC", "平均红细胞血红蛋白浓度", "g/L", 316, 354, 0},
    {"NEUT%", "中性粒细胞百分比", "%", 40, 75, 1},
    {"LYMPH%", "淋巴细胞百分比", "%", 20, 50, 1},
}};

std::string Base36(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[v % 36]);
    v /= 36;
  } while (v != 0);
  return out;
}

// Joins fields 1..N of a segment; fields not given stay empty.
std::string Segment(std::string_view name, std::vector<std::pair<int, std::string>> fields) {
  int last = 0;
  for (const auto& [i, v] : fields) last = std::max(last, i);
  std::vector<std::string> cells(last + 1);
  for (auto& [i, v] : fields) cells[i] = std::move(v);
  std::string out(name);
  for (int i = 1; i <= last; ++i) {
    out.push_back('|');
    out += cells[i];
  }
  out.push_back('\r');
  return out;
}

// "V" + 12 -> "V12". (Appending avoids a GCC 12 -Wrestrict false alarm on
// const char* + std::string temporaries.)
std::string Numbered(const char* prefix, uint64_t n) {
  std::string out(prefix);
  out.append(std::to_string(n));
  return out;
}

std::string FormatValue(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string FormatRange(const LabItem& item) {
  return FormatValue(item.low, item.decimals == 0 ? 0 : 1) + "-" +
         FormatValue(item.high, item.decimals == 0 ? 0 : 1);
}

}  // namespace

bool ParseTypeMix(std::string_view text, TypeMix* out) {
  std::string t(text);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "adt")
    *out = TypeMix::kAdt;
  else if (t == "oru")
    *out = TypeMix::kOru;
  else if (t == "mix")
    *out = TypeMix::kMix;
  else
    return false;
  return true;
}

char IdCardCheckChar(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

bool IsValidIdCard(std::string_view id) {
  if (id.size() != 18) return false;
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') return false;
  }
  return id[17] == IdCardCheckChar(id.substr(0, 17));
}

std::string DefaultRunId() {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  return Base36(static_cast<uint64_t>(secs)) + Base36(static_cast<uint64_t>(getpid()));
}

std::string ControlId(std::string_view run_id, int conn, uint64_t seq) {
  std::string out(run_id);
  out += '-';
  out += std::to_string(conn);
  out += '-';
  out += std::to_string(seq);
  return out;
}

MessageGenerator::MessageGenerator(GeneratorOptions options)
    : options_(std::move(options)), rng_(options_.seed) {
  int64_t ms =
      options_.now_millis != 0 ? options_.now_millis : 1'767'225'600'000;  // 2026-01-01 UTC
  // Chinese hospitals stamp local time (UTC+8) without an offset.
  time_t t = static_cast<time_t>(ms / 1000 + 8 * 3600);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  timestamp_ = buf;
}

MessageKind MessageGenerator::KindFor(uint64_t seq) const {
  switch (options_.mix) {
    case TypeMix::kAdt:
      return MessageKind::kAdtA04;
    case TypeMix::kOru:
      return MessageKind::kOruR01;
    case TypeMix::kMix:
      break;
  }
  return seq % 2 == 0 ? MessageKind::kAdtA04 : MessageKind::kOruR01;
}

std::string MessageGenerator::RandomIdCard() {
  const Region& r = kRegions[Uniform(kRegions.size())];
  char first17[18];
  std::snprintf(first17, sizeof first17, "%s%04d%02d%02d%03d", r.code,
                static_cast<int>(1940 + Uniform(80)), static_cast<int>(1 + Uniform(12)),
                static_cast<int>(1 + Uniform(28)), static_cast<int>(Uniform(1000)));
  std::string id(first17, 17);
  id.push_back(IdCardCheckChar(id));
  return id;
}

MessageGenerator::Person MessageGenerator::RandomPerson() {
  Person p;
  p.id_card = RandomIdCard();
  p.birth_date = p.id_card.substr(6, 8);
  p.sex = ((p.id_card[16] - '0') % 2 == 1) ? 'M' : 'F';  // GB 11643: odd = male
  std::string family = kFamilyNames[Uniform(kFamilyNames.size())];
  std::string given = kGivenChars[Uniform(kGivenChars.size())];
  if (Uniform(2) == 0) given += kGivenChars[Uniform(kGivenChars.size())];
  // Most Chinese HIS put the whole name in PID-5.1; some split it.
  p.name_field = Uniform(4) == 0 ? family + "^" + given : family + given;
  char mr[16];
  std::snprintf(mr, sizeof mr, "MR%08d", static_cast<int>(Uniform(100'000'000)));
  p.mr_number = mr;
  const Region* region = nullptr;
  for (const auto& r : kRegions) {
    if (p.id_card.compare(0, 6, r.code) == 0) region = &r;
  }
  p.address = std::string(region->county) + kTowns[Uniform(kTowns.size())] +
              std::to_string(1 + Uniform(200)) + "号^^" + region->city + "^" + region->province +
              "^" + region->zip + "^CHN";
  char phone[16];
  static constexpr char kSecond[] = "3589";
  std::snprintf(phone, sizeof phone, "1%c%09d", kSecond[Uniform(4)],
                static_cast<int>(Uniform(1'000'000'000)));
  p.phone = phone;
  return p;
}

std::string MessageGenerator::RandomDoctor() {
  std::string out = Numbered("D", 100 + Uniform(900));
  out.push_back('^');
  out.append(kFamilyNames[Uniform(20)]);
  out.append(kGivenChars[Uniform(kGivenChars.size())]);
  return out;
}

std::string MessageGenerator::Msh(std::string_view type, std::string_view control_id) const {
  // MSH-1 is the '|' itself, so the field after "MSH" is MSH-2.
  std::string out = "MSH|^~\\&|HIS|" + options_.facility + "|HIE|COUNTY|" + timestamp_ + "||";
  out += type;
  out += '|';
  out += control_id;
  out += "|P|2.5|||AL|NE|CHN|UNICODE UTF-8\r";
  return out;
}

std::string MessageGenerator::Pid(const Person& p) const {
  return Segment("PID",
                 {{1, "1"},
                  {3, p.mr_number + "^^^" + options_.facility + "^MR~" + p.id_card + "^^^NI^NI"},
                  {5, p.name_field},
                  {7, p.birth_date},
                  {8, std::string(1, p.sex)},
                  {11, p.address},
                  {13, p.phone}});
}

std::string MessageGenerator::AdtA04(std::string_view control_id) {
  Person p = RandomPerson();
  ++counter_;
  std::string out = Msh("ADT^A04^ADT_A01", control_id);
  out += Segment("EVN", {{1, "A04"}, {2, timestamp_}});
  out += Pid(p);
  out += Segment("PV1", {{1, "1"},
                         {2, "O"},
                         {3, "NKMZ^^^" + options_.facility + "^^^^^内科门诊"},
                         {7, RandomDoctor()},
                         {10, "MED"},
                         {19, Numbered("V", counter_)},
                         {44, timestamp_}});
  return out;
}

std::string MessageGenerator::OruR01(std::string_view control_id) {
  Person p = RandomPerson();
  ++counter_;
  std::string out = Msh("ORU^R01^ORU_R01", control_id);
  out += Pid(p);
  out += Segment("OBR", {{1, "1"},
                         {2, Numbered("P", counter_)},
                         {3, Numbered("F", counter_)},
                         {4, "CBC^血常规^L"},
                         {7, timestamp_},
                         {14, timestamp_},
                         {15, "BLD^血液"},
                         {16, RandomDoctor()},
                         {22, timestamp_},
                         {24, "LAB"},
                         {25, "F"}});
  std::normal_distribution<double> z(0.0, 1.0);
  for (size_t i = 0; i < kCbc.size(); ++i) {
    const LabItem& item = kCbc[i];
    // Normal around the middle of the range; about 10% fall outside it.
    double mid = (item.low + item.high) / 2, half = (item.high - item.low) / 2;
    double value = std::max(0.0, mid + z(rng_) * half / 1.645);
    std::string shown = FormatValue(value, item.decimals);
    double rounded = std::stod(shown);
    const char* flag = rounded < item.low ? "L" : rounded > item.high ? "H" : "N";
    out += Segment("OBX", {{1, std::to_string(i + 1)},
                           {2, "NM"},
                           {3, std::string(item.code) + "^" + item.name + "^L"},
                           {5, shown},
                           {6, item.unit},
                           {7, FormatRange(item)},
                           {8, flag},
                           {11, "F"},
                           {14, timestamp_}});
  }
  return out;
}

std::string MessageGenerator::Build(MessageKind kind, std::string_view control_id) {
  return kind == MessageKind::kAdtA04 ? AdtA04(control_id) : OruR01(control_id);
}

}  // namespace hie::load
