// Running a core call off the GUI thread: the call runs on a QThreadPool, its outcome (value,
// birkhoff::Error message, or cancellation) comes back to a QObject on the GUI thread. Every
// exception is caught in the worker, so a failing core call becomes a message, never a crash.
#pragma once

#include "core/util/error.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

#include <functional>
#include <optional>
#include <utility>

namespace birkhoff::ui {

/// What a background job produced: a value, or an error message, or cancelled.
template <typename T>
struct JobOutcome {
    std::optional<T> value;
    QString error;           ///< the birkhoff::Error (or other exception) message
    bool cancelled = false;

    bool ok() const { return value.has_value(); }
};

/// Lowers the calling worker thread's scheduling priority (Linux: nice +10 for this thread; the
/// OpenMP threads it starts inherit it), so the GUI thread keeps the CPU it needs to stay
/// responsive while models encode and compress on all cores. Idempotent; a no-op elsewhere.
void deprioritiseCurrentThread();

/// Runs `work()` on `pool` and calls `done(outcome)` on `context`'s thread when it finishes
/// (not at all if `context` is destroyed first; the job itself still completes).
template <typename T, typename Work>
void runJob(QObject* context, QThreadPool* pool, Work work, std::function<void(JobOutcome<T>)> done)
{
    auto* watcher = new QFutureWatcher<JobOutcome<T>>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, context, [watcher, done = std::move(done)] {
        done(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(pool, [work = std::move(work)]() -> JobOutcome<T> {
        JobOutcome<T> outcome;
        deprioritiseCurrentThread();
        try {
            outcome.value.emplace(work());
        } catch (const CancelledError&) {
            outcome.cancelled = true;
        } catch (const std::exception& e) {
            outcome.error = QString::fromStdString(e.what());
        } catch (...) {
            outcome.error = QStringLiteral("unknown error");
        }
        return outcome;
    }));
}

}  // namespace birkhoff::ui
