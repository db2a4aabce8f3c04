// One pane's model at work: encodes the current image off the GUI thread (through the shared
// EmbeddingCache, keyed by image hash and model id), then decodes prompts into mask candidates.
// Encodings of all panes share one process-wide queue and run one at a time, each with every
// intra-op thread, so two panes never fight for the same cores: the first pane is ready after
// one encoding, the second after two. Decode requests are coalesced: while one runs, only the newest committed request and the newest
// hover preview wait (committed first), so fast mouse movement never queues stale work. Results
// of a previous model or image are dropped.
#pragma once

#include "ui/image_pane.h"
#include "ui/loaded_image.h"
#include "ui/mask_prediction.h"

#include <QObject>
#include <QThreadPool>

#include <memory>
#include <optional>

namespace birkhoff::models {
class SamModel;
}
namespace birkhoff::predict {
class SamPredictor;
struct ImageEmbedding;
}

namespace birkhoff::ui {

class EmbeddingCache;

class PredictorSession : public QObject {
    Q_OBJECT
public:
    /// `cache` must outlive the session.
    explicit PredictorSession(EmbeddingCache* cache, QObject* parent = nullptr);
    /// Waits for the running job.
    ~PredictorSession() override;

    /// Switches to `model` (null: none). `modelId` keys the embedding cache. Re-encodes the
    /// current image if there is one.
    void setModel(std::shared_ptr<const models::SamModel> model, const QString& modelId);
    /// Encodes `image` (or takes its embedding from the cache); prompts decode afterwards.
    void setImage(const LoadedImage& image);
    /// Decodes `prompts` on the current image: 3 candidates when `multimask` and there is exactly
    /// one prompt element, else the single-mask output. Empty prompts give an empty prediction.
    /// Returns the request id echoed in predictionReady().
    quint64 requestDecode(const PromptSet& prompts, bool multimask, bool preview);

    PaneState state() const { return state_; }
    bool hasModel() const { return model_ != nullptr; }
    const QString& modelId() const { return modelId_; }
    /// Encoder time of the current embedding in ms (as measured when it was computed).
    double encoderMs() const { return encoderMs_; }
    bool embeddingFromCache() const { return fromCache_; }
    /// Decoder time of the last committed prediction in ms.
    double lastDecoderMs() const { return lastDecoderMs_; }

signals:
    void stateChanged(birkhoff::ui::PaneState state, const QString& detail);
    void encoded(double encoderMs, bool fromCache);
    void predictionReady(const birkhoff::ui::MaskPrediction& prediction);
    /// An encode or decode failed (the message comes from birkhoff::Error).
    void failed(const QString& message);

private:
    struct DecodeRequest {
        quint64 id = 0;
        PromptSet prompts;
        bool multimask = true;
        bool preview = false;
    };

    void setState(PaneState state, const QString& detail = {});
    void startEncode();
    void startNextDecode();
    void runDecode(const DecodeRequest& request);

    EmbeddingCache* cache_;
    QThreadPool decodePool_;   ///< interactive priority
    std::shared_ptr<const models::SamModel> model_;
    std::shared_ptr<const predict::SamPredictor> predictor_;
    QString modelId_;
    LoadedImage image_;
    std::shared_ptr<const predict::ImageEmbedding> embedding_;
    PaneState state_ = PaneState::NoModel;
    quint64 epoch_ = 0;          ///< bumps with every model/image change
    quint64 nextRequestId_ = 0;
    bool decodeRunning_ = false;
    std::optional<DecodeRequest> pendingCommitted_;
    std::optional<DecodeRequest> pendingPreview_;
    double encoderMs_ = 0;
    bool fromCache_ = false;
    double lastDecoderMs_ = 0;
};

}  // namespace birkhoff::ui
