// Debounced, cancellable two-pass live estimate (see estimate_session.h).
#include "ui/estimate_session.h"

#include "ui/background_job.h"
#include "ui/codec_bridge.h"

#include "core/codec/estimate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace birkhoff::ui {

namespace {

// Sample fractions are snapped to powers of two so consecutive estimates reuse the same samples
// (no jitter from one slider step to the next, and the sample cache hits).
double snapFraction(double fraction)
{
    if (fraction >= 1.0)
        return 1.0;
    const double exponent = std::floor(std::log2(std::max(fraction, 1.0 / 4096.0)));
    return std::pow(2.0, exponent);
}

codec::EstimateOptions optionsFor(double fraction)
{
    codec::EstimateOptions o;
    o.sampleFraction = fraction;
    return o;
}

struct PassResult {
    codec::CompressionReport report;
    double seconds = 0;
    std::int64_t elements = 0;
};

}  // namespace

EstimateSession::EstimateSession(QObject* parent) : QObject(parent)
{
    pool_.setMaxThreadCount(1);
    debounce_.setSingleShot(true);
    debounce_.setInterval(kDebounceMs);
    connect(&debounce_, &QTimer::timeout, this, &EstimateSession::flush);
}

EstimateSession::~EstimateSession()
{
    if (running_)
        running_->cancel();
    pool_.waitForDone();
}

void EstimateSession::setEstimator(std::shared_ptr<const codec::CompressionEstimator> estimator)
{
    estimator_ = std::move(estimator);
    ++generation_;
    if (running_)
        running_->cancel();
    hasPending_ = false;
    debounce_.stop();
    if (busy_) {
        busy_ = false;
        emit busyChanged(false);
    }
    if (estimator_) {
        // Size the first pass so it answers in about kFirstPassSeconds at the measured rate.
        const std::int64_t all = estimator_->sampledElements(optionsFor(1.0));
        const double target = kFirstPassSeconds * elementsPerSecond_;
        firstPassFraction_ = all <= target ? 1.0 : snapFraction(target / static_cast<double>(all));
    }
}

void EstimateSession::request(const CompressionSettings& settings)
{
    pending_ = settings;
    hasPending_ = true;
    if (!busy_) {
        busy_ = true;
        emit busyChanged(true);
    }
    debounce_.start();
}

void EstimateSession::flush()
{
    debounce_.stop();
    if (!hasPending_)
        return;
    hasPending_ = false;
    if (running_)
        running_->cancel();
    start(pending_, 1);
}

bool EstimateSession::isBusy() const
{
    return busy_;
}

double EstimateSession::fractionForPass(int pass) const
{
    if (pass == 1)
        return firstPassFraction_;
    return std::min(1.0, firstPassFraction_ * 16.0);
}

void EstimateSession::start(const CompressionSettings& settings, int pass)
{
    if (!estimator_) {
        busy_ = false;
        emit busyChanged(false);
        return;
    }
    const quint64 generation = ++generation_;
    auto token = std::make_shared<CancelToken>();
    running_ = token;
    // The rate-distortion codec is estimated by running it exactly: one pass is the answer.
    const double fraction = settings.rdTargetRatio ? 1.0 : fractionForPass(pass);
    const std::shared_ptr<const codec::CompressionEstimator> estimator = estimator_;
    const codec::CompressOptions options = toCompressOptions(settings, 0);
    runJob<PassResult>(
        this, &pool_,
        [estimator, options, fraction, token] {
            Progress progress;
            progress.cancel = token.get();
            const auto begin = std::chrono::steady_clock::now();
            PassResult r;
            r.report = estimator->estimate(options, optionsFor(fraction), progress);
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
            r.elements = estimator->sampledElements(optionsFor(fraction));
            return r;
        },
        [this, generation, settings, pass, fraction](JobOutcome<PassResult> outcome) {
            if (generation != generation_)
                return;  // a newer request or model superseded this pass
            running_.reset();
            if (!outcome.ok()) {
                busy_ = false;
                emit busyChanged(false);
                if (!outcome.cancelled)
                    emit failed(outcome.error);
                return;
            }
            const PassResult& r = *outcome.value;
            if (r.seconds > 0.01)
                elementsPerSecond_ = 0.5 * elementsPerSecond_ + 0.5 * static_cast<double>(r.elements) / r.seconds;
            if (pass == 1)
                lastFirstPassSeconds_ = r.seconds;
            const bool exact = fraction >= 1.0;
            LayerReport report = toLayerReport(r.report, settings, true, fraction);
            emit estimateReady(report, settings, exact || pass == 2);
            if (!exact && pass == 1) {
                start(settings, 2);
                return;
            }
            busy_ = false;
            emit busyChanged(false);
        });
}

}  // namespace birkhoff::ui
