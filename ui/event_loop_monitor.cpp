// Event-loop heartbeat (see event_loop_monitor.h).
#include "ui/event_loop_monitor.h"

#include <algorithm>
#include <ctime>

namespace birkhoff::ui {

namespace {

/// CPU time consumed by the calling thread, in ns.
qint64 threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<qint64>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

EventLoopMonitor::EventLoopMonitor(QObject* parent, int intervalMs) : QObject(parent)
{
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    connect(&timer_, &QTimer::timeout, this, &EventLoopMonitor::beat);
}

void EventLoopMonitor::start()
{
    reset();
    timer_.start();
}

void EventLoopMonitor::stop()
{
    timer_.stop();
}

void EventLoopMonitor::reset()
{
    clock_.start();
    lastNs_ = 0;
    lastCpuNs_ = threadCpuNs();
    maxStallMs_ = 0;
    maxBusyMs_ = 0;
    beats_ = 0;
    stalls_.clear();
}

int EventLoopMonitor::stallsOver(double thresholdMs) const
{
    return static_cast<int>(std::count_if(stalls_.cbegin(), stalls_.cend(), [&](double s) { return s > thresholdMs; }));
}

void EventLoopMonitor::beat()
{
    const qint64 now = clock_.nsecsElapsed();
    const double gapMs = static_cast<double>(now - lastNs_) / 1e6;
    const double stall = std::max(0.0, gapMs - timer_.interval());
    lastNs_ = now;
    const qint64 cpu = threadCpuNs();
    maxBusyMs_ = std::max(maxBusyMs_, static_cast<double>(cpu - lastCpuNs_) / 1e6);
    lastCpuNs_ = cpu;
    ++beats_;
    maxStallMs_ = std::max(maxStallMs_, stall);
    if (stall > 20.0)
        stalls_.append(stall);
}

}  // namespace birkhoff::ui
