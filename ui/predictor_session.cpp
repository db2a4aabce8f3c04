// Background encoding and coalesced decoding for one pane (see predictor_session.h).
//
// LibTorch's headers come first: its JIT headers use the identifier `slots`, which Qt defines as
// a keyword macro once a Qt header is seen.
#include "core/predict/predictor.h"

#include <opencv2/imgproc.hpp>

#include "ui/predictor_session.h"

#include "ui/background_job.h"
#include "ui/embedding_cache.h"

#include <chrono>

namespace birkhoff::ui {

namespace {

predict::Prompt toCorePrompt(const PromptSet& prompts)
{
    predict::Prompt p;
    for (const PromptPoint& point : prompts.points)
        p.points.push_back(predict::PointPrompt{point.position.x(), point.position.y(), point.label});
    if (prompts.box)
        p.box = predict::BoxPrompt{prompts.box->left(), prompts.box->top(), prompts.box->right(), prompts.box->bottom()};
    return p;
}

/// The contours of a 0/255 mask as a path in image coordinates (pixel centres at +0.5).
QPainterPath outlineOf(const cv::Mat& mask)
{
    std::vector<std::vector<cv::Point>> contours;
    cv::Mat work = mask.clone();
    cv::findContours(work, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
    QPainterPath path;
    for (const auto& contour : contours) {
        if (contour.empty())
            continue;
        path.moveTo(contour[0].x + 0.5, contour[0].y + 0.5);
        for (std::size_t i = 1; i < contour.size(); ++i)
            path.lineTo(contour[i].x + 0.5, contour[i].y + 0.5);
        path.closeSubpath();
    }
    return path;
}

MaskCandidate candidateOf(const predict::Prediction& prediction, std::size_t k)
{
    const cv::Mat mask = prediction.maskImage(k);
    MaskCandidate c;
    c.mask = QImage(mask.data, mask.cols, mask.rows, static_cast<qsizetype>(mask.step), QImage::Format_Grayscale8).copy();
    c.outline = outlineOf(mask);
    c.predictedIou = prediction.iouPredictions[static_cast<std::int64_t>(k)].item<double>();
    c.token = prediction.tokens[k];
    c.area = cv::countNonZero(mask);
    return c;
}

/// The one encode queue of the process (see the header): a single worker, jobs in order. Never
/// destroyed, so no session can outlive it at exit; its idle worker thread expires by itself.
QThreadPool& sharedEncodeQueue()
{
    static QThreadPool* queue = [] {
        auto* pool = new QThreadPool;
        pool->setMaxThreadCount(1);
        return pool;
    }();
    return *queue;
}

}  // namespace

PredictorSession::PredictorSession(EmbeddingCache* cache, QObject* parent)
    : QObject(parent), cache_(cache)
{
    decodePool_.setMaxThreadCount(1);
}

PredictorSession::~PredictorSession()
{
    sharedEncodeQueue().waitForDone();
    decodePool_.waitForDone();
}

void PredictorSession::setState(PaneState state, const QString& detail)
{
    state_ = state;
    emit stateChanged(state, detail);
}

void PredictorSession::setModel(std::shared_ptr<const models::SamModel> model, const QString& modelId)
{
    ++epoch_;
    model_ = std::move(model);
    modelId_ = modelId;
    predictor_ = model_ ? std::make_shared<const predict::SamPredictor>(model_) : nullptr;
    embedding_.reset();
    pendingCommitted_.reset();
    pendingPreview_.reset();
    decodeRunning_ = false;
    if (!model_) {
        setState(PaneState::NoModel);
        return;
    }
    if (image_.isNull()) {
        setState(PaneState::NoImage);
        return;
    }
    startEncode();
}

void PredictorSession::setImage(const LoadedImage& image)
{
    ++epoch_;
    image_ = image;
    embedding_.reset();
    pendingCommitted_.reset();
    pendingPreview_.reset();
    decodeRunning_ = false;
    if (!model_) {
        setState(PaneState::NoModel);
        return;
    }
    startEncode();
}

void PredictorSession::startEncode()
{
    const quint64 epoch = epoch_;
    if (auto cached = cache_->find(image_.hash, modelId_)) {
        embedding_ = std::move(cached);
        encoderMs_ = embedding_->encoderMs;
        fromCache_ = true;
        setState(PaneState::Ready, tr("ready (embedding from cache)"));
        emit encoded(encoderMs_, true);
        startNextDecode();
        return;
    }
    setState(PaneState::Encoding);
    const std::shared_ptr<const predict::SamPredictor> predictor = predictor_;
    const QImage rgb = image_.rgb;
    const QByteArray hash = image_.hash;
    const QString modelId = modelId_;
    EmbeddingCache* cache = cache_;
    runJob<std::shared_ptr<const predict::ImageEmbedding>>(
        this, &sharedEncodeQueue(),
        [predictor, rgb, hash, modelId, cache] {
            const cv::Mat view(rgb.height(), rgb.width(), CV_8UC3, const_cast<uchar*>(rgb.constBits()),
                               static_cast<std::size_t>(rgb.bytesPerLine()));
            auto embedding = predictor->encode(view);
            cache->insert(hash, modelId, embedding);
            return embedding;
        },
        [this, epoch](JobOutcome<std::shared_ptr<const predict::ImageEmbedding>> outcome) {
            if (epoch != epoch_)
                return;
            if (!outcome.ok()) {
                setState(PaneState::Failed, outcome.error);
                emit failed(outcome.error);
                return;
            }
            embedding_ = *outcome.value;
            encoderMs_ = embedding_->encoderMs;
            fromCache_ = false;
            setState(PaneState::Ready, tr("ready (encoded in %1 s)").arg(encoderMs_ / 1000.0, 0, 'f', 2));
            emit encoded(encoderMs_, false);
            startNextDecode();
        });
}

quint64 PredictorSession::requestDecode(const PromptSet& prompts, bool multimask, bool preview)
{
    DecodeRequest request{++nextRequestId_, prompts, multimask, preview};
    if (preview) {
        pendingPreview_ = request;
    } else {
        pendingCommitted_ = request;
        pendingPreview_.reset();
    }
    startNextDecode();
    return request.id;
}

void PredictorSession::startNextDecode()
{
    if (decodeRunning_ || !embedding_ || state_ == PaneState::Encoding)
        return;
    std::optional<DecodeRequest> next;
    if (pendingCommitted_) {
        next = std::move(pendingCommitted_);
        pendingCommitted_.reset();
    } else if (pendingPreview_) {
        next = std::move(pendingPreview_);
        pendingPreview_.reset();
    }
    if (next)
        runDecode(*next);
}

void PredictorSession::runDecode(const DecodeRequest& request)
{
    if (request.prompts.isEmpty()) {
        MaskPrediction empty;
        empty.requestId = request.id;
        empty.preview = request.preview;
        if (!request.preview)
            lastDecoderMs_ = 0;
        emit predictionReady(empty);
        startNextDecode();
        return;
    }
    decodeRunning_ = true;
    const quint64 epoch = epoch_;
    const std::shared_ptr<const predict::SamPredictor> predictor = predictor_;
    const std::shared_ptr<const predict::ImageEmbedding> embedding = embedding_;
    runJob<MaskPrediction>(
        this, &decodePool_,
        [predictor, embedding, request] {
            predict::PredictOptions options;
            options.output = request.multimask && request.prompts.elementCount() == 1 ? predict::MaskOutput::Multimask
                                                                                        : predict::MaskOutput::Token0;
            const predict::Prediction p = predictor->predict(*embedding, toCorePrompt(request.prompts), options);
            MaskPrediction out;
            out.requestId = request.id;
            out.prompts = request.prompts;
            out.preview = request.preview;
            out.decoderMs = p.decoderMs;
            out.postprocessMs = p.postprocessMs;
            out.bestIndex = static_cast<int>(p.bestIndex());
            for (std::size_t k = 0; k < p.count(); ++k)
                out.candidates.append(candidateOf(p, k));
            return out;
        },
        [this, epoch](JobOutcome<MaskPrediction> outcome) {
            if (epoch != epoch_)
                return;
            decodeRunning_ = false;
            if (!outcome.ok()) {
                if (!outcome.cancelled) {
                    setState(PaneState::Failed, outcome.error);
                    emit failed(outcome.error);
                }
            } else {
                if (!outcome.value->preview)
                    lastDecoderMs_ = outcome.value->decoderMs + outcome.value->postprocessMs;
                if (state_ == PaneState::Failed)
                    setState(PaneState::Ready);
                emit predictionReady(*outcome.value);
            }
            startNextDecode();
        },
        JobPriority::Interactive);
}

}  // namespace birkhoff::ui
