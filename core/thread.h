// Thread helpers. NameThisThread names the calling thread (Linux limit: 15
// bytes, longer names are cut), so `top -H`, `ps -L`, gdb and perf show which
// of the hub's threads is busy. LowerThisThreadPriority gives the calling
// thread a higher nice value, for work done after the ACK (EMPI, terminology
// checks, retention): under load the kernel then runs intake first and the
// background work in the gaps, instead of both at the same speed.
// Thread rules: each acts on the calling thread only; best effort (a failure
// changes nothing and is not reported).
#pragma once

#include <string_view>

namespace hie {

void NameThisThread(std::string_view name);

// nice: 1 (a little lower) .. 19 (lowest).
void LowerThisThreadPriority(int nice);

}  // namespace hie
