// Measures how responsive the GUI thread is: a heartbeat timer fires every few milliseconds and
// records the largest gap between beats (an event-loop stall: the GUI could not react for that
// long), and the largest CPU time the GUI thread itself spent between two beats (a "busy" stall:
// work done on the GUI thread). On a loaded machine the first also includes time the OS gave
// other processes; the second is what the application's own code is responsible for. Tests
// assert on them during compression and encoding; `birkhoff-studio --screenshot` prints them.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace birkhoff::ui {

class EventLoopMonitor : public QObject {
    Q_OBJECT
public:
    explicit EventLoopMonitor(QObject* parent = nullptr, int intervalMs = 5);

    void start();
    void stop();
    /// Forgets the measurements so far (keeps running if running).
    void reset();

    /// Largest gap between two beats beyond the interval, in ms (wall clock).
    double maxStallMs() const { return maxStallMs_; }
    /// Largest GUI-thread CPU time between two beats, in ms.
    double maxBusyMs() const { return maxBusyMs_; }
    /// Number of beats with a stall above `thresholdMs` so far.
    int stallsOver(double thresholdMs) const;
    int beats() const { return beats_; }

private:
    void beat();

    QTimer timer_;
    QElapsedTimer clock_;
    qint64 lastNs_ = 0;
    qint64 lastCpuNs_ = 0;
    double maxStallMs_ = 0;
    double maxBusyMs_ = 0;
    int beats_ = 0;
    QVector<double> stalls_;  ///< every stall above 20 ms
};

}  // namespace birkhoff::ui
