// `hie store migrate --from sqlite:PATH --to postgresql://...`: the CLI of
// store/migrate.h: a progress bar on stderr, the count check per table
// printed at the end.
// Exit codes: 0 all copied and counts equal; 1 failure or a count mismatch;
// 2 usage; 3 stopped by --limit (run again to continue).
// Thread rules: main thread only.
#include "engine/store_migrate.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "store/migrate.h"
#include "store/open.h"

namespace hie {
namespace {

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// One line, redrawn in place on a terminal; a line per tenth otherwise.
class ProgressBar {
 public:
  ProgressBar() : tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

  void Show(const MigrateProgress& p) {
    const double frac = p.total > 0 ? static_cast<double>(p.done) / p.total : 1.0;
    const int tenth = static_cast<int>(frac * 10);
    if (!tty_ && p.table == table_ && tenth == last_tenth_ && p.done < p.total) return;
    table_ = p.table;
    last_tenth_ = tenth;
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(frac * kWidth);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? p.this_run / secs : 0;
    char line[256];
    std::snprintf(line, sizeof(line), "迁移 (migrating) %-8s [%s%s] %3d%% %lld/%lld  %.0f/s",
                  p.table.c_str(), std::string(static_cast<size_t>(fill), '#').c_str(),
                  std::string(static_cast<size_t>(kWidth - fill), '.').c_str(),
                  static_cast<int>(frac * 100), static_cast<long long>(p.done),
                  static_cast<long long>(p.total), rate);
    std::cerr << (tty_ ? "\r" : "") << line << (tty_ ? "" : "\n") << std::flush;
  }
  void End() {
    if (tty_ && last_tenth_ >= 0) std::cerr << "\n";
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::string table_;
  int last_tenth_ = -1;
};

}  // namespace

int StoreMigrate(const StoreMigrateArgs& a) {
  if (!StartsWith(a.from, "sqlite:")) {
    std::cerr << "--from 应为 sqlite:PATH (must be sqlite:PATH): " << a.from << "\n";
    return 2;
  }
  if (!StartsWith(a.to, "postgresql://") && !StartsWith(a.to, "postgres://")) {
    std::cerr << "--to 应为 postgresql://... (must be a PostgreSQL URI): " << RedactStoreUri(a.to)
              << "\n";
    return 2;
  }
  MigrateOptions o;
  o.sqlite_path = a.from.substr(7);
  o.pg_uri = a.to;
  o.source_name = a.source_name;
  o.batch = a.batch;
  o.limit = a.limit;
  std::cerr << "从 (from) " << a.from << " 迁移到 (to) " << RedactStoreUri(a.to) << "\n";
  ProgressBar bar;
  auto r = MigrateSqliteToPostgres(o, [&](const MigrateProgress& p) { bar.Show(p); });
  bar.End();
  if (!r.ok()) {
    std::cerr << "迁移失败 (migration failed): " << r.status().ToString() << "\n";
    return 1;
  }
  if (r->resumed_messages > 0) {
    std::cerr << "续传 (resumed): 之前已迁移 (copied by earlier runs) " << r->resumed_messages
              << " 条消息 (messages)\n";
  }
  if (!r->complete) {
    std::cerr << "已按 --limit 暂停 (stopped by --limit) after " << r->copied_messages
              << " 条消息 (messages); 再次运行以继续 (run again to continue)\n";
    return 3;
  }
  std::cout << "表 (table)\t源 (source)\t目标 (target)\t结果 (result)\n";
  for (const auto& c : r->counts) {
    std::cout << c.table << "\t" << c.source << "\t" << c.target;
    if (c.conflicts > 0) std::cout << " (+" << c.conflicts << " 冲突 conflicts)";
    std::cout << "\t" << (c.ok() ? "一致 (ok)" : "不一致 (MISMATCH)") << "\n";
  }
  std::cout << "本次迁移 (this run): 消息 (messages) " << r->copied_messages
            << ", 拒收输入 (rejected) " << r->copied_rejected << "\n";
  if (!r->counts_ok()) {
    std::cerr << "计数不一致 (count mismatch): 见上表 (see the table above)\n";
    return 1;
  }
  std::cerr << "迁移完成，计数一致 (migration complete, counts equal)\n";
  return 0;
}

}  // namespace hie
