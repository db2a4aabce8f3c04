// Forwards a core operation's progress (birkhoff::Progress, called from worker threads) to the
// GUI thread as a signal, coalesced: while one update is queued, newer values replace it instead
// of queueing more events, so a fast operation can never flood the event loop.
#pragma once

#include "core/util/progress.h"

#include <QMutex>
#include <QObject>
#include <QString>

#include <atomic>

namespace birkhoff::ui {

class ProgressRelay : public QObject {
    Q_OBJECT
public:
    explicit ProgressRelay(QObject* parent = nullptr);

    /// A Progress that reports through this relay and polls `cancel` (may be null). The relay
    /// must outlive the operation using it.
    Progress progress(const CancelToken* cancel);

signals:
    /// On the relay's thread; fraction in [0, 1].
    void progressed(double fraction, const QString& what);

private:
    void deliver();

    QMutex mutex_;
    double fraction_ = 0;
    QString what_;
    std::atomic<bool> queued_{false};
};

}  // namespace birkhoff::ui
