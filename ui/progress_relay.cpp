// Coalescing progress forwarding (see progress_relay.h).
#include "ui/progress_relay.h"

#include <QMetaObject>
#include <QMutexLocker>

namespace birkhoff::ui {

ProgressRelay::ProgressRelay(QObject* parent) : QObject(parent) {}

Progress ProgressRelay::progress(const CancelToken* cancel)
{
    Progress p;
    p.cancel = cancel;
    p.onProgress = [this](double fraction, const std::string& what) {
        {
            QMutexLocker lock(&mutex_);
            fraction_ = fraction;
            what_ = QString::fromStdString(what);
        }
        if (!queued_.exchange(true))
            QMetaObject::invokeMethod(this, &ProgressRelay::deliver, Qt::QueuedConnection);
    };
    return p;
}

void ProgressRelay::deliver()
{
    queued_.store(false);
    double fraction = 0;
    QString what;
    {
        QMutexLocker lock(&mutex_);
        fraction = fraction_;
        what = what_;
    }
    emit progressed(fraction, what);
}

}  // namespace birkhoff::ui
