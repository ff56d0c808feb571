// TerminologyBuilder: CSV files -> an immutable TerminologySnapshot.
// Every refusal names the file and line and says why, in Chinese with the
// English term, because the reader is county IT fixing a spreadsheet.
#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <system_error>

#include "terminology/csv.h"
#include "terminology/internal.h"
#include "terminology/terminology.h"

namespace hie {
using namespace term_internal;

namespace {

enum class FileKind { kSystems, kCodeSystem, kValueSet, kConceptMap };

constexpr std::array<std::string_view, 6> kMapHeader = {"source_system",  "source_code",
                                                        "source_display", "target_system",
                                                        "target_code",    "target_display"};

struct ColumnSpec {
  std::string_view name;
  bool required;
};

constexpr ColumnSpec kSystemsColumns[] = {
    {"system", true},      {"oid", false},     {"aliases", false}, {"title", false},
    {"code_width", false}, {"edition", false}, {"note", false}};
constexpr ColumnSpec kCodeSystemColumns[] = {
    {"system", true},      {"code", true},     {"display", true},
    {"display_en", false}, {"parent", false},  {"status", false},
    {"unit", false},       {"edition", false}, {"note", false}};
constexpr ColumnSpec kValueSetColumns[] = {
    {"value_set", true}, {"system", true}, {"code", true}, {"display", false}, {"note", false}};

std::string Where(std::string_view file, int line) {
  return std::string(file) + ":" + std::to_string(line);
}

Status RowError(std::string_view file, int line, std::string message) {
  return Status(ErrorCode::kConfigError, std::move(message), Where(file, line));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool IsLocal(std::string_view name) {
  return name.size() > 6 && EqualsCi(name.substr(0, 6), "local:");
}

struct PendingFile {
  std::string file;
  FileKind kind = FileKind::kCodeSystem;
  CsvTable table;
  std::vector<int> columns;  // per ColumnSpec (or map column): index in the row, -1 absent
};

}  // namespace

struct TerminologyBuilder::Impl {
  std::vector<PendingFile> files;
  std::unique_ptr<TerminologySnapshot> snap = std::make_unique<TerminologySnapshot>();
  // Where each concept / mapping was first defined, for duplicate messages.
  std::vector<std::string> concept_where;
  std::vector<std::string> mapping_where;
  std::vector<size_t> concepts_per_system;

  TerminologySnapshot& s() { return *snap; }

  SystemId Find(std::string_view name) const { return snap->FindSystem(name); }

  // Makes `key` name system `id`; refuses a key that already names another.
  Status AddKey(SystemId id, std::string_view key, std::string_view file, int line) {
    key = TrimView(key);
    if (key.empty()) return Status::Ok();
    TerminologySnapshot& t = s();
    const std::string_view stored = t.arena_.Add(key);
    const auto pos = static_cast<uint32_t>(t.system_keys_.size());
    const uint32_t existing = t.system_index_.Insert(
        HashNameCi(stored), pos, [&](uint32_t v) { return EqualsCi(t.system_keys_[v], stored); });
    if (existing == TerminologySnapshot::Index::kNone) {
      t.system_keys_.push_back(stored);
      t.system_key_ids_.push_back(id);
      return Status::Ok();
    }
    if (t.system_key_ids_[existing] != id) {
      return RowError(file, line,
                      "别名冲突：'" + std::string(key) + "' 已指代代码系统 '" +
                          t.systems_[t.system_key_ids_[existing]].name + "' (alias conflict)");
    }
    return Status::Ok();
  }

  SystemId Ensure(std::string_view name) {
    name = TrimView(name);
    SystemId id = Find(name);
    if (id != kNoSystem) return id;
    id = static_cast<SystemId>(s().systems_.size());
    SystemInfo info;
    info.name = std::string(name);
    info.local = IsLocal(name);
    s().systems_.push_back(std::move(info));
    concepts_per_system.push_back(0);
    (void)AddKey(id, name, "", 0);  // cannot conflict: Find() missed
    return id;
  }

  std::string_view Norm(SystemId sys, std::string_view code, char* buf) {
    return s().Normalize(sys, code, buf);
  }

  Status ApplySystems(const PendingFile& f);
  Status ApplyCodeSystem(const PendingFile& f);
  Status ApplyValueSet(const PendingFile& f);
  Status ApplyConceptMap(const PendingFile& f);
};

namespace {

std::string_view Col(const CsvRow& row, const std::vector<int>& cols, size_t k) {
  const int i = cols[k];
  if (i < 0) return {};
  return TrimView(row.fields[static_cast<size_t>(i)]);
}

Status ParseWidth(std::string_view text, int* width, std::string_view file, int line) {
  if (text.empty()) return Status::Ok();
  if (EqualsCi(text, "numeric")) {
    *width = -1;
    return Status::Ok();
  }
  int w = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || w > 100) {
      w = -1;
      break;
    }
    w = w * 10 + (c - '0');
  }
  if (w < 1 || w > 32) {
    return RowError(file, line,
                    "代码宽度 code_width 应为 1-32 的整数或 numeric，实际为 '" + std::string(text) +
                        "' (invalid code width)");
  }
  *width = w;
  return Status::Ok();
}

}  // namespace

Status TerminologyBuilder::Impl::ApplySystems(const PendingFile& f) {
  for (const CsvRow& row : f.table.rows) {
    const std::string_view name = Col(row, f.columns, 0);
    const std::string_view oid = Col(row, f.columns, 1);
    if (name.empty()) {
      return RowError(f.file, row.line, "代码系统名称为空 (empty system name)");
    }
    SystemId id = Find(name);
    if (id == kNoSystem && !oid.empty()) id = Find(oid);
    if (id == kNoSystem) id = Ensure(name);
    HIE_RETURN_IF_ERROR(AddKey(id, name, f.file, row.line));
    SystemInfo& info = s().systems_[id];
    if (!oid.empty()) {
      if (!info.oid.empty() && info.oid != oid) {
        return RowError(f.file, row.line,
                        "代码系统 '" + info.name + "' 的 OID 已声明为 " + info.oid + "，此处为 " +
                            std::string(oid) + " (conflicting OID)");
      }
      HIE_RETURN_IF_ERROR(AddKey(id, oid, f.file, row.line));
      info.oid = std::string(oid);
    }
    std::string_view aliases = Col(row, f.columns, 2);
    while (!aliases.empty()) {
      const size_t bar = aliases.find('|');
      const std::string_view alias = TrimView(aliases.substr(0, bar));
      if (!alias.empty()) {
        HIE_RETURN_IF_ERROR(AddKey(id, alias, f.file, row.line));
        if (!EqualsCi(alias, info.name)) s().systems_[id].aliases.emplace_back(alias);
      }
      aliases = bar == std::string_view::npos ? std::string_view() : aliases.substr(bar + 1);
    }
    SystemInfo& info2 = s().systems_[id];
    if (const auto title = Col(row, f.columns, 3); !title.empty()) info2.title = title;
    HIE_RETURN_IF_ERROR(ParseWidth(Col(row, f.columns, 4), &info2.code_width, f.file, row.line));
    if (const auto edition = Col(row, f.columns, 5); !edition.empty()) info2.edition = edition;
  }
  return Status::Ok();
}

Status TerminologyBuilder::Impl::ApplyCodeSystem(const PendingFile& f) {
  TerminologySnapshot& t = s();
  for (const CsvRow& row : f.table.rows) {
    const std::string_view system = Col(row, f.columns, 0);
    const std::string_view code = Col(row, f.columns, 1);
    const std::string_view display = Col(row, f.columns, 2);
    if (system.empty()) return RowError(f.file, row.line, "代码系统名称为空 (empty system name)");
    if (code.empty()) return RowError(f.file, row.line, "代码为空 (empty code)");
    if (display.empty()) return RowError(f.file, row.line, "名称为空 (empty display)");
    const SystemId sys = Ensure(system);
    char buf[TerminologySnapshot::kNormBuf];
    const std::string_view norm = Norm(sys, code, buf);
    if (const Concept* prev = t.FindConcept(sys, norm)) {
      if (prev->display != display) {
        const auto i = static_cast<size_t>(prev - t.concepts_.data());
        return RowError(f.file, row.line,
                        "代码 " + std::string(code) + " 在代码系统 '" + t.systems_[sys].name +
                            "' 中重复且名称不同（首次定义于 " + concept_where[i] +
                            "） (duplicate code with a different display)");
      }
      continue;
    }
    Concept c;
    c.system = sys;
    c.code = t.arena_.Add(norm);
    c.display = t.arena_.Add(display);
    c.display_en = t.arena_.Add(Col(row, f.columns, 3));
    c.parent = t.arena_.Add(Col(row, f.columns, 4));
    c.status = t.arena_.Add(Col(row, f.columns, 5));
    c.unit = t.arena_.Add(Col(row, f.columns, 6));
    const auto idx = static_cast<uint32_t>(t.concepts_.size());
    t.concepts_.push_back(c);
    concept_where.push_back(Where(f.file, row.line));
    ++concepts_per_system[sys];
    t.concept_index_.Insert(HashKey(sys, 0, c.code), idx, [](uint32_t) { return false; });
  }
  return Status::Ok();
}

Status TerminologyBuilder::Impl::ApplyValueSet(const PendingFile& f) {
  TerminologySnapshot& t = s();
  for (const CsvRow& row : f.table.rows) {
    const std::string_view vs_name = Col(row, f.columns, 0);
    const std::string_view system = Col(row, f.columns, 1);
    const std::string_view code = Col(row, f.columns, 2);
    if (vs_name.empty()) return RowError(f.file, row.line, "值集名称为空 (empty value set name)");
    if (system.empty()) return RowError(f.file, row.line, "代码系统名称为空 (empty system name)");
    if (code.empty()) return RowError(f.file, row.line, "代码为空 (empty code)");
    uint32_t vs = 0;
    while (vs < t.value_sets_.size() && !EqualsCi(t.value_sets_[vs], vs_name)) ++vs;
    if (vs == t.value_sets_.size()) t.value_sets_.push_back(t.arena_.Add(vs_name));
    const SystemId sys = Ensure(system);
    char buf[TerminologySnapshot::kNormBuf];
    const std::string_view norm = Norm(sys, code, buf);
    TerminologySnapshot::MemberEntry m{vs, sys, {}};
    const uint64_t h = HashKey(sys, vs + 1, norm);
    if (t.member_index_.Find(h, [&](uint32_t v) {
          const auto& e = t.members_[v];
          return e.value_set == vs && e.system == sys && e.code == norm;
        }) != TerminologySnapshot::Index::kNone) {
      continue;
    }
    m.code = t.arena_.Add(norm);
    const auto idx = static_cast<uint32_t>(t.members_.size());
    t.members_.push_back(m);
    t.member_index_.Insert(h, idx, [](uint32_t) { return false; });
  }
  return Status::Ok();
}

Status TerminologyBuilder::Impl::ApplyConceptMap(const PendingFile& f) {
  TerminologySnapshot& t = s();
  for (const CsvRow& row : f.table.rows) {
    const auto field = [&](size_t k) { return TrimView(row.fields[k]); };
    const std::string_view ss = field(0), sc = field(1), sd = field(2);
    const std::string_view ts = field(3), tc = field(4);
    std::string_view td = field(5);
    if (ss.empty()) return RowError(f.file, row.line, "源代码系统为空 (empty source_system)");
    if (sc.empty()) return RowError(f.file, row.line, "源代码为空 (empty code: source_code)");
    if (tc.empty()) {
      if (td.empty()) {  // a blank left for county IT to fill in
        ++t.stats_.pending_rows;
        continue;
      }
      return RowError(f.file, row.line, "目标代码为空 (empty code: target_code)");
    }
    SystemId tid = Find(ts);
    if (tid == kNoSystem) {
      if (!IsLocal(ts)) {
        return RowError(f.file, row.line,
                        "未知的目标代码系统 '" + std::string(ts) +
                            "'：既未作为代码系统加载，也不在 systems.csv 别名表中 "
                            "(unknown system)");
      }
      tid = Ensure(ts);
    }
    const SystemId sid = Ensure(ss);
    if (sid == tid) {
      return RowError(f.file, row.line,
                      "源与目标为同一代码系统 '" + t.systems_[sid].name +
                          "' (source and target are the same system)");
    }
    char sbuf[TerminologySnapshot::kNormBuf];
    char tbuf[TerminologySnapshot::kNormBuf];
    const std::string_view scn = Norm(sid, sc, sbuf);
    const std::string_view tcn = Norm(tid, tc, tbuf);
    const Concept* target = t.FindConcept(tid, tcn);
    if (target == nullptr && concepts_per_system[tid] > 0) {
      t.stats_.warnings.push_back(Where(f.file, row.line) + ": 目标代码 " + std::string(tc) +
                                  " 不在代码系统 '" + t.systems_[tid].name +
                                  "' 中 (target code not in code system)");
    }
    if (td.empty() && target != nullptr) td = target->display;

    const uint64_t h = HashKey(sid, tid + 1, scn);
    const uint32_t prev = t.mapping_index_.Find(h, [&](uint32_t v) {
      const auto& e = t.mappings_[v];
      return e.source == sid && e.target == tid && e.source_code() == scn;
    });
    if (prev != TerminologySnapshot::Index::kNone) {
      const auto& e = t.mappings_[prev];
      if (e.target_code == tcn) continue;  // the same mapping twice: harmless
      return RowError(f.file, row.line,
                      "源代码 " + std::string(sc) + " (" + t.systems_[sid].name + ") 已在 " +
                          mapping_where[prev] + " 映射为 " + t.systems_[tid].name + " " +
                          std::string(e.target_code) + "，此处又映射为 " + std::string(tc) +
                          " (duplicate source code mapped to a different target)");
    }
    TerminologySnapshot::MapEntry e;
    e.source = sid;
    e.target = tid;
    const std::string_view stored_source = t.arena_.Add(scn);
    e.set_source_code(stored_source);
    e.target_code = target != nullptr ? target->code : t.arena_.Add(tcn);
    e.target_display =
        target != nullptr && td == target->display ? target->display : t.arena_.Add(td);
    const auto idx = static_cast<uint32_t>(t.mappings_.size());
    t.mappings_.push_back(e);
    mapping_where.push_back(Where(f.file, row.line));
    t.mapping_index_.Insert(h, idx, [](uint32_t) { return false; });

    // Remember the local display so Lookup(local:F, code) can show it.
    if (!sd.empty() && t.FindConcept(sid, scn) == nullptr) {
      Concept c;
      c.system = sid;
      c.code = stored_source;
      c.display = t.arena_.Add(sd);
      const auto ci = static_cast<uint32_t>(t.concepts_.size());
      t.concepts_.push_back(c);
      concept_where.push_back(Where(f.file, row.line));
      t.concept_index_.Insert(HashKey(sid, 0, c.code), ci, [](uint32_t) { return false; });
    }
  }
  return Status::Ok();
}

TerminologyBuilder::TerminologyBuilder() : impl_(std::make_unique<Impl>()) {}
TerminologyBuilder::~TerminologyBuilder() = default;

Status TerminologyBuilder::AddCsv(std::string_view text, std::string_view file) {
  HIE_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, file));
  PendingFile f;
  f.file = std::string(file);
  const int header_line = table.header.line;
  if (table.header.fields.empty()) {  // empty file (or comments only): nothing to load
    impl_->s().stats_.file_names.push_back(f.file);
    ++impl_->s().stats_.files;
    return Status::Ok();
  }
  std::vector<std::string> header;
  for (const std::string& h : table.header.fields) header.push_back(Lower(TrimView(h)));

  const auto has = [&](std::string_view name) {
    return std::find(header.begin(), header.end(), name) != header.end();
  };
  std::string expected;
  for (size_t k = 0; k < kMapHeader.size(); ++k)
    expected += (k ? "," : "") + std::string(kMapHeader[k]);

  const ColumnSpec* spec = nullptr;
  size_t spec_size = 0;
  if (header.size() == kMapHeader.size() &&
      std::equal(header.begin(), header.end(), kMapHeader.begin())) {
    f.kind = FileKind::kConceptMap;
  } else if (has("source_system") || has("source_code") || has("target_code")) {
    return RowError(
        file, header_line,
        "无法识别的表头：概念映射文件的表头必须严格为 " + expected + " (unknown header)");
  } else if (header[0] == "value_set") {
    f.kind = FileKind::kValueSet;
    spec = kValueSetColumns;
    spec_size = std::size(kValueSetColumns);
  } else if (has("code")) {
    f.kind = FileKind::kCodeSystem;
    spec = kCodeSystemColumns;
    spec_size = std::size(kCodeSystemColumns);
  } else if (has("system") && (has("oid") || has("aliases"))) {
    f.kind = FileKind::kSystems;
    spec = kSystemsColumns;
    spec_size = std::size(kSystemsColumns);
  } else {
    return RowError(file, header_line,
                    "无法识别的表头 (unknown header)：应为概念映射 " + expected +
                        "，代码系统 system,code,display,...，值集 value_set,system,code 或 "
                        "代码系统表 system,oid,aliases,... 之一 (see terminology/data/README.md)");
  }
  if (spec != nullptr) {
    f.columns.assign(spec_size, -1);
    for (size_t h = 0; h < header.size(); ++h) {
      size_t k = 0;
      while (k < spec_size && spec[k].name != header[h]) ++k;
      if (k == spec_size) {
        return RowError(file, header_line,
                        "无法识别的表头：未知列 '" + header[h] + "' (unknown header column)");
      }
      if (f.columns[k] >= 0) {
        return RowError(
            file, header_line,
            "无法识别的表头：列 '" + header[h] + "' 重复 (unknown header: duplicate column)");
      }
      f.columns[k] = static_cast<int>(h);
    }
    for (size_t k = 0; k < spec_size; ++k) {
      if (spec[k].required && f.columns[k] < 0) {
        return RowError(file, header_line,
                        "无法识别的表头：缺少列 '" + std::string(spec[k].name) +
                            "' (unknown header: missing column)");
      }
    }
  }
  for (const CsvRow& row : table.rows) {
    if (row.fields.size() != header.size()) {
      return RowError(file, row.line,
                      "列数不对：应为 " + std::to_string(header.size()) + " 列，实际 " +
                          std::to_string(row.fields.size()) + " 列 (wrong column count)");
    }
  }
  f.table = std::move(table);
  impl_->s().stats_.file_names.push_back(f.file);
  ++impl_->s().stats_.files;
  impl_->files.push_back(std::move(f));
  return Status::Ok();
}

Status TerminologyBuilder::AddFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(ErrorCode::kConfigError, "无法读取术语文件 (cannot read terminology file)",
                  path.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return AddCsv(ss.str(), path.string());
}

namespace {
std::vector<std::filesystem::path> CsvFilesUnder(const std::filesystem::path& dir,
                                                 std::error_code& ec) {
  std::vector<std::filesystem::path> out;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (Lower(it->path().extension().string()) == ".csv") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

Status TerminologyBuilder::AddDir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status(ErrorCode::kConfigError, "术语目录不存在 (terminology.dir not found)",
                  dir.string());
  }
  const auto files = CsvFilesUnder(dir, ec);
  if (ec) {
    return Status(ErrorCode::kConfigError,
                  "无法读取术语目录 (cannot read terminology.dir): " + ec.message(), dir.string());
  }
  for (const auto& path : files) HIE_RETURN_IF_ERROR(AddFile(path));
  return Status::Ok();
}

Result<std::shared_ptr<const TerminologySnapshot>> TerminologyBuilder::Build() {
  Impl& im = *impl_;
  size_t rows = 0;
  for (const PendingFile& f : im.files) rows += f.table.rows.size();
  im.s().concept_index_.Reserve(rows);
  im.s().mapping_index_.Reserve(rows);
  im.concept_where.reserve(rows);
  for (FileKind phase :
       {FileKind::kSystems, FileKind::kCodeSystem, FileKind::kValueSet, FileKind::kConceptMap}) {
    for (const PendingFile& f : im.files) {
      if (f.kind != phase) continue;
      switch (phase) {
        case FileKind::kSystems:
          HIE_RETURN_IF_ERROR(im.ApplySystems(f));
          break;
        case FileKind::kCodeSystem:
          HIE_RETURN_IF_ERROR(im.ApplyCodeSystem(f));
          break;
        case FileKind::kValueSet:
          HIE_RETURN_IF_ERROR(im.ApplyValueSet(f));
          break;
        case FileKind::kConceptMap:
          HIE_RETURN_IF_ERROR(im.ApplyConceptMap(f));
          break;
      }
    }
  }
  TerminologySnapshot& t = im.s();
  t.stats_.systems = t.systems_.size();
  t.stats_.concepts = t.concepts_.size();
  t.stats_.mappings = t.mappings_.size();
  t.stats_.value_set_members = t.members_.size();
  im.files.clear();
  std::shared_ptr<const TerminologySnapshot> out(std::move(im.snap));
  im.snap = std::make_unique<TerminologySnapshot>();
  im.concept_where.clear();
  im.mapping_where.clear();
  im.concepts_per_system.clear();
  return out;
}

Result<std::shared_ptr<const TerminologySnapshot>> LoadTerminologyDir(
    const std::filesystem::path& dir) {
  TerminologyBuilder builder;
  HIE_RETURN_IF_ERROR(builder.AddDir(dir));
  return builder.Build();
}

uint64_t TerminologyDirFingerprint(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto files = CsvFilesUnder(dir, ec);
  uint64_t h = 1469598103934665603ull;
  const auto feed = [&h](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  for (const auto& p : files) {
    feed(p.string());
    feed(std::to_string(std::filesystem::file_size(p, ec)));
    const auto mtime = std::filesystem::last_write_time(p, ec);
    feed(std::to_string(mtime.time_since_epoch().count()));
  }
  feed(std::to_string(files.size()));
  return h;
}

}  // namespace hie
