// `hie store migrate`: see engine/store_migrate.cc and store/migrate.h.
// Thread rules: main thread only.
#pragma once

#include <cstdint>
#include <string>

namespace hie {

struct StoreMigrateArgs {
  std::string from;  // sqlite:PATH
  std::string to;    // postgresql://...
  std::string source_name;
  int batch = 500;
  int64_t limit = 0;
};

// Returns the process exit code.
int StoreMigrate(const StoreMigrateArgs& args);

}  // namespace hie
