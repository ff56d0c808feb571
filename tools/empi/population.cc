#include "tools/empi/population.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <string_view>
#include <unordered_map>

#include "empi/fields.h"
#include "empi/lunar.h"
#include "empi/utf8.h"

namespace hie::empi::tools {
namespace {

struct Weighted {
  std::string_view value;
  double weight;
};

// Surnames with their approximate share (percent) of China's population,
// plus a tail of polyphonic and compound surnames.
constexpr Weighted kSurnames[] = {
    {"王", 7.12}, {"李", 7.08}, {"张", 6.68},   {"刘", 5.38},    {"陈", 4.53},    {"杨", 3.08},
    {"黄", 2.23}, {"赵", 2.00}, {"吴", 2.00},   {"周", 1.93},    {"徐", 1.45},    {"孙", 1.38},
    {"马", 1.29}, {"朱", 1.26}, {"胡", 1.16},   {"郭", 1.15},    {"何", 1.14},    {"林", 1.13},
    {"高", 1.08}, {"罗", 1.05}, {"郑", 0.97},   {"梁", 0.94},    {"谢", 0.87},    {"宋", 0.82},
    {"唐", 0.81}, {"许", 0.75}, {"韩", 0.75},   {"邓", 0.73},    {"冯", 0.73},    {"曹", 0.72},
    {"彭", 0.72}, {"曾", 0.69}, {"肖", 0.68},   {"田", 0.64},    {"董", 0.62},    {"潘", 0.60},
    {"袁", 0.60}, {"蔡", 0.59}, {"蒋", 0.59},   {"余", 0.58},    {"于", 0.58},    {"杜", 0.56},
    {"叶", 0.56}, {"程", 0.55}, {"魏", 0.53},   {"苏", 0.53},    {"吕", 0.52},    {"丁", 0.52},
    {"任", 0.51}, {"卢", 0.50}, {"姚", 0.48},   {"沈", 0.47},    {"钟", 0.46},    {"姜", 0.46},
    {"崔", 0.45}, {"谭", 0.44}, {"陆", 0.43},   {"范", 0.40},    {"汪", 0.40},    {"廖", 0.40},
    {"石", 0.39}, {"金", 0.38}, {"贾", 0.37},   {"夏", 0.36},    {"付", 0.35},    {"方", 0.35},
    {"邹", 0.33}, {"熊", 0.33}, {"白", 0.33},   {"孟", 0.32},    {"秦", 0.32},    {"邱", 0.32},
    {"侯", 0.31}, {"江", 0.30}, {"尹", 0.30},   {"薛", 0.28},    {"段", 0.27},    {"雷", 0.27},
    {"龙", 0.26}, {"黎", 0.26}, {"史", 0.26},   {"陶", 0.26},    {"贺", 0.25},    {"毛", 0.24},
    {"单", 0.05}, {"解", 0.03}, {"仇", 0.02},   {"查", 0.02},    {"区", 0.01},    {"朴", 0.01},
    {"翟", 0.08}, {"覃", 0.10}, {"欧阳", 0.05}, {"司马", 0.005}, {"诸葛", 0.003},
};

// Common given names by sex and era, most common first (frequency falls
// off with rank).
constexpr std::string_view kMaleOld[] = {"建国", "建华", "国强", "建军", "志强", "德华", "明",
                                         "军",   "勇",   "平",   "刚",   "国华", "志明", "海"};
constexpr std::string_view kMaleMid[] = {"伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超",
                                         "明", "刚", "辉", "鹏", "华", "飞", "波", "俊", "峰"};
constexpr std::string_view kMaleYoung[] = {"浩宇", "子轩", "宇轩", "梓轩", "浩然", "一鸣",
                                           "子豪", "俊杰", "宇",   "鑫",   "博文", "天佑"};
constexpr std::string_view kFemaleOld[] = {"秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英",
                                           "秀珍", "玉梅", "淑珍", "翠花", "兰英", "秀云"};
constexpr std::string_view kFemaleMid[] = {"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞",
                                           "平", "红", "玲", "燕", "梅", "萍", "英", "慧"};
constexpr std::string_view kFemaleYoung[] = {"子涵", "欣怡", "梓涵", "雨涵", "诗涵", "一诺",
                                             "雨桐", "可馨", "婷",   "倩",   "雪",   "佳怡"};

// Characters that given names are composed from.
constexpr std::string_view kMaleChars[] = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "辉", "鹏", "华",
    "飞", "鑫", "波", "宇", "浩", "建", "国", "志", "清", "庆", "海", "文", "林", "峰",
    "晨", "俊", "瑞", "嘉", "天", "子", "博", "永", "新", "家", "东", "光"};
constexpr std::string_view kFemaleChars[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "英", "兰", "红", "玲", "梅", "萍",
    "婷", "雪", "倩", "丹", "琳", "欣", "怡", "涵", "萱", "诗", "雨", "佳", "慧", "颖",
    "秀", "桂", "凤", "云", "淑", "翠", "晶", "美", "月", "春", "小", "晓"};

// Groups of characters read alike (same toneless pinyin): what a clerk
// typing from speech may pick instead.
constexpr std::string_view kHomophones[] = {
    "伟玮炜薇维唯", "芳方",       "丽莉俐立力利", "娜纳",     "敏民珉",   "静婧晶菁靖京",
    "艳燕妍彦雁",   "娟鹃",       "霞侠",         "英莹瑛颖", "兰岚蓝澜", "华桦骅",
    "平萍苹屏",     "红宏虹洪鸿", "玲铃灵凌",     "梅美玫",   "强蔷",     "磊蕾雷",
    "军君俊均峻",   "勇永咏涌",   "杰洁婕捷",     "涛韬滔",   "斌彬滨宾", "超朝",
    "明鸣铭",       "刚钢岗",     "辉慧惠晖",     "鹏朋",     "飞菲非",   "鑫欣新馨昕",
    "波博",         "宇雨玉语瑜", "浩昊皓",       "建健剑坚", "志智芝",   "清青庆晴",
    "桂贵",         "子梓紫",     "涵晗寒",       "怡宜依艺", "萱轩宣",   "林琳霖",
    "婷亭",         "雪学",       "晨辰",         "佳嘉家",   "瑞睿锐",   "文雯闻",
    "云芸",         "峰锋丰凤",   "小晓",         "春纯",     "月悦岳",   "秀绣",
    "东冬",         "光广",       "张章",         "王汪",     "李黎",     "刘柳",
    "杨阳",         "徐许",       "吴伍",         "肖萧",     "江姜蒋",   "黄皇",
    "程成",         "胡湖",       "周舟"};

// Characters that look alike (形近字).
constexpr std::string_view kLookAlike[] = {"王玉", "未末", "己已", "人入", "大太", "土士",
                                           "天夭", "晴睛", "杨扬", "明朋", "英莫", "玲怜",
                                           "丽丽", "红缸", "兰兰", "梅悔", "峰蜂", "辉挥"};

// Traditional forms a record may arrive in.
constexpr std::string_view kTraditional[] = {"张張", "伟偉", "丽麗", "华華", "刘劉", "陈陳",
                                             "杨楊", "黄黃", "赵趙", "吴吳", "红紅", "兰蘭",
                                             "国國", "军軍", "凤鳳", "云雲", "东東", "艳艷"};

constexpr std::string_view kTownshipStems[] = {
    "桃洪", "横板桥", "六都寨", "荷田", "高坪",   "西洋江", "岩口",   "司门前", "金石桥",
    "滩头", "周旺",   "羊古坳", "罗洪", "三阁司", "鸭田",   "小沙江", "麻塘山", "荷香桥"};
constexpr std::string_view kVillageChars[] = {
    "红", "星", "新", "民", "东", "西", "南", "北", "山", "田", "河", "塘", "桥", "岭",
    "冲", "湾", "坪", "溪", "竹", "林", "石", "枫", "杉", "花", "庄", "岩", "龙", "凤",
    "和", "平", "光", "明", "胜", "利", "丰", "青", "水", "口", "坳", "铺"};

constexpr std::string_view kPrefix = "湖南省邵阳市隆回县";
constexpr std::string_view kCountyCode = "430524";
constexpr std::string_view kOtherCodes[] = {"430521", "430522", "431102", "440301", "430102"};

struct Village {
  std::string township;  // e.g. 桃洪镇
  std::string name;      // e.g. 红星村
  std::vector<size_t> lineage_surnames;
};

struct Person {
  std::string id;
  std::string surname, given;
  Sex sex = Sex::kUnknown;
  int year = 0, month = 0, day = 0;
  std::string id_card;
  std::string own_phone;    // may be empty
  std::string home_phone;   // household contact
  std::string address;      // township + village + group + number
  std::string old_address;  // before moving (may be empty)
  size_t household = 0;
};

class Generator {
 public:
  explicit Generator(const PopulationOptions& o) : opt_(o), rng_(o.seed) {
    for (const auto& s : kSurnames) surname_weights_.push_back(s.weight);
    surname_dist_ =
        std::discrete_distribution<size_t>(surname_weights_.begin(), surname_weights_.end());
    for (std::string_view g : kHomophones) AddGroups(g, homophones_);
    for (std::string_view g : kLookAlike) AddGroups(g, lookalike_);
    for (std::string_view g : kTraditional) {
      auto cps = Chars(g);
      if (cps.size() == 2) traditional_[cps[0]] = cps[1];
    }
    MakeVillages();
  }

  std::vector<LabelledRecord> Run() {
    while (persons_.size() < opt_.persons) MakeHousehold();
    persons_.resize(opt_.persons);
    std::vector<LabelledRecord> out;
    std::geometric_distribution<int> extra(1.0 / opt_.records_per_person);
    for (size_t i = 0; i < persons_.size(); ++i) {
      const int n = 1 + std::min(extra(rng_), 7);
      for (int k = 0; k < n; ++k) out.push_back(MakeRecord(persons_[i], out.size()));
    }
    std::shuffle(out.begin(), out.end(), rng_);
    return out;
  }

 private:
  static std::u32string Chars(std::string_view s) {
    auto d = DecodeUtf8(s);
    return d.ok() ? *d : std::u32string{};
  }
  static void AddGroups(std::string_view g, std::unordered_map<char32_t, std::u32string>& map) {
    const std::u32string cps = Chars(g);
    for (char32_t c : cps) {
      std::u32string others;
      for (char32_t o : cps) {
        if (o != c) others.push_back(o);
      }
      if (!others.empty()) map[c] = others;
    }
  }
  double U() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int I(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T, size_t N>
  std::string Pick(const T (&arr)[N]) {
    return std::string(arr[I(0, N - 1)]);
  }
  template <size_t N>
  std::string PickRanked(const std::string_view (&arr)[N]) {
    // Zipf-like: rank r has weight 1 / (r + 1).
    double total = 0;
    for (size_t r = 0; r < N; ++r) total += 1.0 / (r + 1);
    double x = U() * total;
    for (size_t r = 0; r < N; ++r) {
      x -= 1.0 / (r + 1);
      if (x <= 0) return std::string(arr[r]);
    }
    return std::string(arr[N - 1]);
  }

  void MakeVillages() {
    for (std::string_view stem : kTownshipStems) {
      const std::string township = std::string(stem) + (U() < 0.6 ? "镇" : "乡");
      const int n = I(12, 24);
      for (int v = 0; v < n; ++v) {
        Village village;
        village.township = township;
        village.name = Pick(kVillageChars) + Pick(kVillageChars) + (U() < 0.9 ? "村" : "社区");
        const int lineages = I(1, 3);
        for (int l = 0; l < lineages; ++l) village.lineage_surnames.push_back(surname_dist_(rng_));
        villages_.push_back(std::move(village));
      }
    }
  }

  std::string Surname(const Village& v) {
    if (U() < 0.55)
      return std::string(kSurnames[v.lineage_surnames[I(0, v.lineage_surnames.size() - 1)]].value);
    return std::string(kSurnames[surname_dist_(rng_)].value);
  }

  std::string GivenName(Sex sex, int year, const std::string& generation_char) {
    if (!generation_char.empty() && U() < 0.5) {
      return generation_char + Pick(sex == Sex::kMale ? kMaleChars : kFemaleChars);
    }
    // The ranked lists give the most common names (伟, 芳, 秀英 ...) at a few
    // percent of their sex and era, a little above their real share.
    if (U() < 0.08) {
      if (sex == Sex::kMale) {
        return year < 1965   ? PickRanked(kMaleOld)
               : year < 2000 ? PickRanked(kMaleMid)
                             : PickRanked(kMaleYoung);
      }
      return year < 1965   ? PickRanked(kFemaleOld)
             : year < 2000 ? PickRanked(kFemaleMid)
                           : PickRanked(kFemaleYoung);
    }
    const auto& pool = sex == Sex::kMale ? kMaleChars : kFemaleChars;
    if (U() < 0.3) return Pick(pool);
    return Pick(pool) + Pick(pool);
  }

  std::string Phone() {
    static constexpr std::string_view kPrefixes[] = {"13", "15", "18", "17", "19", "14"};
    std::string p(kPrefixes[I(0, 5)]);
    for (int i = 0; i < 9; ++i) p.push_back(static_cast<char>('0' + I(0, 9)));
    return p;
  }

  std::string IdCard(const Person& p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d", p.year, p.month, p.day);
    std::string id(U() < 0.9 ? kCountyCode : kOtherCodes[I(0, 4)]);
    id += buf;
    int seq = I(0, 499) * 2 + (p.sex == Sex::kMale ? 1 : 0);
    std::snprintf(buf, sizeof buf, "%03d", seq);
    id += buf;
    id.push_back(IdCheckChar(id));
    return id;
  }

  void RandomDate(int year, Person& p) {
    p.year = year;
    p.month = I(1, 12);
    p.day = I(1, 28 + (p.month != 2 ? 2 : 0));
    if (!IsValidDate(p.year, p.month, p.day)) p.day = 28;
  }

  Person NewPerson(const Village& v, size_t household, Sex sex, int year, std::string surname,
                   const std::string& generation_char) {
    Person p;
    p.household = household;
    p.sex = sex;
    RandomDate(year, p);
    p.surname = std::move(surname);
    p.given = GivenName(sex, year, generation_char);
    p.id_card = IdCard(p);
    if (year <= 2006 && U() < (year < 1950 ? 0.5 : 0.9)) p.own_phone = Phone();
    return p;
  }

  void MakeHousehold() {
    const size_t household = household_count_++;
    const Village& v = villages_[I(0, villages_.size() - 1)];
    const std::string address =
        v.township + v.name + std::to_string(I(1, 12)) + "组" + std::to_string(I(1, 60)) + "号";
    std::vector<Person> members;
    const int head_year = I(1938, 1998);
    const std::string family = Surname(v);
    members.push_back(NewPerson(v, household, Sex::kMale, head_year, family, ""));
    if (U() < 0.85) {  // spouse, another surname
      std::string s = std::string(kSurnames[surname_dist_(rng_)].value);
      members.push_back(NewPerson(v, household, Sex::kFemale,
                                  std::clamp(head_year + I(-3, 6), 1936, 2000), s, ""));
    }
    const int kids = head_year > 1990 ? I(0, 2) : I(0, 3);
    std::string generation = U() < 0.4 ? Pick(kMaleChars) : "";
    for (int k = 0; k < kids; ++k) {
      int year = std::min(head_year + I(20, 38), 2024);
      Sex sex = U() < 0.52 ? Sex::kMale : Sex::kFemale;
      members.push_back(NewPerson(v, household, sex, year, family, generation));
      if (U() < 0.03) {  // twins: same birth date, different given name
        Person twin = NewPerson(v, household,
                                U() < 0.5 ? sex : (sex == Sex::kMale ? Sex::kFemale : Sex::kMale),
                                year, family, members.back().given.substr(0, 3));
        twin.month = members.back().month;
        twin.day = members.back().day;
        if (twin.given == members.back().given) twin.given = GivenName(twin.sex, year, "");
        twin.id_card = IdCard(twin);
        members.push_back(twin);
      }
    }
    if (head_year < 1975 && U() < 0.3) {  // a grandparent lives with them
      Sex sex = U() < 0.6 ? Sex::kFemale : Sex::kMale;
      std::string s =
          sex == Sex::kMale ? family : std::string(kSurnames[surname_dist_(rng_)].value);
      members.push_back(NewPerson(v, household, sex, std::max(1920, head_year - I(20, 32)), s, ""));
    }
    const std::string home_phone = !members[0].own_phone.empty() ? members[0].own_phone : Phone();
    std::string old_address;
    if (U() < 0.06) {
      const Village& ov = villages_[I(0, villages_.size() - 1)];
      old_address = ov.township + ov.name + std::to_string(I(1, 12)) + "组";
    }
    for (Person& p : members) {
      p.home_phone = home_phone;
      p.address = address;
      p.old_address = old_address;
      p.id = "P" + std::to_string(persons_.size() + 1);
      persons_.push_back(std::move(p));
    }
    households_.push_back({});
  }

  // --- error injection -------------------------------------------------
  std::string ReplaceOne(const std::string& text,
                         const std::unordered_map<char32_t, std::u32string>& map, bool skip_first) {
    std::u32string cps = Chars(text);
    std::vector<size_t> slots;
    for (size_t i = skip_first ? 1 : 0; i < cps.size(); ++i) {
      if (map.count(cps[i])) slots.push_back(i);
    }
    if (slots.empty()) return text;
    size_t i = slots[I(0, slots.size() - 1)];
    const std::u32string& alts = map.at(cps[i]);
    cps[i] = alts[I(0, alts.size() - 1)];
    return EncodeUtf8(cps);
  }

  std::string NameOf(const Person& p, char facility, bool card_reader) {
    std::string surname = p.surname, given = p.given;
    if (!card_reader) {
      const double homophone = facility == 'V' ? 0.12 : facility == 'T' ? 0.08 : 0.03;
      const double lookalike = facility == 'V' ? 0.03 : facility == 'T' ? 0.02 : 0.005;
      if (U() < homophone) given = ReplaceOne(given, homophones_, false);
      if (U() < homophone / 6) surname = ReplaceOne(surname, homophones_, false);
      if (U() < lookalike) given = ReplaceOne(given, lookalike_, false);
    }
    std::string name = surname + given;
    if (U() < 0.02) name = ReplaceOne(name, traditional_map(), false);
    if (U() < 0.03) name = surname + (U() < 0.5 ? " " : "　") + given;
    return name;
  }
  const std::unordered_map<char32_t, std::u32string>& traditional_map() {
    if (trad_groups_.empty()) {
      for (auto [s, t] : traditional_) trad_groups_[s] = std::u32string(1, t);
    }
    return trad_groups_;
  }

  static std::string Date(int y, int m, int d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return buf;
  }

  std::string BirthOf(const Person& p, char facility, bool card_reader) {
    if (card_reader) return Date(p.year, p.month, p.day);
    const bool v = facility == 'V';
    const double r = U();
    double acc = 0;
    if (r < (acc += v ? 0.03 : 0.01)) return "";
    if (r < (acc += v ? 0.07 : 0.02)) return Date(p.year, 1, 1);  // placeholder
    if (r < (acc += v ? 0.02 : 0.005)) return std::to_string(p.year);
    if (r < (acc += v ? 0.10 : 0.04)) {  // the lunar-calendar birthday (农历生日)
      const LunarDate l = LunarCalendar::Get().FromGregorian(p.year, p.month, p.day);
      if (l.month != 0) {
        const int year = l.month > p.month && U() < 0.5 ? p.year - 1 : p.year;
        return Date(year, l.month, l.day == 30 && l.month == 2 ? 29 : l.day);
      }
    }
    if (r < (acc += v ? 0.02 : 0.015) && p.day <= 12 && p.day != p.month) {
      return Date(p.year, p.day, p.month);  // day/month swap
    }
    if (U() < 0.3) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04d%02d%02d", p.year, p.month, p.day);
      return buf;
    }
    return Date(p.year, p.month, p.day);
  }

  std::string IdTypo(std::string id) {
    if (U() < 0.7) {
      size_t i = I(0, 16);
      char c;
      do c = static_cast<char>('0' + I(0, 9));
      while (c == id[i]);
      id[i] = c;
    } else {
      size_t i = I(0, 15);
      if (id[i] == id[i + 1])
        id[i + 1] = id[i + 1] == '9' ? '0' : id[i + 1] + 1;
      else
        std::swap(id[i], id[i + 1]);
    }
    return id;
  }

  std::string IdOf(const Person& p, char facility, bool card_reader, size_t self) {
    const double present = facility == 'V' ? 0.35 : facility == 'T' ? 0.8 : 0.97;
    if (!card_reader && U() >= present) return "";
    std::string id = p.id_card;
    if (!card_reader) {
      const double typo = facility == 'V' ? 0.06 : facility == 'T' ? 0.04 : 0.01;
      const double relative = facility == 'V' ? 0.03 : 0.01;
      if (U() < relative) {  // a household member's card
        for (int tries = 0; tries < 4; ++tries) {
          size_t j = self + I(-3, 3);
          if (j < persons_.size() && j != self && persons_[j].household == p.household) {
            return persons_[j].id_card;
          }
        }
      }
      if (U() < typo) id = IdTypo(id);
      if (p.year < 1980 && facility == 'V' && U() < 0.15) {
        id = id.substr(0, 6) + id.substr(8, 9);  // old 15-digit number
      }
    }
    if (id.back() == 'X' && U() < 0.4) id.back() = 'x';
    if (U() < 0.03) id = id.substr(0, 6) + " " + id.substr(6, 8) + " " + id.substr(14);
    return id;
  }

  std::string PhoneOf(const Person& p, char facility) {
    const double missing = facility == 'V' ? 0.2 : 0.1;
    if (U() < missing) return "";
    std::string phone = facility == 'V' || p.own_phone.empty() ? p.home_phone : p.own_phone;
    if (facility != 'V' && U() < 0.2) phone = p.home_phone;
    if (U() < 0.04) phone = Phone();  // changed number
    if (U() < 0.04)
      phone = "+86 " + phone.substr(0, 3) + " " + phone.substr(3, 4) + " " + phone.substr(7);
    return phone;
  }

  std::string AddressOf(const Person& p, char facility) {
    std::string a = !p.old_address.empty() && U() < 0.5 ? p.old_address : p.address;
    if (facility == 'V' && U() < 0.5) {
      // "城西村3组": the clinic knows the township.
      size_t pos = a.find("镇");
      if (pos == std::string::npos) pos = a.find("乡");
      if (pos != std::string::npos) a = a.substr(pos + 3);
    }
    if (facility != 'V' && U() < 0.4) a = std::string(kPrefix) + a;
    if (U() < 0.03) a = "";
    return a;
  }

  LabelledRecord MakeRecord(const Person& p, size_t n) {
    const double f = U();
    const char facility = f < 0.45 ? 'V' : f < 0.80 ? 'T' : 'C';
    const bool card_reader = facility == 'C' && U() < 0.85;
    const size_t self = static_cast<size_t>(std::stoul(p.id.substr(1))) - 1;
    LabelledRecord r;
    r.true_person = p.id;
    r.facility =
        facility == 'C' ? "C0" : std::string(1, facility) + std::to_string(p.household % 97);
    r.record.record_id = "R" + std::to_string(n + 1);
    r.record.name = NameOf(p, facility, card_reader);
    const bool sex_missing = !card_reader && U() < 0.05;
    r.record.sex = sex_missing ? "" : (p.sex == Sex::kMale ? "男" : "女");
    if (!card_reader && U() < 0.003) r.record.sex = p.sex == Sex::kMale ? "女" : "男";
    r.record.birth_date = BirthOf(p, facility, card_reader);
    r.record.id_number = IdOf(p, facility, card_reader, self);
    r.record.phone = PhoneOf(p, facility);
    r.record.address = AddressOf(p, facility);
    return r;
  }

  PopulationOptions opt_;
  std::mt19937_64 rng_;
  std::vector<double> surname_weights_;
  std::discrete_distribution<size_t> surname_dist_;
  std::unordered_map<char32_t, std::u32string> homophones_, lookalike_, trad_groups_;
  std::unordered_map<char32_t, char32_t> traditional_;
  std::vector<Village> villages_;
  std::vector<Person> persons_;
  std::vector<int> households_;
  size_t household_count_ = 0;
};

}  // namespace

std::vector<LabelledRecord> GeneratePopulation(const PopulationOptions& options) {
  return Generator(options).Run();
}

std::string ToCsv(const std::vector<LabelledRecord>& records) {
  std::string out = "record_id,person_id,facility,name,sex,birth_date,id_number,phone,address\n";
  for (const auto& r : records) {
    const auto& p = r.record;
    for (const std::string* f : {&p.record_id, &r.true_person, &r.facility, &p.name, &p.sex,
                                 &p.birth_date, &p.id_number, &p.phone, &p.address}) {
      out += *f;
      out.push_back(',');
    }
    out.back() = '\n';
  }
  return out;
}

}  // namespace hie::empi::tools
