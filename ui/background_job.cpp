// Worker-thread priority for background jobs (see background_job.h).
#include "ui/background_job.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace birkhoff::ui {

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
    if (current < 10)
        ::setpriority(PRIO_PROCESS, tid, 10);
#endif
}

}  // namespace birkhoff::ui
