// Names the calling thread (Linux limit: 15 bytes, longer names are cut), so
// `top -H`, `ps -L`, gdb and perf show which of the hub's threads is busy.
// Thread rules: names only the thread that calls it.
#pragma once

#include <string_view>

namespace hie {

void NameThisThread(std::string_view name);

}  // namespace hie
