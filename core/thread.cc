#include "core/thread.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace hie {

void NameThisThread(std::string_view name) {
  std::string cut(name.substr(0, 15));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

void LowerThisThreadPriority(int nice) {
  // On Linux the nice value is per thread: PRIO_PROCESS with the thread id.
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  (void)setpriority(PRIO_PROCESS, tid, std::clamp(nice, 1, 19));
}

}  // namespace hie
