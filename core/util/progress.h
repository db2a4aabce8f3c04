// Progress reporting and cooperative cancellation for long core operations (loading,
// compressing, encoding images, evaluating). The GUI wraps these in worker threads; the CLI
// prints them. Core code calls Progress::report() between units of work and
// Progress::checkCancelled() between chunks.
#pragma once

#include "core/util/error.h"

#include <atomic>
#include <functional>
#include <string>

namespace birkhoff {

/// A flag another thread sets to ask a running operation to stop.
class CancelToken {
public:
    void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
    void reset() { cancelled_.store(false, std::memory_order_relaxed); }
    bool isCancelled() const { return cancelled_.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> cancelled_{false};
};

/// What a long operation receives: where to report progress and what to poll for cancellation.
/// Both members may be empty/null. The callback may be called from worker threads, so it must
/// be thread-safe (the GUI forwards it through a queued signal).
struct Progress {
    /// fraction in [0, 1]; `what` names the current item (a tensor name, an image file).
    std::function<void(double fraction, const std::string& what)> onProgress;
    const CancelToken* cancel = nullptr;

    void report(double fraction, const std::string& what) const
    {
        if (onProgress)
            onProgress(fraction, what);
    }
    bool isCancelled() const { return cancel != nullptr && cancel->isCancelled(); }
    /// This progress restricted to [base, base + span] of its range (same cancel token), for a
    /// step of a longer operation.
    Progress scaled(double base, double span) const
    {
        Progress p;
        p.cancel = cancel;
        if (onProgress)
            p.onProgress = [forward = onProgress, base, span](double f, const std::string& what) {
                forward(base + span * f, what);
            };
        return p;
    }
    /// Throws CancelledError when cancellation was requested.
    void checkCancelled() const
    {
        if (isCancelled())
            throw CancelledError();
    }
};

}  // namespace birkhoff
