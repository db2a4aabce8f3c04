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

/// Lowers the calling worker thread's scheduling priority (Linux: nice +5 for this thread; the
/// OpenMP threads it starts inherit it), so the GUI thread keeps the CPU it needs to stay
/// responsive while models encode and compress on all cores. Idempotent; a no-op elsewhere.
void deprioritiseCurrentThread();

/// How a job's worker thread is scheduled.
enum class JobPriority {
    Background,   ///< long work (loading, compressing, encoding): yields to the GUI (deprioritised)
    Interactive,  ///< short work the user waits for (decoding a click): normal priority
};

/// Runs `work()` on `pool` and calls `done(outcome)` on `context`'s thread when it finishes
/// (not at all if `context` is destroyed first; the job itself still completes). A pool should
/// run jobs of one priority only: a deprioritised thread stays so.
template <typename T, typename Work>
void runJob(QObject* context, QThreadPool* pool, Work work, std::function<void(JobOutcome<T>)> done,
            JobPriority priority = JobPriority::Background)
{
    auto* watcher = new QFutureWatcher<JobOutcome<T>>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, context, [watcher, done = std::move(done)] {
        done(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(pool, [work = std::move(work), priority]() -> JobOutcome<T> {
        JobOutcome<T> outcome;
        if (priority == JobPriority::Background)
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
