#include "tools/empi/labelled_csv.h"

#include <fstream>
#include <unordered_map>

namespace hie::empi::tools {

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, at_start = true;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"' && at_start) {
      quoted = true;
      at_start = false;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
      at_start = true;
    } else if (c == ' ' && at_start) {
      continue;
    } else if (c != '\r') {
      cur.push_back(c);
      at_start = false;
    }
  }
  out.push_back(cur);
  return out;
}

Result<std::vector<LabelledRecord>> ReadLabelled(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kNotFound, "无法打开文件 (cannot open file)", path);
  std::string line;
  if (!std::getline(in, line)) return Status(ErrorCode::kParseError, "空文件 (empty file)", path);
  const std::vector<std::string> header = SplitCsvLine(line);
  std::unordered_map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  enum class Format { kCounty, kFebrl, kSplink } format;
  if (col.count("person_id") && col.count("record_id")) {
    format = Format::kCounty;
  } else if (col.count("rec_id") && col.count("soc_sec_id")) {
    format = Format::kFebrl;
  } else if (col.count("unique_id") && col.count("cluster")) {
    format = Format::kSplink;
  } else {
    return Status(ErrorCode::kParseError, "无法识别的文件格式 (unknown file format)", path + ":1");
  }
  auto get = [&](const std::vector<std::string>& f, const char* name) -> std::string {
    auto it = col.find(name);
    return it != col.end() && it->second < f.size() ? f[it->second] : std::string();
  };
  std::vector<LabelledRecord> out;
  size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    auto f = SplitCsvLine(line);
    if (f.size() < header.size()) {
      return Status(ErrorCode::kParseError, "字段数不足 (too few fields)",
                    path + ":" + std::to_string(line_no));
    }
    LabelledRecord r;
    PersonRecord& p = r.record;
    switch (format) {
      case Format::kCounty:
        p.record_id = get(f, "record_id");
        r.true_person = get(f, "person_id");
        r.facility = get(f, "facility");
        p.name = get(f, "name");
        p.sex = get(f, "sex");
        p.birth_date = get(f, "birth_date");
        p.id_number = get(f, "id_number");
        p.phone = get(f, "phone");
        p.address = get(f, "address");
        break;
      case Format::kFebrl: {
        p.record_id = get(f, "rec_id");
        // rec-<N>-org / rec-<N>-dup-<k>: N is the entity.
        const std::string& id = p.record_id;
        size_t a = id.find('-'), b = id.find('-', a + 1);
        if (a == std::string::npos || b == std::string::npos) {
          return Status(ErrorCode::kParseError, "rec_id 格式错误 (bad rec_id)",
                        path + ":" + std::to_string(line_no));
        }
        r.true_person = id.substr(a + 1, b - a - 1);
        p.given_name = get(f, "given_name");
        p.surname = get(f, "surname");
        p.birth_date = get(f, "date_of_birth");
        p.id_number = get(f, "soc_sec_id");
        std::string street =
            get(f, "street_number") + " " + get(f, "address_1") + " " + get(f, "address_2");
        p.address = street + " " + get(f, "suburb") + " " + get(f, "postcode");
        p.township = get(f, "suburb");
        p.village = get(f, "address_1");
        p.phone = "";
        break;
      }
      case Format::kSplink:
        p.record_id = get(f, "unique_id");
        r.true_person = get(f, "cluster");
        p.given_name = get(f, "first_name");
        p.surname = get(f, "surname");
        p.birth_date = get(f, "dob");
        p.township = get(f, "city");
        p.phone = get(f, "email");
        break;
    }
    if (p.record_id.empty() || r.true_person.empty()) {
      return Status(ErrorCode::kParseError, "缺少记录标识或真实标识 (missing id or label)",
                    path + ":" + std::to_string(line_no));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace hie::empi::tools
