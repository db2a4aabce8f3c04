// Worker-thread priority for background jobs (see background_job.h).
#include "ui/background_job.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace birkhoff::ui {

#if defined(__linux__)
namespace {
// nice +5: the GUI thread (nice 0) weighs three times as much as each worker with the kernel's
// scheduler, while the workers still get a fair share next to other programs (at +10 a busy
// machine starves them: ~1 % of a core each against eight nice-0 compilers).
constexpr int kBackgroundNice = 5;
}  // namespace
#endif

void deprioritiseCurrentThread()
{
#if defined(__linux__)
    thread_local bool done = false;
    if (done)
        return;
    done = true;
    // On Linux the nice value is per thread (PRIO_PROCESS with a thread id).
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    const int current = ::getpriority(PRIO_PROCESS, tid);
    if (current < kBackgroundNice)
        ::setpriority(PRIO_PROCESS, tid, kBackgroundNice);
#endif
}

}  // namespace birkhoff::ui
